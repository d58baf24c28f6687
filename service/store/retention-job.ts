/**
 * Runs the retention purge (retention.ts) every RETENTION_INTERVAL_SECONDS in the serving
 * process, so a deployment needs no CronJob for it. Replicas started together do not run in
 * step: each interval is jittered, and the advisory lock lets one purge while the others skip.
 */
import type pg from 'pg';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/registry.js';
import { purge, purgedTables, type PurgeCounts, type RetentionPolicy } from './retention.js';

export interface RetentionJobOptions {
  pool: pg.Pool;
  policy: RetentionPolicy;
  /** 0 turns the job off. */
  intervalSeconds: number;
  logger: Logger;
  metrics: Pick<Metrics, 'retentionDeletedRows' | 'retentionLastSuccess'>;
  random?: () => number;
}

export interface RetentionJob {
  /** One run now (what the timer calls); undefined when a run is already under way or the job stopped. */
  runOnce(): Promise<PurgeCounts | 'busy' | undefined>;
  /** Stops the timer and lets a run in progress end after its current batch. */
  stop(): Promise<void>;
}

/** The first run comes one to two minutes after start-up, once the pool is warm and traffic has arrived. */
const firstRunMs = 60_000;

/** "2 refresh_tokens, 0 one_time_tokens, …": the counts go in the message, since the logger redacts any field named like a token. */
export function describeCounts(counts: PurgeCounts): string {
  return purgedTables.map((table) => `${counts[table]} ${table}`).join(', ');
}

export const totalOf = (counts: PurgeCounts): number => purgedTables.reduce((sum, table) => sum + counts[table], 0);

export function startRetentionJob(options: RetentionJobOptions): RetentionJob {
  const { logger, intervalSeconds } = options;
  const random = options.random ?? Math.random;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<PurgeCounts | 'busy' | undefined> | undefined;
  let stopping = false;

  const runOnce = async (): Promise<PurgeCounts | 'busy' | undefined> => {
    if (current || stopping) return undefined;
    const started = performance.now();
    current = purge(options.pool, options.policy, { stopping: () => stopping })
      .then((counts) => {
        if (counts === 'busy') {
          logger.debug('retention purge skipped: another replica is running one');
          return counts;
        }
        for (const table of purgedTables) if (counts[table] > 0) options.metrics.retentionDeletedRows.inc({ table }, counts[table]);
        options.metrics.retentionLastSuccess.set(Date.now() / 1000);
        const total = totalOf(counts);
        const meta = { rows: total, duration_ms: Math.round(performance.now() - started) };
        if (total > 0) logger.info(`retention purge deleted ${describeCounts(counts)}`, meta);
        else logger.debug('retention purge: nothing past its retention', meta);
        return counts;
      })
      .catch((err: unknown) => {
        // A database outage: the next interval tries again; nothing was lost, only not yet deleted.
        logger.warn('retention purge failed; trying again next interval', { error: err instanceof Error ? err.message : String(err) });
        return undefined;
      })
      .finally(() => {
        current = undefined;
      });
    return current;
  };

  const schedule = (ms: number): void => {
    timer = setTimeout(() => {
      void runOnce().finally(() => {
        if (!stopping) schedule(intervalSeconds * 1000 * (0.9 + 0.2 * random()));
      });
    }, ms);
    timer.unref();
  };

  if (intervalSeconds > 0) {
    schedule(Math.min(intervalSeconds * 1000, firstRunMs * (1 + random())));
    const { endedSessionDays, securityEventDays } = options.policy;
    logger.info(`retention purge every ${intervalSeconds} s: ended sessions after ${endedSessionDays} days, security events ${securityEventDays > 0 ? `after ${securityEventDays} days` : 'kept'}`);
  } else {
    logger.info('retention purge off (RETENTION_INTERVAL_SECONDS=0): expired sessions, tokens and old security events are kept');
  }

  return {
    runOnce,
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await current;
    },
  };
}
