import { expect } from 'chai';
import { desiredColourService, desiredService } from '../../../operator/reconcile/service.js';
import { login } from '../api/fixtures.js';

const pods = {
  'app.kubernetes.io/name': 'keyward-auth',
  'app.kubernetes.io/instance': 'login',
  'app.kubernetes.io/component': 'auth-service',
};

describe('Services', function () {
  describe('desiredService (the stable name clients use)', function () {
    it('is called <name> and sends traffic to the active colour only', function () {
      const service = desiredService(login(), 'blue');
      expect(service).to.deep.include({ apiVersion: 'v1', kind: 'Service' });
      expect(service.metadata?.name).to.equal('login');
      expect(service.spec?.selector).to.deep.equal({ ...pods, 'auth.keyward.dev/color': 'blue' });
    });

    it('flips traffic by changing nothing but the selector’s colour', function () {
      const blue = desiredService(login(), 'blue');
      const green = desiredService(login(), 'green');
      expect(green.spec?.selector?.['auth.keyward.dev/color']).to.equal('green');
      expect({ ...green, spec: { ...green.spec, selector: {} } }).to.deep.equal({ ...blue, spec: { ...blue.spec, selector: {} } });
    });

    it('listens on port 80 named http and forwards to the container’s http port', function () {
      expect(desiredService(login(), 'blue').spec?.ports).to.deep.equal([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
      expect(desiredService(login(), 'blue').spec?.type).to.equal('ClusterIP');
    });
  });

  describe('desiredColourService', function () {
    it('gives each colour its own Service <name>-<colour> for the checks before a flip', function () {
      for (const colour of ['blue', 'green'] as const) {
        const service = desiredColourService(login(), colour);
        expect(service.metadata?.name).to.equal(`login-${colour}`);
        expect(service.metadata?.labels?.['auth.keyward.dev/color']).to.equal(colour);
        expect(service.spec?.selector).to.deep.equal({ ...pods, 'auth.keyward.dev/color': colour });
        expect(service.spec?.ports).to.deep.equal([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
      }
    });
  });
});
