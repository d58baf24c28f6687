import { expect } from 'chai';
import { hashRecoveryCode, newRecoveryCodes, normalizeRecoveryCode } from '../../../service/mfa/recovery-codes.js';
import { base32Decode, base32Encode, hotp, matchTotp, newTotpSecret, otpauthUri, totp, totpStep } from '../../../service/mfa/totp.js';

// The RFCs' shared test secret: ASCII "12345678901234567890".
const rfcSecret = Buffer.from('12345678901234567890', 'ascii');

describe('TOTP (RFC 6238) and HOTP (RFC 4226)', () => {
  it('computes the HOTP values of RFC 4226 Appendix D', () => {
    const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
    expect(expected.map((_, counter) => hotp(rfcSecret, counter))).to.deep.equal(expected);
  });

  it('computes the SHA-1 TOTP values of RFC 6238 Appendix B (8 digits)', () => {
    const vectors: [number, string][] = [
      [59, '94287082'], [1111111109, '07081804'], [1111111111, '14050471'],
      [1234567890, '89005924'], [2000000000, '69279037'], [20000000000, '65353130'],
    ];
    for (const [seconds, code] of vectors) expect(hotp(rfcSecret, totpStep(seconds * 1000), 8), String(seconds)).to.equal(code);
  });

  it('encodes base32 as RFC 4648 section 10 does, without padding, and decodes it back', () => {
    const vectors: [string, string][] = [['f', 'MY'], ['fo', 'MZXQ'], ['foo', 'MZXW6'], ['foob', 'MZXW6YQ'], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI']];
    for (const [plain, encoded] of vectors) {
      expect(base32Encode(Buffer.from(plain))).to.equal(encoded);
      expect(base32Decode(encoded).toString()).to.equal(plain);
    }
  });

  it('makes 160-bit secrets (32 base32 characters), a new one each time', () => {
    const a = newTotpSecret();
    expect(a).to.match(/^[A-Z2-7]{32}$/);
    expect(base32Decode(a)).to.have.length(20);
    expect(newTotpSecret()).to.not.equal(a);
  });

  it('matches a code one step either side of now, and answers which step it was', () => {
    const secret = newTotpSecret();
    const now = Date.UTC(2030, 0, 1, 12, 0, 10);
    const step = totpStep(now);
    expect(matchTotp(secret, totp(secret, now), now)).to.equal(step);
    expect(matchTotp(secret, totp(secret, now - 30_000), now)).to.equal(step - 1);
    expect(matchTotp(secret, totp(secret, now + 30_000), now)).to.equal(step + 1);
    expect(matchTotp(secret, totp(secret, now - 60_000), now)).to.equal(undefined);
    expect(matchTotp(secret, totp(secret, now + 60_000), now)).to.equal(undefined);
  });

  it('refuses anything but six digits', () => {
    const secret = newTotpSecret();
    const now = Date.now();
    const code = totp(secret, now);
    for (const bad of ['', `${code}0`, code.slice(1), ` ${code}`, 'abcdef', '12345６']) expect(matchTotp(secret, bad, now), bad).to.equal(undefined);
  });

  it('writes the otpauth:// URI authenticator apps scan', () => {
    const uri = new URL(otpauthUri({ secret: 'JBSWY3DPEHPK3PXP', issuer: 'keyward', account: 'ada@example.com' }));
    expect(uri.protocol).to.equal('otpauth:');
    expect(uri.host).to.equal('totp');
    expect(decodeURIComponent(uri.pathname)).to.equal('/keyward:ada@example.com');
    expect(Object.fromEntries(uri.searchParams)).to.deep.equal({ secret: 'JBSWY3DPEHPK3PXP', issuer: 'keyward', algorithm: 'SHA1', digits: '6', period: '30' });
  });
});

describe('recovery codes', () => {
  it('are ten distinct codes of 80 random bits in groups of four', () => {
    const codes = newRecoveryCodes();
    expect(codes).to.have.length(10);
    expect(new Set(codes).size).to.equal(10);
    for (const code of codes) expect(code).to.match(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
  });

  it('are read regardless of case, spaces and dashes, and hashed the same way', () => {
    const [code] = newRecoveryCodes(1) as [string];
    const typed = ` ${code.toUpperCase().replace(/-/g, ' ')} `;
    expect(normalizeRecoveryCode(typed)).to.equal(code.replace(/-/g, ''));
    expect(hashRecoveryCode(normalizeRecoveryCode(typed)!)).to.equal(hashRecoveryCode(normalizeRecoveryCode(code)!));
    expect(normalizeRecoveryCode('123456')).to.equal(undefined);
  });
});
