import { expect } from 'chai';
import { podSecretNames, podSecretReferences, secretsHash } from '../../../operator/reconcile/secrets.js';
import { everyField, login } from '../api/fixtures.js';

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
    ]);
    expect(podSecretNames(everyField().spec)).to.deep.equal(['auth-db', 'auth-jwt', 'auth-redis', 'auth-smtp']);
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

    it('changes when a key that was missing appears', function () {
      const withVerification = secrets({
        'auth-jwt': { 'signing-key.pem': b64('-----BEGIN PRIVATE KEY-----…'), 'verification-keys.pem': b64('-----BEGIN PUBLIC KEY-----…') },
      });
      expect(secretsHash(spec, withVerification)).not.to.equal(secretsHash(spec, secrets()));
      expect(secretsHash(spec, [])).not.to.equal(secretsHash(spec, secrets()));
    });
  });
});
