import { expect } from 'chai';
import { desiredNetworkPolicy } from '../../../operator/reconcile/networkpolicy.js';
import { everyField, login } from '../api/fixtures.js';

describe('desiredNetworkPolicy', function () {
  const policy = desiredNetworkPolicy(login());

  it('covers the service’s pods of both colours, in both directions', function () {
    expect(policy).to.deep.include({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' });
    expect(policy?.metadata?.name).to.equal('login');
    expect(policy?.spec.podSelector?.matchLabels).to.deep.equal({
      'app.kubernetes.io/name': 'keyward-auth',
      'app.kubernetes.io/instance': 'login',
      'app.kubernetes.io/component': 'auth-service',
    });
    expect(policy?.spec.policyTypes).to.deep.equal(['Ingress', 'Egress']);
  });

  it('admits only the ingress controller, monitoring and the operator, on port 8090', function () {
    expect(policy?.spec.ingress).to.deep.equal([
      {
        from: [
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keyward-system' } } },
        ],
        ports: [{ protocol: 'TCP', port: 8090 }],
      },
    ]);
  });

  it('lets the pods reach PostgreSQL, Redis, HTTPS and DNS over UDP and TCP, and nothing else', function () {
    expect(policy?.spec.egress).to.deep.equal([
      {
        ports: [
          { protocol: 'TCP', port: 5432 },
          { protocol: 'TCP', port: 6379 },
          { protocol: 'TCP', port: 443 },
          { protocol: 'TCP', port: 53 },
          { protocol: 'UDP', port: 53 },
        ],
      },
    ]);
  });

  it('writes the rule’s peers as `from`, the field name the API server reads', function () {
    expect(JSON.parse(JSON.stringify(policy)).spec.ingress[0]).to.have.property('from');
    expect(JSON.stringify(policy)).not.to.include('_from');
  });

  it('uses the spec’s namespaces, port and extra egress ports', function () {
    const spec = desiredNetworkPolicy(everyField())?.spec;
    expect(spec?.ingress[0]?.from?.map((p) => p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'])).to.deep.equal([
      'traefik',
      'observability',
      'keyward',
    ]);
    expect(spec?.ingress[0]?.ports).to.deep.equal([{ protocol: 'TCP', port: 9000 }]);
    expect(spec?.egress?.[0]?.ports?.at(-1)).to.deep.equal({ protocol: 'TCP', port: 587 });
  });

  it('is absent when spec.networkPolicy.enabled is false', function () {
    const auth = login();
    auth.spec.networkPolicy.enabled = false;
    expect(desiredNetworkPolicy(auth)).to.equal(undefined);
  });
});
