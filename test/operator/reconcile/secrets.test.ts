import { expect } from 'chai';
import { podSecretNames, podSecretReferences, secretsHash } from '../../../operator/reconcile/secrets.js';
import { withDefaults } from '../../../operator/api/defaults.js';
import { everyField, login, loginInput } from '../api/fixtures.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function secrets(overrides: Record<string, Record<string, string>> = {}) {
  const data: Record<string, Record<string, string>> = {
    'auth-db': { url: b64('postgres://auth@db/auth'), unrelated: b64('x') },
    'auth-jwt': { 'signing-key.pem': b64('-----BEGIN PRIVATE KEY-----…') },
    ...overrides,
  };
  return Object.entries(data).map(([name, d]) => ({ metadata: { name }, data: d }));
}

describe('Secrets the pods read', function () {
  it('lists the keys each environment variable comes from, for ES256', function () {
    expect(podSecretReferences(login().spec)).to.deep.equal([
      { env: 'DATABASE_URL', secret: 'auth-db', key: 'url', optional: false },
      { env: 'JWT_SIGNING_KEY', secret: 'auth-jwt', key: 'signing-key.pem', optional: false },
      { env: 'JWT_VERIFICATION_KEYS', secret: 'auth-jwt', key: 'verification-keys.pem', optional: true },
    ]);
  });

  it('lists Redis, SMTP and the HS256 secret when the spec uses them', function () {
    expect(podSecretReferences(everyField().spec).map((r) => r.env)).to.deep.equal([
      'DATABASE_URL',
      'REDIS_URL',
      'JWT_SECRET',
      'JWT_PREVIOUS_SECRETS',
      'SMTP_URL',
      'TOTP_ENCRYPTION_KEY',
      'TOTP_PREVIOUS_ENCRYPTION_KEYS',
    ]);
    expect(podSecretNames(everyField().spec)).to.deep.equal(['auth-db', 'auth-jwt', 'auth-redis', 'auth-smtp', 'auth-totp']);
  });

  it('reads the TOTP encryption key, and the previous keys only if the Secret has them', function () {
    const spec = withDefaults({ ...loginInput().spec, mfa: { encryptionKeySecretRef: { name: 'auth-totp' } } });
    expect(podSecretReferences(spec).slice(-2)).to.deep.equal([
      { env: 'TOTP_ENCRYPTION_KEY', secret: 'auth-totp', key: 'totp-encryption-key', optional: false },
      { env: 'TOTP_PREVIOUS_ENCRYPTION_KEYS', secret: 'auth-totp', key: 'totp-previous-encryption-keys', optional: true },
    ]);
    expect(podSecretNames(spec)).to.include('auth-totp');
    expect(podSecretReferences(withDefaults({ ...loginInput().spec, mfa: {} })).map((r) => r.env)).not.to.include('TOTP_ENCRYPTION_KEY');
  });

  describe('secretsHash', function () {
    const spec = login().spec;

    it('is stable for the same data, whatever the order of the Secrets', function () {
      expect(secretsHash(spec, secrets())).to.equal(secretsHash(spec, secrets().reverse()));
      expect(secretsHash(spec, secrets())).to.match(/^[0-9a-f]{16}$/);
    });

    it('changes when a value the pods read is rotated', function () {
      const rotated = secrets({ 'auth-jwt': { 'signing-key.pem': b64('-----BEGIN PRIVATE KEY-----new') } });
      expect(secretsHash(spec, rotated)).not.to.equal(secretsHash(spec, secrets()));
    });

    it('does not change when another key of the same Secret changes', function () {
      const other = secrets({ 'auth-db': { url: b64('postgres://auth@db/auth'), unrelated: b64('y') } });
      expect(secretsHash(spec, other)).to.equal(secretsHash(spec, secrets()));
    });

    it('changes when the TOTP encryption key is rotated, and when a previous key is added', function () {
      const mfa = withDefaults({ ...loginInput().spec, mfa: { encryptionKeySecretRef: { name: 'auth-totp' } } });
      const withKey = (data: Record<string, string>) => secretsHash(mfa, secrets({ 'auth-totp': data }));
      const first = withKey({ 'totp-encryption-key': b64('k1') });
      const rotated = withKey({ 'totp-encryption-key': b64('k2'), 'totp-previous-encryption-keys': b64('k1') });
      expect(rotated).not.to.equal(first);
      expect(withKey({ 'totp-encryption-key': b64('k1'), 'totp-previous-encryption-keys': b64('k0') })).not.to.equal(first);
      expect(withKey({ 'totp-encryption-key': b64('k1'), unrelated: b64('x') })).to.equal(first);
    });

    it('changes when a key that was missing appears', function () {
      const withVerification = secrets({
        'auth-jwt': { 'signing-key.pem': b64('-----BEGIN PRIVATE KEY-----…'), 'verification-keys.pem': b64('-----BEGIN PUBLIC KEY-----…') },
      });
      expect(secretsHash(spec, withVerification)).not.to.equal(secretsHash(spec, secrets()));
      expect(secretsHash(spec, [])).not.to.equal(secretsHash(spec, secrets()));
    });
  });
});
