import { createPublicKey } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { generateDevelopmentKeys, KeyRingConfigError, loadKeyRing, type KeyRingConfig } from '../../../service/tokens/keys.js';
import { ecKeyPair, newSecret, rsaPrivatePem, thrownBy } from './fixtures.js';

function configError(config: KeyRingConfig): KeyRingConfigError {
  const err = thrownBy(() => loadKeyRing(config));
  expect(err).to.be.instanceOf(KeyRingConfigError);
  return err as KeyRingConfigError;
}

describe('service/tokens/keys', () => {
  describe('loadKeyRing with ES256', () => {
    it('signs with the configured key and verifies with it and every extra key', () => {
      const signing = ecKeyPair();
      const next = ecKeyPair();
      const ring = loadKeyRing({ algorithm: 'ES256', signingKeyPem: signing.privatePem, verificationKeyPems: [next.publicPem] });
      expect(ring.algorithm).to.equal('ES256');
      expect(ring.signingKey.key.type).to.equal('private');
      expect([...ring.verificationKeys.keys()]).to.have.members([ring.signingKey.kid, loadKeyRing({ algorithm: 'ES256', signingKeyPem: next.privatePem }).signingKey.kid]);
      for (const { key } of ring.verificationKeys.values()) expect(key.type).to.equal('public');
    });

    it('gives a key the same kid every time it is loaded', () => {
      const { privatePem } = ecKeyPair();
      const a = loadKeyRing({ algorithm: 'ES256', signingKeyPem: privatePem });
      const b = loadKeyRing({ algorithm: 'ES256', signingKeyPem: privatePem });
      expect(a.signingKey.kid).to.equal(b.signingKey.kid);
    });

    it('uses the RFC 7638 JWK thumbprint as kid', () => {
      // The P-256 key of RFC 7517 appendix A.1; its thumbprint is
      // base64url(SHA-256('{"crv":"P-256","kty":"EC","x":"MKBC…","y":"4Etl…"}')).
      const publicPem = createPublicKey({
        key: { kty: 'EC', crv: 'P-256', x: 'MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4', y: '4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM' },
        format: 'jwk',
      }).export({ format: 'pem', type: 'spki' }).toString();
      const ring = loadKeyRing({ algorithm: 'ES256', signingKeyPem: ecKeyPair().privatePem, verificationKeyPems: [publicPem] });
      expect(ring.verificationKeys.has('cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s')).to.equal(true);
    });

    it('accepts PEMs whose newlines arrived as literal \\n from an environment variable', () => {
      const { privatePem } = ecKeyPair();
      const ring = loadKeyRing({ algorithm: 'ES256', signingKeyPem: privatePem.replace(/\n/g, '\\n') });
      expect(ring.signingKey.kid).to.equal(loadKeyRing({ algorithm: 'ES256', signingKeyPem: privatePem }).signingKey.kid);
    });

    it('ignores blank verification entries', () => {
      const ring = loadKeyRing({ algorithm: 'ES256', signingKeyPem: ecKeyPair().privatePem, verificationKeyPems: [''] });
      expect(ring.verificationKeys.size).to.equal(1);
    });

    it('requires a signing key', () => {
      const err = configError({ algorithm: 'ES256' });
      expect(err.field).to.equal('signingKeyPem');
      expect(err.message).to.match(/required/);
    });

    it('refuses a signing key that is not a PEM private key', () => {
      expect(configError({ algorithm: 'ES256', signingKeyPem: 'not a key' }).field).to.equal('signingKeyPem');
      expect(configError({ algorithm: 'ES256', signingKeyPem: ecKeyPair().publicPem }).field).to.equal('signingKeyPem');
    });

    it('refuses RSA keys and other curves, naming what it found', () => {
      const rsa = configError({ algorithm: 'ES256', signingKeyPem: rsaPrivatePem() });
      expect(rsa.message).to.match(/P-256.*rsa/);
      const p384 = configError({ algorithm: 'ES256', signingKeyPem: ecKeyPair().privatePem, verificationKeyPems: [ecKeyPair('P-384').publicPem] });
      expect(p384.field).to.equal('verificationKeyPems[0]');
      expect(p384.message).to.match(/secp384r1/);
    });

    it('refuses an HS256 secret alongside ES256 keys', () => {
      expect(configError({ algorithm: 'ES256', signingKeyPem: ecKeyPair().privatePem, secret: newSecret() }).field).to.equal('secret');
    });
  });

  describe('loadKeyRing with HS256', () => {
    it('signs and verifies with the secret, and verifies with every extra secret', () => {
      const ring = loadKeyRing({ algorithm: 'HS256', secret: newSecret(), verificationSecrets: [newSecret(), newSecret()] });
      expect(ring.algorithm).to.equal('HS256');
      expect(ring.signingKey.key.type).to.equal('secret');
      expect(ring.verificationKeys.size).to.equal(3);
      expect(ring.verificationKeys.get(ring.signingKey.kid)).to.equal(ring.signingKey);
    });

    it('derives a stable kid that does not reveal the secret', () => {
      const secret = newSecret();
      const { kid } = loadKeyRing({ algorithm: 'HS256', secret }).signingKey;
      expect(kid).to.equal(loadKeyRing({ algorithm: 'HS256', secret }).signingKey.kid);
      expect(kid).to.match(/^hs256-[A-Za-z0-9_-]{16}$/);
      expect(secret).to.not.include(kid.slice('hs256-'.length));
    });

    it('requires a secret of at least 32 bytes, without echoing it', () => {
      expect(configError({ algorithm: 'HS256' }).field).to.equal('secret');
      const err = configError({ algorithm: 'HS256', secret: 'hunter2-but-longer', verificationSecrets: [] });
      expect(err.message).to.match(/at least 32 bytes for HS256, got 18$/);
      expect(err.message).to.not.include('hunter2');
      expect(configError({ algorithm: 'HS256', secret: newSecret(), verificationSecrets: ['short'] }).field).to.equal('verificationSecrets[0]');
    });

    it('refuses PEM keys alongside an HS256 secret', () => {
      expect(configError({ algorithm: 'HS256', secret: newSecret(), signingKeyPem: ecKeyPair().privatePem }).field).to.equal('signingKeyPem');
    });
  });

  it('refuses an unknown algorithm', () => {
    // The config loader might hand over anything it read from the environment.
    const err = configError({ algorithm: 'RS256' as unknown as 'ES256' });
    expect(err.field).to.equal('algorithm');
    expect(err.message).to.include('ES256, HS256');
  });

  describe('generateDevelopmentKeys', () => {
    let dir: string;
    beforeEach(async () => {
      dir = join(await mkdtemp(join(tmpdir(), 'keyward-keys-')), 'data');
    });
    afterEach(async () => {
      await rm(join(dir, '..'), { recursive: true, force: true });
    });

    it('creates an ES256 key pair once, readable by its owner only, and reuses it', async () => {
      const first = await generateDevelopmentKeys(dir);
      expect(first.created).to.equal(true);
      expect((await stat(first.path)).mode & 0o777).to.equal(0o600);
      const second = await generateDevelopmentKeys(dir);
      expect(second.created).to.equal(false);
      expect(second.signingKeyPem).to.equal(first.signingKeyPem);
      expect(second.publicKeyPem).to.equal(first.publicKeyPem);
      const ring = loadKeyRing({ algorithm: 'ES256', signingKeyPem: second.signingKeyPem });
      expect(ring.signingKey.key.asymmetricKeyDetails?.namedCurve).to.equal('prime256v1');
    });

    it('agrees on one key when several processes start at once', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, () => generateDevelopmentKeys(dir)));
      expect(new Set(results.map((r) => r.signingKeyPem)).size).to.equal(1);
      expect(results.filter((r) => r.created)).to.have.length(1);
      expect(await readdir(dir)).to.deep.equal(['jwt-signing-key.pem']);
    });
  });
});
