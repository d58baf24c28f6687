/**
 * The one configuration loader of the auth workload. Every setting comes from an
 * environment variable; an invalid value stops start-up with a message naming
 * the variable, so a bad Secret or ConfigMap fails the rollout's startup probe
 * instead of serving with a surprise default.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { nearMisses, type NearMiss } from './near-miss.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type JwtAlgorithm = 'ES256' | 'HS256';

export interface DatabaseConfig {
  /** Absent: start the embedded PostgreSQL in `dataDir`. */
  url: string | undefined;
  // The guide's DatabaseConfig: 20-50 max, 5-10 min, 30 s connect, 5 min idle, 30 min lifetime.
  maxConnections: number;
  minConnections: number;
  connectionTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  maxLifetimeSeconds: number;
  /** How long one statement of a request may wait for its answer (service/db/pool.ts, DatabaseOptions). */
  queryTimeoutSeconds: number;
}

export interface CacheConfig {
  // The guide's CacheConfig: 1000 entries for 5 min in memory, 1 h in Redis, 5 s timeout.
  memoryCacheSize: number;
  memoryCacheTtlSeconds: number;
  redisUrl: string | undefined;
  redisDefaultTtlSeconds: number;
  redisTimeoutSeconds: number;
  /**
   * Starts every key and channel this deployment uses in Redis, so deployments sharing one
   * Redis keep their caches, lockouts and limits apart (the operator sets one per AuthService).
   */
  redisKeyPrefix: string;
}

export interface JwtConfig {
  algorithm: JwtAlgorithm;
  /** PEM of the ES256 signing key. */
  signingKey: string | undefined;
  /** Extra ES256 public (or private) keys, PEM, still accepted during a rotation. */
  verificationKeys: string[];
  /** HS256 shared secret (the guide's `jwt-secret`). */
  secret: string | undefined;
  previousSecrets: string[];
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** A rotated refresh token presented again within this window gets the same successor. */
  refreshReuseGraceSeconds: number;
}

export interface SecurityConfig {
  bcryptCost: number;
  lockoutThreshold: number;
  lockoutBaseSeconds: number;
  lockoutMaxSeconds: number;
  /** Per client IP, per minute; 0 turns a limit off. */
  rateLimitLoginPerMinute: number;
  rateLimitRegisterPerMinute: number;
  rateLimitRefreshPerMinute: number;
  /** Per client IP, per minute, across forgot-password, reset-password, verify-email and resend-verification. */
  rateLimitRecoveryPerMinute: number;
  /** Per email address, per hour: how many reset or verification messages one address can be sent. */
  rateLimitEmailPerAddressPerHour: number;
  /** Express `trust proxy` value, so the client IP is right behind an ingress. */
  /** Express `trust proxy`: a hop count, or named ranges / addresses / CIDRs (proxy-addr syntax). */
  trustProxy: number | string | false;
}

export interface EmailConfig {
  /** Absent: the development transport writes every message, link included, to the log. */
  smtpUrl: string | undefined;
  from: string;
  /** Where the links in messages point: `${appUrl}/verify-email?token=…`, `${appUrl}/reset-password?token=…`. */
  appUrl: string;
  /** Delivery attempts per message before it is counted as failed (retried with backoff in the background). */
  maxAttempts: number;
}

export interface AccountConfig {
  /** Login refused until the address is verified; registering a taken address answers like a new one. */
  requireEmailVerification: boolean;
  emailVerificationTtlSeconds: number;
  passwordResetTtlSeconds: number;
  /** Lifetime of the `mfa_token` a password login hands out when the second factor is on. */
  mfaTokenTtlSeconds: number;
}

export interface MfaConfig {
  /**
   * AES-256-GCM key that encrypts TOTP secrets at rest (32 bytes). Absent: a
   * development key in the data directory, or, with NODE_ENV=production, MFA
   * enrollment and verification answer 503 `mfa_unavailable`.
   */
  encryptionKey: Buffer | undefined;
  /** Older keys, used only to decrypt, while a rotation is under way. */
  previousEncryptionKeys: Buffer[];
}

export interface Config {
  production: boolean;
  /** Variables that look like mistyped settings (near-miss.ts); the service warns of each at start-up. */
  nearMisses: NearMiss[];
  host: string;
  port: number;
  logLevel: LogLevel;
  dataDir: string;
  shutdownTimeoutSeconds: number;
  database: DatabaseConfig;
  cache: CacheConfig;
  jwt: JwtConfig;
  security: SecurityConfig;
  email: EmailConfig;
  account: AccountConfig;
  mfa: MfaConfig;
  retention: RetentionConfig;
}

/** What the periodic purge keeps (service/store/retention.ts). */
export interface RetentionConfig {
  /** 0 turns the purge off. */
  intervalSeconds: number;
  endedSessionDays: number;
  /** 0 keeps security events for ever. */
  securityEventDays: number;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

// Printable, no spaces or glob characters (the prefix also goes into SCAN patterns), ending in ':'.
// Up to 128 characters: the operator's keyward:<namespace>/<name>: takes up to 118 (63 + 45 + 10).
const redisPrefixPattern = /^[A-Za-z0-9._\/-][A-Za-z0-9._:\/-]{0,126}:$/;

/** Whether the service accepts `prefix` as its REDIS_KEY_PREFIX. */
export function isRedisKeyPrefix(prefix: string): boolean {
  return redisPrefixPattern.test(prefix);
}

function redisKeyPrefix(env: Env): string {
  const prefix = text(env, 'REDIS_KEY_PREFIX') ?? 'keyward:';
  if (!isRedisKeyPrefix(prefix)) {
    throw new ConfigError('REDIS_KEY_PREFIX', `must be up to 128 letters, digits and . _ / - : ending in ':' (e.g. keyward:auth/login:), got ${JSON.stringify(prefix)}`);
  }
  return prefix;
}


/** Every variable this loader reads; an unknown KEYWARD_* variable is a typo, not a wish. */
export const knownVariables = [
  'NODE_ENV', 'HOST', 'PORT', 'LOG_LEVEL', 'KEYWARD_DATA_DIR', 'SHUTDOWN_TIMEOUT_SECONDS',
  'DATABASE_URL', 'DATABASE_MAX_CONNECTIONS', 'DATABASE_MIN_CONNECTIONS',
  'DATABASE_CONNECTION_TIMEOUT_SECONDS', 'DATABASE_IDLE_TIMEOUT_SECONDS', 'DATABASE_MAX_LIFETIME_SECONDS', 'DATABASE_QUERY_TIMEOUT_SECONDS',
  'REDIS_URL', 'REDIS_DEFAULT_TTL_SECONDS', 'REDIS_TIMEOUT_SECONDS', 'REDIS_KEY_PREFIX', 'MEMORY_CACHE_SIZE', 'MEMORY_CACHE_TTL_SECONDS',
  'JWT_ALGORITHM', 'JWT_SIGNING_KEY', 'JWT_VERIFICATION_KEYS', 'JWT_SECRET', 'JWT_PREVIOUS_SECRETS',
  'JWT_ISSUER', 'JWT_AUDIENCE', 'ACCESS_TOKEN_TTL_SECONDS', 'REFRESH_TOKEN_TTL_SECONDS', 'REFRESH_REUSE_GRACE_SECONDS',
  'BCRYPT_COST', 'LOCKOUT_THRESHOLD', 'LOCKOUT_BASE_SECONDS', 'LOCKOUT_MAX_SECONDS',
  'RATE_LIMIT_LOGIN_PER_MINUTE', 'RATE_LIMIT_REGISTER_PER_MINUTE', 'RATE_LIMIT_REFRESH_PER_MINUTE', 'TRUST_PROXY',
  'RATE_LIMIT_RECOVERY_PER_MINUTE', 'RATE_LIMIT_EMAIL_PER_ADDRESS_PER_HOUR',
  'SMTP_URL', 'EMAIL_FROM', 'APP_URL', 'EMAIL_MAX_ATTEMPTS',
  'REQUIRE_EMAIL_VERIFICATION', 'EMAIL_VERIFICATION_TTL_SECONDS', 'PASSWORD_RESET_TTL_SECONDS', 'MFA_TOKEN_TTL_SECONDS',
  'TOTP_ENCRYPTION_KEY', 'TOTP_PREVIOUS_ENCRYPTION_KEYS',
  'RETENTION_INTERVAL_SECONDS', 'SESSION_RETENTION_DAYS', 'SECURITY_EVENT_RETENTION_DAYS',
] as const;

const knownSet = new Set<string>(knownVariables);

function text(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `expected a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const value = raw.trim() as T;
  if (!allowed.includes(value)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
  return value;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = text(env, name)?.trim().toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `must be true or false, got ${JSON.stringify(raw)}`);
}

// A sender address as nodemailer takes it: "addr@host" or "Name <addr@host>".
const senderPattern = /^(?:[^<>]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/;

function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    // Never echo the value: a URL here usually carries a password.
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
  }
  return raw;
}

/** PEM blocks may arrive concatenated in one variable (a mounted Secret key). */
function pemList(env: Env, name: string): string[] {
  const raw = text(env, name);
  if (raw === undefined) return [];
  const blocks = raw.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g);
  if (!blocks) throw new ConfigError(name, 'expected one or more PEM blocks');
  return blocks;
}

/** One PEM block: a second one pasted in (during a rotation, say) would otherwise be dropped unread. */
function onePem(env: Env, name: string): string | undefined {
  const blocks = pemList(env, name);
  if (blocks.length > 1) {
    throw new ConfigError(name, `holds ${blocks.length} PEM blocks; it takes the one signing key. Keys that only verify go in JWT_VERIFICATION_KEYS`);
  }
  return blocks[0];
}

/** The address to listen on: an IP address or a host name, never with a port (that is PORT). */
function listenHost(env: Env): string {
  const host = text(env, 'HOST') ?? '0.0.0.0';
  const hostname = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
  if (isIP(host) === 0 && !hostname.test(host)) throw new ConfigError('HOST', `must be an IP address or a host name (the port goes in PORT), got ${JSON.stringify(host)}`);
  return host;
}

function list(env: Env, name: string): string[] {
  const raw = text(env, name);
  return raw === undefined ? [] : raw.split(',').map((s) => s.trim()).filter(Boolean);
}

// AES-256 takes exactly 32 bytes; `openssl rand -base64 32` prints them as 44 characters.
const AES_KEY_BYTES = 32;

/** A 32-byte key in base64 (standard or URL-safe alphabet). Never echoes the value: it is a key. */
function aesKey(raw: string, name: string, which = ''): Buffer {
  const value = raw.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    throw new ConfigError(name, `${which}is not base64; generate a key with: openssl rand -base64 32`);
  }
  const key = Buffer.from(value, 'base64');
  if (key.length !== AES_KEY_BYTES) {
    throw new ConfigError(name, `${which}must be ${AES_KEY_BYTES} random bytes in base64 (openssl rand -base64 32), got ${key.length} bytes`);
  }
  return key;
}

function mfaConfig(env: Env): MfaConfig {
  const current = text(env, 'TOTP_ENCRYPTION_KEY');
  const previous = list(env, 'TOTP_PREVIOUS_ENCRYPTION_KEYS');
  if (current === undefined && previous.length > 0) {
    // Half a rotation: the keys that would decrypt are given, the one that encrypts is missing.
    throw new ConfigError('TOTP_PREVIOUS_ENCRYPTION_KEYS', 'is set without TOTP_ENCRYPTION_KEY; previous keys only decrypt, set the current key too');
  }
  return {
    encryptionKey: current === undefined ? undefined : aesKey(current, 'TOTP_ENCRYPTION_KEY'),
    previousEncryptionKeys: previous.map((key, i) => aesKey(key, 'TOTP_PREVIOUS_ENCRYPTION_KEYS', `entry ${i + 1} of ${previous.length} `)),
  };
}

const proxyNames = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY as Express understands it, checked here so a typo stops start-up
 * naming the variable: a number is a hop count ("1" behind one ingress), else a
 * comma-separated list of loopback, linklocal, uniquelocal, addresses or CIDRs.
 * "true" is refused: trusting every hop lets any client forge X-Forwarded-For
 * and so its own rate-limit key.
 */
function trustProxy(raw: string | undefined): number | string | false {
  if (raw === undefined || raw === 'false' || raw === '0') return false;
  if (/^\d+$/.test(raw)) return Number(raw);
  if (raw === 'true') throw new ConfigError('TRUST_PROXY', 'true would trust every hop, so clients could choose their own address; give the number of proxies (e.g. 1) or their addresses');
  for (const entry of raw.split(',').map((e) => e.trim())) {
    const [address, bits, extra] = entry.split('/');
    const okAddress = proxyNames.has(entry) || (address !== undefined && isIP(address) !== 0);
    const okBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (isIP(address ?? '') === 6 ? 128 : 32));
    if (!okAddress || !okBits || extra !== undefined || (proxyNames.has(entry) && bits !== undefined)) {
      throw new ConfigError('TRUST_PROXY', `${JSON.stringify(entry)} is not a hop count, loopback, linklocal, uniquelocal, an IP address or a CIDR`);
    }
  }
  return raw;
}

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  for (const name of Object.keys(env)) {
    if (name.startsWith('KEYWARD_') && !knownSet.has(name)) {
      throw new ConfigError(name, `unknown setting; known KEYWARD_* settings: ${knownVariables.filter((v) => v.startsWith('KEYWARD_')).join(', ')}`);
    }
  }
  const nodeEnv = oneOf(env, 'NODE_ENV', 'development', ['development', 'production', 'test']);
  const lockoutBaseSeconds = integer(env, 'LOCKOUT_BASE_SECONDS', 60, 1, 86400);
  const lockoutMaxSeconds = integer(env, 'LOCKOUT_MAX_SECONDS', 900, 1, 86400);
  if (lockoutBaseSeconds > lockoutMaxSeconds) {
    throw new ConfigError('LOCKOUT_BASE_SECONDS', `must not exceed LOCKOUT_MAX_SECONDS (${lockoutMaxSeconds}): every lockout would last the maximum`);
  }
  const port = integer(env, 'PORT', 8090, 0, 65535);

  const database: DatabaseConfig = {
    url: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    maxConnections: integer(env, 'DATABASE_MAX_CONNECTIONS', 20, 1, 1000),
    minConnections: integer(env, 'DATABASE_MIN_CONNECTIONS', 5, 0, 1000),
    connectionTimeoutSeconds: integer(env, 'DATABASE_CONNECTION_TIMEOUT_SECONDS', 30, 1, 600),
    idleTimeoutSeconds: integer(env, 'DATABASE_IDLE_TIMEOUT_SECONDS', 300, 1, 86400),
    maxLifetimeSeconds: integer(env, 'DATABASE_MAX_LIFETIME_SECONDS', 1800, 1, 86400),
    queryTimeoutSeconds: integer(env, 'DATABASE_QUERY_TIMEOUT_SECONDS', 10, 1, 600),
  };
  if (database.minConnections > database.maxConnections) {
    throw new ConfigError('DATABASE_MIN_CONNECTIONS', `must not exceed DATABASE_MAX_CONNECTIONS (${database.maxConnections})`);
  }

  const jwt: JwtConfig = {
    algorithm: oneOf(env, 'JWT_ALGORITHM', 'ES256', ['ES256', 'HS256'] as const),
    signingKey: onePem(env, 'JWT_SIGNING_KEY'),
    verificationKeys: pemList(env, 'JWT_VERIFICATION_KEYS'),
    secret: text(env, 'JWT_SECRET'),
    previousSecrets: list(env, 'JWT_PREVIOUS_SECRETS'),
    issuer: text(env, 'JWT_ISSUER') ?? 'keyward',
    audience: text(env, 'JWT_AUDIENCE') ?? 'keyward',
    accessTokenTtlSeconds: integer(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 30, 86400),
    refreshTokenTtlSeconds: integer(env, 'REFRESH_TOKEN_TTL_SECONDS', 2592000, 60, 31536000),
    refreshReuseGraceSeconds: integer(env, 'REFRESH_REUSE_GRACE_SECONDS', 10, 0, 300),
  };
  if (jwt.algorithm === 'HS256' && jwt.secret !== undefined && Buffer.byteLength(jwt.secret) < 32) {
    // RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
    throw new ConfigError('JWT_SECRET', 'must be at least 32 bytes for HS256 (RFC 7518 section 3.2)');
  }
  const production = nodeEnv === 'production';
  if (production) {
    // Production refuses development keys: they live on a laptop's disk.
    if (jwt.algorithm === 'ES256' && jwt.signingKey === undefined) {
      throw new ConfigError('JWT_SIGNING_KEY', 'is required when NODE_ENV=production (development keys are refused)');
    }
    if (jwt.algorithm === 'HS256' && jwt.secret === undefined) {
      throw new ConfigError('JWT_SECRET', 'is required when NODE_ENV=production with JWT_ALGORITHM=HS256');
    }
  } else if (jwt.algorithm === 'HS256' && jwt.secret === undefined) {
    throw new ConfigError('JWT_SECRET', 'is required with JWT_ALGORITHM=HS256');
  }

  const trustProxyRaw = text(env, 'TRUST_PROXY');
  const from = text(env, 'EMAIL_FROM')?.trim() ?? 'no-reply@localhost';
  if (!senderPattern.test(from)) throw new ConfigError('EMAIL_FROM', `must be an address or "Name <address>", got ${JSON.stringify(from)}`);
  return {
    production,
    nearMisses: nearMisses(env, knownVariables),
    host: listenHost(env),
    port,
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['error', 'warn', 'info', 'debug'] as const),
    dataDir: resolve(cwd, text(env, 'KEYWARD_DATA_DIR') ?? '.keyward/data'),
    shutdownTimeoutSeconds: integer(env, 'SHUTDOWN_TIMEOUT_SECONDS', 25, 1, 600),
    database,
    cache: {
      memoryCacheSize: integer(env, 'MEMORY_CACHE_SIZE', 1000, 1, 10_000_000),
      memoryCacheTtlSeconds: integer(env, 'MEMORY_CACHE_TTL_SECONDS', 300, 1, 86400),
      redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
      redisDefaultTtlSeconds: integer(env, 'REDIS_DEFAULT_TTL_SECONDS', 3600, 1, 604800),
      redisTimeoutSeconds: integer(env, 'REDIS_TIMEOUT_SECONDS', 5, 1, 60),
      redisKeyPrefix: redisKeyPrefix(env),
    },
    jwt,
    security: {
      bcryptCost: integer(env, 'BCRYPT_COST', 12, 4, 31),
      lockoutThreshold: integer(env, 'LOCKOUT_THRESHOLD', 5, 1, 1000),
      lockoutBaseSeconds,
      lockoutMaxSeconds,
      rateLimitLoginPerMinute: integer(env, 'RATE_LIMIT_LOGIN_PER_MINUTE', 30, 0, 1_000_000),
      rateLimitRegisterPerMinute: integer(env, 'RATE_LIMIT_REGISTER_PER_MINUTE', 10, 0, 1_000_000),
      rateLimitRefreshPerMinute: integer(env, 'RATE_LIMIT_REFRESH_PER_MINUTE', 60, 0, 1_000_000),
      rateLimitRecoveryPerMinute: integer(env, 'RATE_LIMIT_RECOVERY_PER_MINUTE', 10, 0, 1_000_000),
      rateLimitEmailPerAddressPerHour: integer(env, 'RATE_LIMIT_EMAIL_PER_ADDRESS_PER_HOUR', 5, 0, 1_000_000),
      trustProxy: trustProxy(trustProxyRaw),
    },
    email: {
      smtpUrl: url(env, 'SMTP_URL', ['smtp:', 'smtps:']),
      from,
      appUrl: (url(env, 'APP_URL', ['http:', 'https:']) ?? `http://localhost:${port || 8090}`).replace(/\/+$/, ''),
      maxAttempts: integer(env, 'EMAIL_MAX_ATTEMPTS', 6, 1, 20),
    },
    account: {
      requireEmailVerification: flag(env, 'REQUIRE_EMAIL_VERIFICATION', false),
      // Issue 3: verification links live 24 h, reset links 30 min (OWASP forgot-password: short-lived).
      emailVerificationTtlSeconds: integer(env, 'EMAIL_VERIFICATION_TTL_SECONDS', 86400, 60, 604800),
      passwordResetTtlSeconds: integer(env, 'PASSWORD_RESET_TTL_SECONDS', 1800, 60, 86400),
      mfaTokenTtlSeconds: integer(env, 'MFA_TOKEN_TTL_SECONDS', 300, 30, 3600),
    },
    mfa: mfaConfig(env),
    retention: {
      intervalSeconds: integer(env, 'RETENTION_INTERVAL_SECONDS', 3600, 0, 604800),
      endedSessionDays: integer(env, 'SESSION_RETENTION_DAYS', 30, 1, 3650),
      securityEventDays: integer(env, 'SECURITY_EVENT_RETENTION_DAYS', 365, 0, 36500),
    },
  };
}
