import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../../service/config/env.js';

/** Runs loadConfig and returns the ConfigError it throws (fails the test when it does not). */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, '/srv/app');
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  expect.fail(`loadConfig accepted ${JSON.stringify(env)}`);
}

const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

/** A block that has a PEM's shape: loadConfig counts blocks before any key is parsed. */
const pem = (body: string): string => `-----BEGIN PRIVATE KEY-----\n${Buffer.from(body).toString('base64')}\n-----END PRIVATE KEY-----`;

describe('loadConfig', () => {
  describe('defaults', () => {
    const config = loadConfig({}, '/srv/app');

    it("uses the guide's DatabaseConfig numbers: 20 max, 5 min, 30 s connect, 300 s idle, 1800 s lifetime; 10 s per statement", () => {
      expect(config.database).to.deep.equal({
        url: undefined,
        maxConnections: 20,
        minConnections: 5,
        connectionTimeoutSeconds: 30,
        idleTimeoutSeconds: 300,
        maxLifetimeSeconds: 1800,
        queryTimeoutSeconds: 10,
      });
    });

    it("uses the guide's CacheConfig numbers: 1000 entries for 300 s in memory, 3600 s in Redis, 5 s timeout; keys under keyward:", () => {
      expect(config.cache).to.deep.equal({
        memoryCacheSize: 1000,
        memoryCacheTtlSeconds: 300,
        redisUrl: undefined,
        redisDefaultTtlSeconds: 3600,
        redisTimeoutSeconds: 5,
        redisKeyPrefix: 'keyward:',
      });
    });

    it('serves on port 8090, logs at info, drains for 25 s and keeps data in ./.keyward/data', () => {
      expect(config).to.include({ production: false, host: '0.0.0.0', port: 8090, logLevel: 'info', shutdownTimeoutSeconds: 25 });
      expect(config.dataDir).to.equal('/srv/app/.keyward/data');
    });

    it('signs ES256 access tokens for 15 minutes, refresh tokens for 30 days, with a 10 s reuse grace', () => {
      expect(config.jwt).to.include({
        algorithm: 'ES256',
        issuer: 'keyward',
        audience: 'keyward',
        accessTokenTtlSeconds: 900,
        refreshTokenTtlSeconds: 30 * 24 * 3600,
        refreshReuseGraceSeconds: 10,
      });
    });

    it('hashes with bcrypt cost 12 and locks after 5 failures for 1 minute, doubling up to 15', () => {
      expect(config.security).to.include({ bcryptCost: 12, lockoutThreshold: 5, lockoutBaseSeconds: 60, lockoutMaxSeconds: 900, trustProxy: false });
    });

    it('mails through the log until SMTP_URL is set, links to localhost:8090, with 24 h verification and 30 min reset links', () => {
      expect(config.email).to.deep.equal({ smtpUrl: undefined, from: 'no-reply@localhost', appUrl: 'http://localhost:8090', maxAttempts: 6 });
      expect(config.account).to.deep.equal({
        requireEmailVerification: false,
        emailVerificationTtlSeconds: 86400,
        passwordResetTtlSeconds: 1800,
        mfaTokenTtlSeconds: 300,
      });
      expect(config.security).to.include({ rateLimitRecoveryPerMinute: 10, rateLimitEmailPerAddressPerHour: 5 });
    });

    it('has no TOTP encryption key (the server makes a development one; production answers 503 for MFA)', () => {
      expect(config.mfa).to.deep.equal({ encryptionKey: undefined, previousEncryptionKeys: [] });
    });

    it('treats empty variables as unset', () => {
      expect(loadConfig({ PORT: '', REDIS_URL: '  ', BCRYPT_COST: '' }, '/srv/app')).to.deep.equal(config);
    });
  });

  it('reads every group from its variables', () => {
    const config = loadConfig({
      PORT: '9000',
      DATABASE_URL: 'postgres://db.internal:5432/auth',
      DATABASE_MAX_CONNECTIONS: '50',
      DATABASE_MIN_CONNECTIONS: '10',
      REDIS_URL: 'redis://cache:6379',
      MEMORY_CACHE_SIZE: '5000',
      KEYWARD_DATA_DIR: 'state',
      JWT_ALGORITHM: 'HS256',
      JWT_SECRET: 'x'.repeat(32),
      BCRYPT_COST: '10',
      TRUST_PROXY: '1',
    }, '/srv/app');
    expect(config.port).to.equal(9000);
    expect(config.database).to.include({ url: 'postgres://db.internal:5432/auth', maxConnections: 50, minConnections: 10 });
    expect(config.cache).to.include({ redisUrl: 'redis://cache:6379', memoryCacheSize: 5000 });
    expect(config.dataDir).to.equal('/srv/app/state');
    expect(config.jwt).to.include({ algorithm: 'HS256', secret: 'x'.repeat(32) });
    // A hop count, as Express needs it: the string "1" would be read as the address 0.0.0.1.
    expect(config.security).to.include({ bcryptCost: 10, trustProxy: 1 });
  });

  it('accepts TRUST_PROXY as named ranges, addresses and CIDRs, and refuses "true" and typos naming the variable', () => {
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8, fd00::/8' }).security.trustProxy).to.equal('loopback, 10.0.0.0/8, fd00::/8');
    expect(loadConfig({ TRUST_PROXY: 'false' }).security.trustProxy).to.equal(false);
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).to.throw(ConfigError, /^TRUST_PROXY: true would trust every hop/);
    expect(() => loadConfig({ TRUST_PROXY: 'uniqelocal' })).to.throw(ConfigError, /^TRUST_PROXY: "uniqelocal" is not/);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33' })).to.throw(ConfigError, /TRUST_PROXY/);
  });

  it('reads the email and account lifecycle settings', () => {
    const config = loadConfig({
      SMTP_URL: 'smtps://mailer:pw@mail.example.com:465',
      EMAIL_FROM: 'Keyward <no-reply@example.com>',
      APP_URL: 'https://app.example.com/',
      EMAIL_MAX_ATTEMPTS: '3',
      REQUIRE_EMAIL_VERIFICATION: 'true',
      PASSWORD_RESET_TTL_SECONDS: '900',
      RATE_LIMIT_EMAIL_PER_ADDRESS_PER_HOUR: '0',
    }, '/srv/app');
    expect(config.email).to.deep.equal({ smtpUrl: 'smtps://mailer:pw@mail.example.com:465', from: 'Keyward <no-reply@example.com>', appUrl: 'https://app.example.com', maxAttempts: 3 });
    expect(config.account).to.include({ requireEmailVerification: true, passwordResetTtlSeconds: 900 });
    expect(config.security.rateLimitEmailPerAddressPerHour).to.equal(0);
  });

  it('reads TOTP_ENCRYPTION_KEY and the comma-separated TOTP_PREVIOUS_ENCRYPTION_KEYS as 32-byte keys', () => {
    const [current, older, oldest] = [randomBytes(32), randomBytes(32), randomBytes(32)];
    const config = loadConfig({
      TOTP_ENCRYPTION_KEY: `${current.toString('base64')}\n`,
      // URL-safe base64 without padding is the same key.
      TOTP_PREVIOUS_ENCRYPTION_KEYS: ` ${older.toString('base64')}, ${oldest.toString('base64url')} ,`,
    }, '/srv/app');
    expect(config.mfa).to.deep.equal({ encryptionKey: current, previousEncryptionKeys: [older, oldest] });
  });

  describe('invalid values stop start-up with a ConfigError naming the variable', () => {
    const cases: [string, Record<string, string>][] = [
      ['PORT', { PORT: 'abc' }],
      ['PORT', { PORT: '70000' }],
      ['PORT', { PORT: '80.5' }],
      ['NODE_ENV', { NODE_ENV: 'staging' }],
      ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
      ['DATABASE_URL', { DATABASE_URL: 'mysql://db/auth' }],
      ['DATABASE_URL', { DATABASE_URL: 'not a url' }],
      ['DATABASE_MAX_CONNECTIONS', { DATABASE_MAX_CONNECTIONS: '0' }],
      ['DATABASE_MIN_CONNECTIONS', { DATABASE_MIN_CONNECTIONS: '30' }],
      ['DATABASE_CONNECTION_TIMEOUT_SECONDS', { DATABASE_CONNECTION_TIMEOUT_SECONDS: '30s' }],
      ['DATABASE_QUERY_TIMEOUT_SECONDS', { DATABASE_QUERY_TIMEOUT_SECONDS: '0' }],
      ['REDIS_URL', { REDIS_URL: 'http://cache:6379' }],
      ['REDIS_TIMEOUT_SECONDS', { REDIS_TIMEOUT_SECONDS: '-1' }],
      ['REDIS_KEY_PREFIX', { REDIS_KEY_PREFIX: 'no-colon' }],
      ['REDIS_KEY_PREFIX', { REDIS_KEY_PREFIX: 'glob*:' }],
      ['REDIS_KEY_PREFIX', { REDIS_KEY_PREFIX: 'with space:' }],
      ['MEMORY_CACHE_SIZE', { MEMORY_CACHE_SIZE: 'lots' }],
      ['JWT_ALGORITHM', { JWT_ALGORITHM: 'none' }],
      ['JWT_ALGORITHM', { JWT_ALGORITHM: 'RS256' }],
      ['JWT_SIGNING_KEY', { JWT_SIGNING_KEY: 'not a pem' }],
      ['JWT_SECRET', { JWT_ALGORITHM: 'HS256' }],
      ['JWT_SECRET', { JWT_ALGORITHM: 'HS256', JWT_SECRET: 'too-short' }],
      ['ACCESS_TOKEN_TTL_SECONDS', { ACCESS_TOKEN_TTL_SECONDS: '5' }],
      ['BCRYPT_COST', { BCRYPT_COST: '3' }],
      ['BCRYPT_COST', { BCRYPT_COST: '32' }],
      ['LOCKOUT_THRESHOLD', { LOCKOUT_THRESHOLD: 'five' }],
      ['LOCKOUT_BASE_SECONDS', { LOCKOUT_BASE_SECONDS: '1800', LOCKOUT_MAX_SECONDS: '900' }],
      ['JWT_SIGNING_KEY', { JWT_SIGNING_KEY: `${pem('one')}\n${pem('two')}` }],
      ['HOST', { HOST: 'localhost:8090' }],
      ['HOST', { HOST: 'http://0.0.0.0' }],
      ['RATE_LIMIT_LOGIN_PER_MINUTE', { RATE_LIMIT_LOGIN_PER_MINUTE: '-5' }],
      ['SHUTDOWN_TIMEOUT_SECONDS', { SHUTDOWN_TIMEOUT_SECONDS: '0' }],
      ['SMTP_URL', { SMTP_URL: 'https://mail.example.com' }],
      ['EMAIL_FROM', { EMAIL_FROM: 'not an address' }],
      ['APP_URL', { APP_URL: 'ftp://app.example.com' }],
      ['REQUIRE_EMAIL_VERIFICATION', { REQUIRE_EMAIL_VERIFICATION: 'yes please' }],
      ['EMAIL_MAX_ATTEMPTS', { EMAIL_MAX_ATTEMPTS: '0' }],
      ['PASSWORD_RESET_TTL_SECONDS', { PASSWORD_RESET_TTL_SECONDS: '5' }],
      ['MFA_TOKEN_TTL_SECONDS', { MFA_TOKEN_TTL_SECONDS: 'soon' }],
      ['TOTP_ENCRYPTION_KEY', { TOTP_ENCRYPTION_KEY: 'not base64: a passphrase!' }],
      ['TOTP_ENCRYPTION_KEY', { TOTP_ENCRYPTION_KEY: randomBytes(16).toString('base64') }],
      ['TOTP_ENCRYPTION_KEY', { TOTP_ENCRYPTION_KEY: randomBytes(32).toString('hex') }],
      ['TOTP_PREVIOUS_ENCRYPTION_KEYS', { TOTP_ENCRYPTION_KEY: randomBytes(32).toString('base64'), TOTP_PREVIOUS_ENCRYPTION_KEYS: `${randomBytes(32).toString('base64')},short` }],
      ['TOTP_PREVIOUS_ENCRYPTION_KEYS', { TOTP_PREVIOUS_ENCRYPTION_KEYS: randomBytes(32).toString('base64') }],
    ];
    for (const [variable, env] of cases) {
      it(`${variable} for ${Object.entries(env).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`, () => {
        const err = configError(env);
        expect(err.variable).to.equal(variable);
        expect(err.message).to.match(new RegExp(`^${variable}: `));
      });
    }
  });

  it('says what is wrong with a TOTP key without echoing it', () => {
    const short = randomBytes(16).toString('base64');
    const err = configError({ TOTP_ENCRYPTION_KEY: short });
    expect(err.message).to.equal('TOTP_ENCRYPTION_KEY: must be 32 random bytes in base64 (openssl rand -base64 32), got 16 bytes');
    expect(String(err.stack)).to.not.contain(short);
    const bad = configError({ TOTP_ENCRYPTION_KEY: randomBytes(32).toString('base64'), TOTP_PREVIOUS_ENCRYPTION_KEYS: `${randomBytes(32).toString('base64')},not*base64` });
    expect(bad.message).to.equal('TOTP_PREVIOUS_ENCRYPTION_KEYS: entry 2 of 2 is not base64; generate a key with: openssl rand -base64 32');
  });

  it('refuses an unknown KEYWARD_* variable as a typo, listing the known ones', () => {
    const err = configError({ KEYWARD_DATADIR: '/tmp/x' });
    expect(err.variable).to.equal('KEYWARD_DATADIR');
    expect(err.message).to.contain('unknown setting').and.to.contain('KEYWARD_DATA_DIR');
  });

  it('ignores unknown variables outside the KEYWARD_ prefix (the environment is shared)', () => {
    expect(() => loadConfig({ HOME: '/root', PATH: '/usr/bin', SOME_OTHER_APP_SETTING: 'x' }, '/srv/app')).to.not.throw();
  });

  describe('production', () => {
    it('refuses to start without JWT_SIGNING_KEY (development keys are refused)', () => {
      const err = configError({ NODE_ENV: 'production' });
      expect(err.variable).to.equal('JWT_SIGNING_KEY');
      expect(err.message).to.contain('NODE_ENV=production');
    });

    it('refuses HS256 without JWT_SECRET', () => {
      expect(configError({ NODE_ENV: 'production', JWT_ALGORITHM: 'HS256' }).variable).to.equal('JWT_SECRET');
    });

    it('starts with a configured ES256 signing key', () => {
      const config = loadConfig({ NODE_ENV: 'production', JWT_SIGNING_KEY: signingKey }, '/srv/app');
      expect(config.production).to.equal(true);
      expect(config.jwt.signingKey).to.equal(signingKey.trim());
    });
  });

  describe('URLs carrying passwords', () => {
    const secret = 's3cr3t-Pa55word';
    const cases: [string, string][] = [
      ['DATABASE_URL', `mysql://keyward:${secret}@db.internal/auth`],
      ['DATABASE_URL', `postgres://keyward:${secret}@db internal:5432:x/auth`],
      ['REDIS_URL', `http://:${secret}@cache:6379`],
      ['REDIS_URL', `redis://:${secret}@[cache:6379`],
      ['SMTP_URL', `https://mailer:${secret}@mail.example.com`],
    ];
    for (const [variable, value] of cases) {
      it(`are never echoed in the message (${variable}, ${value.split(':')[0]})`, () => {
        const err = configError({ [variable]: value });
        expect(err.variable).to.equal(variable);
        expect(err.message).to.not.contain(secret);
        expect(err.message).to.not.contain('keyward:');
        expect(String(err.stack)).to.not.contain(secret);
      });
    }
  });
});
