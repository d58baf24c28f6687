import { createHmac, generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { createAccessTokens, type AccessTokens } from '../../../service/tokens/access.js';
import { loadKeyRing, type KeyRing } from '../../../service/tokens/keys.js';
import { appErrorOf, ecKeyPair, newSecret } from './fixtures.js';

const issuer = 'https://auth.example.test';
const audience = 'keyward-clients';
const T0 = Date.parse('2026-01-01T00:00:00Z');
const subject = { sub: 'user-1', sid: 'session-1' };

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Claims as our own tokens carry them, issued at T0. */
function claimsAt(ms: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(ms / 1000);
  return { iss: issuer, aud: audience, ...subject, iat, exp: iat + 900, jti: 'j-1', ...extra };
}

function tokensFor(keyRing: KeyRing, at: () => number = () => T0, overrides: { issuer?: string; audience?: string } = {}): AccessTokens {
  return createAccessTokens({ keyRing, issuer, audience, ttlSeconds: 900, now: at, ...overrides });
}

describe('service/tokens/access', () => {
  const es = ecKeyPair();
  const esRing = loadKeyRing({ algorithm: 'ES256', signingKeyPem: es.privatePem });
  const hsSecret = newSecret();
  const hsRing = loadKeyRing({ algorithm: 'HS256', secret: hsSecret });

  for (const [name, ring] of [['ES256', esRing], ['HS256', hsRing]] as const) {
    describe(`a round trip with ${name}`, () => {
      it('verifies what it signed and returns the claims', () => {
        const tokens = tokensFor(ring);
        const { token, expiresIn } = tokens.sign(subject);
        expect(expiresIn).to.equal(900);
        const claims = tokens.verify(token);
        expect(claims).to.include({ ...subject, iss: issuer, aud: audience, iat: T0 / 1000, exp: T0 / 1000 + 900 });
        expect(claims.jti).to.be.a('string').and.not.equal('');
      });

      it('puts alg and kid in the header', () => {
        const { token } = tokensFor(ring).sign(subject);
        const decoded = jwt.decode(token, { complete: true });
        expect(decoded?.header).to.include({ alg: name, kid: ring.signingKey.kid, typ: 'JWT' });
      });

      it('gives every token its own jti', () => {
        const tokens = tokensFor(ring);
        expect(tokens.verify(tokens.sign(subject).token).jti).to.not.equal(tokens.verify(tokens.sign(subject).token).jti);
      });
    });
  }

  describe('expiry and clock skew', () => {
    const { token } = tokensFor(esRing).sign(subject); // expires at T0 + 900 s

    it('still accepts a token up to 30 s past its expiry (clock tolerance)', () => {
      expect(tokensFor(esRing, () => T0 + 929_000).verify(token).sub).to.equal('user-1');
    });

    it('answers token_expired once the tolerance is spent', () => {
      expect(appErrorOf(() => tokensFor(esRing, () => T0 + 931_000).verify(token))).to.deep.equal({ code: 'token_expired', status: 401 });
    });

    it('accepts a token whose nbf is at most 30 s ahead, and refuses one further ahead', () => {
      const withNbf = (seconds: number): string =>
        jwt.sign(claimsAt(T0, { nbf: T0 / 1000 + seconds }), esRing.signingKey.key, { algorithm: 'ES256', keyid: esRing.signingKey.kid });
      const tokens = tokensFor(esRing);
      expect(tokens.verify(withNbf(25)).sub).to.equal('user-1');
      expect(appErrorOf(() => tokens.verify(withNbf(60)))).to.deep.equal({ code: 'invalid_token', status: 401 });
    });
  });

  describe('the cache of verified tokens', () => {
    it('still refuses a remembered token once it expires', () => {
      let clock = T0;
      const tokens = tokensFor(esRing, () => clock);
      const { token } = tokens.sign(subject);
      expect(tokens.verify(token).sub).to.equal('user-1'); // verified and remembered
      clock = T0 + 931_000;
      expect(appErrorOf(() => tokens.verify(token))).to.deep.equal({ code: 'token_expired', status: 401 });
    });

    it('trusts only the exact token that verified: a tampered copy is checked and refused', () => {
      const tokens = tokensFor(esRing);
      const { token } = tokens.sign(subject);
      tokens.verify(token);
      const [header, , signature] = token.split('.') as [string, string, string];
      const forged = `${header}.${b64url(claimsAt(T0, { sub: 'someone-else' }))}.${signature}`;
      expect(appErrorOf(() => tokens.verify(forged))).to.deep.equal({ code: 'invalid_token', status: 401 });
    });

    it('answers remembered() with the claims of a token verified before, and undefined for any other', () => {
      let clock = T0;
      const tokens = tokensFor(esRing, () => clock);
      const { token } = tokens.sign(subject);
      expect(tokens.remembered(token), 'signed here, never verified').to.equal(undefined);
      tokens.verify(token);
      expect(tokens.remembered(token)).to.include(subject);
      expect(tokens.remembered(`${token.slice(0, -2)}AA`), 'another token').to.equal(undefined);
      clock = T0 + 931_000;
      expect(tokens.remembered(token), 'expired past the tolerance').to.equal(undefined);
    });

    it('remembers nothing when its cache is turned off', () => {
      const tokens = createAccessTokens({ keyRing: esRing, issuer, audience, ttlSeconds: 900, now: () => T0, verifiedCacheSize: 0 });
      const { token } = tokens.sign(subject);
      tokens.verify(token);
      expect(tokens.remembered(token)).to.equal(undefined);
    });
  });

  describe('attacks, each answered 401 invalid_token', () => {
    const tokens = tokensFor(esRing);
    const invalid = { code: 'invalid_token', status: 401 };

    it('refuses alg "none"', () => {
      const token = `${b64url({ alg: 'none', typ: 'JWT', kid: esRing.signingKey.kid })}.${b64url(claimsAt(T0))}.`;
      expect(appErrorOf(() => tokens.verify(token))).to.deep.equal(invalid);
    });

    it('refuses an HS256 token whose HMAC key is the ES256 public key (algorithm confusion)', () => {
      const signingInput = `${b64url({ alg: 'HS256', typ: 'JWT', kid: esRing.signingKey.kid })}.${b64url(claimsAt(T0))}`;
      for (const secret of [es.publicPem, es.publicPem.trim()]) {
        const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
        expect(appErrorOf(() => tokens.verify(`${signingInput}.${signature}`))).to.deep.equal(invalid);
      }
    });

    it('refuses an RS256 token carrying a known kid', () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const token = jwt.sign(claimsAt(T0), privateKey, { algorithm: 'RS256', keyid: esRing.signingKey.kid });
      expect(appErrorOf(() => tokens.verify(token))).to.deep.equal(invalid);
    });

    it('refuses an HS512 token signed with the HS256 ring\'s own secret (pinned algorithm)', () => {
      const token = jwt.sign(claimsAt(T0), hsSecret, { algorithm: 'HS512', keyid: hsRing.signingKey.kid });
      expect(appErrorOf(() => tokensFor(hsRing).verify(token))).to.deep.equal(invalid);
    });

    it('refuses a token whose payload was tampered with', () => {
      const [header, , signature] = tokens.sign(subject).token.split('.');
      const forged = `${header}.${b64url(claimsAt(T0, { sub: 'admin' }))}.${signature}`;
      expect(appErrorOf(() => tokens.verify(forged))).to.deep.equal(invalid);
    });

    it('refuses a token for another audience', () => {
      const { token } = tokensFor(esRing, () => T0, { audience: 'another-app' }).sign(subject);
      expect(appErrorOf(() => tokens.verify(token))).to.deep.equal(invalid);
    });

    it('refuses a token from another issuer', () => {
      const { token } = tokensFor(esRing, () => T0, { issuer: 'https://evil.example.test' }).sign(subject);
      expect(appErrorOf(() => tokens.verify(token))).to.deep.equal(invalid);
    });

    it('refuses a token signed with a key it does not know (unknown kid)', () => {
      const stranger = loadKeyRing({ algorithm: 'ES256', signingKeyPem: ecKeyPair().privatePem });
      expect(appErrorOf(() => tokens.verify(tokensFor(stranger).sign(subject).token))).to.deep.equal(invalid);
    });

    it('refuses a token signed with another key that claims a known kid', () => {
      const stranger = ecKeyPair();
      const token = jwt.sign(claimsAt(T0), stranger.privatePem, { algorithm: 'ES256', keyid: esRing.signingKey.kid });
      expect(appErrorOf(() => tokens.verify(token))).to.deep.equal(invalid);
    });

    it('refuses a token without a kid, or without a required claim', () => {
      const key = esRing.signingKey.key;
      expect(appErrorOf(() => tokens.verify(jwt.sign(claimsAt(T0), key, { algorithm: 'ES256' })))).to.deep.equal(invalid);
      const noSid = claimsAt(T0);
      delete noSid.sid;
      expect(appErrorOf(() => tokens.verify(jwt.sign(noSid, key, { algorithm: 'ES256', keyid: esRing.signingKey.kid })))).to.deep.equal(invalid);
      const noExp = claimsAt(T0);
      delete noExp.exp;
      expect(appErrorOf(() => tokens.verify(jwt.sign(noExp, key, { algorithm: 'ES256', keyid: esRing.signingKey.kid })))).to.deep.equal(invalid);
    });

    it('refuses garbage', () => {
      for (const token of ['', 'abc', 'a.b.c', '..', `${'x'.repeat(5000)}.y.z`]) {
        expect(appErrorOf(() => tokens.verify(token))).to.deep.equal(invalid);
      }
    });
  });

  describe('key rotation', () => {
    const oldKey = ecKeyPair();
    const newKey = ecKeyPair();
    // The three steps of ./README.md, as the pods would be configured.
    const accepting = loadKeyRing({ algorithm: 'ES256', signingKeyPem: oldKey.privatePem, verificationKeyPems: [newKey.publicPem] });
    const switched = loadKeyRing({ algorithm: 'ES256', signingKeyPem: newKey.privatePem, verificationKeyPems: [oldKey.publicPem] });
    const retired = loadKeyRing({ algorithm: 'ES256', signingKeyPem: newKey.privatePem });

    it('keeps tokens signed by the old key valid after the new key starts signing', () => {
      const oldToken = tokensFor(accepting).sign(subject).token;
      expect(tokensFor(switched).verify(oldToken).sub).to.equal('user-1');
    });

    it('signs new tokens with the new kid', () => {
      const header = jwt.decode(tokensFor(switched).sign(subject).token, { complete: true })?.header;
      expect(header?.kid).to.equal(switched.signingKey.kid);
      expect(header?.kid).to.not.equal(accepting.signingKey.kid);
    });

    it('lets pods still on the previous step verify tokens from pods already switched', () => {
      const newToken = tokensFor(switched).sign(subject).token;
      expect(tokensFor(accepting).verify(newToken).sub).to.equal('user-1');
    });

    it('refuses old tokens once the old key is retired', () => {
      const oldToken = tokensFor(accepting).sign(subject).token;
      expect(appErrorOf(() => tokensFor(retired).verify(oldToken))).to.deep.equal({ code: 'invalid_token', status: 401 });
    });

    it('works the same way for HS256 secrets', () => {
      const [oldSecret, newSecretValue] = [newSecret(), newSecret()];
      const before = loadKeyRing({ algorithm: 'HS256', secret: oldSecret, verificationSecrets: [newSecretValue] });
      const after = loadKeyRing({ algorithm: 'HS256', secret: newSecretValue, verificationSecrets: [oldSecret] });
      const oldToken = tokensFor(before).sign(subject).token;
      const newToken = tokensFor(after).sign(subject).token;
      expect(tokensFor(after).verify(oldToken).sub).to.equal('user-1');
      expect(tokensFor(before).verify(newToken).sub).to.equal('user-1');
      expect(jwt.decode(newToken, { complete: true })?.header.kid).to.equal(after.signingKey.kid).and.not.equal(before.signingKey.kid);
    });
  });

  it('refuses a ttl that is not a positive whole number of seconds', () => {
    expect(() => createAccessTokens({ keyRing: esRing, issuer, audience, ttlSeconds: 0 })).to.throw(RangeError);
    expect(() => createAccessTokens({ keyRing: esRing, issuer, audience, ttlSeconds: 1.5 })).to.throw(RangeError);
  });
});
