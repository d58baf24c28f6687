import { expect } from 'chai';
import helmet from 'helmet';
import { headersOf, securityHeaders } from '../../../service/http/security-headers.js';

describe('security headers (service/http/security-headers)', () => {
  it('are what helmet sets by default, read once (CSP, HSTS, nosniff, frame and referrer policies), and no-store', () => {
    const headers = new Map(securityHeaders);
    expect(headers.get('Cache-Control')).to.equal('no-store');
    expect(headers.get('Strict-Transport-Security')).to.equal('max-age=31536000; includeSubDomains');
    expect(headers.get('X-Content-Type-Options')).to.equal('nosniff');
    expect(headers.get('X-Frame-Options')).to.equal('SAMEORIGIN');
    expect(headers.get('Referrer-Policy')).to.equal('no-referrer');
    expect(headers.get('Content-Security-Policy')).to.match(/^default-src 'self';/);
    expect(headers.has('X-Powered-By')).to.equal(false);
  });

  it('follow helmet\'s options, since they are read from helmet itself', () => {
    const headers = new Map(headersOf(helmet({ frameguard: { action: 'deny' }, hsts: false })));
    expect(headers.get('X-Frame-Options')).to.equal('DENY');
    expect(headers.has('Strict-Transport-Security')).to.equal(false);
  });
});
