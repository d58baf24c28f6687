import { expect } from 'chai';
import helmet from 'helmet';
import { headersOf, securityHeaders } from '../../../service/http/security-headers.js';

describe('security headers (service/http/security-headers)', () => {
  it('are helmet\'s, with the policy OWASP gives for APIs (nothing loads, nobody frames), and no-store', () => {
    const headers = new Map(securityHeaders);
    expect(headers.get('Cache-Control')).to.equal('no-store');
    expect(headers.get('Strict-Transport-Security')).to.equal('max-age=31536000; includeSubDomains');
    expect(headers.get('X-Content-Type-Options')).to.equal('nosniff');
    expect(headers.get('X-Frame-Options')).to.equal('DENY');
    expect(headers.get('Referrer-Policy')).to.equal('no-referrer');
    expect(headers.get('Content-Security-Policy')).to.equal("default-src 'none';frame-ancestors 'none'");
    expect(headers.has('X-Powered-By')).to.equal(false);
  });

  it('keep every other header helmet sets by default, as helmet sets it', () => {
    const defaults = headersOf(helmet()).filter(([name]) => name !== 'Content-Security-Policy' && name !== 'X-Frame-Options');
    expect(defaults.length).to.be.at.least(9);
    for (const [name, value] of defaults) expect(new Map(securityHeaders).get(name), name).to.equal(value);
  });

  it('follow helmet\'s options, since they are read from helmet itself', () => {
    const headers = new Map(headersOf(helmet({ frameguard: { action: 'deny' }, hsts: false })));
    expect(headers.get('X-Frame-Options')).to.equal('DENY');
    expect(headers.has('Strict-Transport-Security')).to.equal(false);
  });
});
