import { createPrivateKey, createPublicKey } from 'node:crypto';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { createAccessTokens } from '../../../service/tokens/access.js';
import { buildJwks } from '../../../service/tokens/jwks.js';
import { loadKeyRing } from '../../../service/tokens/keys.js';
import { ecKeyPair, newSecret } from './fixtures.js';

describe('service/tokens/jwks', () => {
  const signing = ecKeyPair();
  const previous = ecKeyPair();
  const ring = loadKeyRing({ algorithm: 'ES256', signingKeyPem: signing.privatePem, verificationKeyPems: [previous.privatePem] });

  it('lists every ES256 verification key as a public JWK', () => {
    const { keys } = buildJwks(ring);
    expect(keys.map((k) => k.kid)).to.have.members([...ring.verificationKeys.keys()]);
    for (const key of keys) {
      expect(key).to.have.all.keys('kty', 'crv', 'x', 'y', 'kid', 'alg', 'use');
      expect(key).to.include({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(key.x).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(key.y).to.match(/^[A-Za-z0-9_-]{43}$/);
    }
  });

  it('never contains a private part, even when a verification key was given as a private PEM', () => {
    const document = JSON.stringify(buildJwks(ring));
    expect(document).to.not.include('"d"');
    for (const { privatePem } of [signing, previous]) {
      const { d } = createPrivateKey(privatePem).export({ format: 'jwk' });
      expect(d).to.be.a('string');
      expect(document).to.not.include(d);
    }
  });

  it('lets a client verify an access token offline with the published key', () => {
    const { token } = createAccessTokens({ keyRing: ring, issuer: 'iss', audience: 'aud', ttlSeconds: 60 }).sign({ sub: 'u', sid: 's' });
    const kid = jwt.decode(token, { complete: true })?.header.kid;
    const jwk = buildJwks(ring).keys.find((k) => k.kid === kid);
    expect(jwk).to.not.equal(undefined);
    const key = createPublicKey({ key: { ...jwk }, format: 'jwk' });
    expect(jwt.verify(token, key, { algorithms: ['ES256'], audience: 'aud', issuer: 'iss' })).to.include({ sub: 'u', sid: 's' });
  });

  it('publishes no key for HS256: the key is a shared secret', () => {
    const secret = newSecret();
    const jwks = buildJwks(loadKeyRing({ algorithm: 'HS256', secret }));
    expect(jwks).to.deep.equal({ keys: [] });
    expect(JSON.stringify(jwks)).to.not.include(secret);
  });
});
