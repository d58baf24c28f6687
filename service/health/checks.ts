/**
 * The guide's comprehensive health check: database, cache and email, each with
 * status, latency and details; overall unhealthy (503) when the database is
 * down, degraded when an optional dependency is.
 */
import { connect } from 'node:net';
import type { CacheHealth } from '../cache/two-level.js';

export interface CheckResult {
  status: 'healthy' | 'degraded' | 'unhealthy' | 'disabled';
  latency_ms: number;
  details: string | null;
}

export interface HealthReport {
  status: 'healthy' | 'degraded' | 'unhealthy';
  timestamp: string;
  version: string;
  checks: { database: CheckResult; cache: CheckResult; email: CheckResult };
}

export interface HealthSources {
  pingDatabase(timeoutMs: number): Promise<number>;
  cacheHealth(): Promise<CacheHealth>;
  smtpUrl: string | undefined;
  version: string;
  now?: () => Date;
}

// Below the readiness probe's 3 s timeout, so the probe sees our 503 rather than its own timeout.
export const checkTimeoutMs = 2000;

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function checkDatabase(sources: HealthSources): Promise<CheckResult> {
  const started = performance.now();
  try {
    const latency = await sources.pingDatabase(checkTimeoutMs);
    return { status: 'healthy', latency_ms: Math.round(latency), details: null };
  } catch (err) {
    return { status: 'unhealthy', latency_ms: Math.round(performance.now() - started), details: message(err) };
  }
}

/** Reachability of the SMTP server: a TCP connect, not a message. */
export function checkSmtp(smtpUrl: string | undefined, timeoutMs = checkTimeoutMs): Promise<CheckResult> {
  if (smtpUrl === undefined) return Promise.resolve({ status: 'disabled', latency_ms: 0, details: 'SMTP_URL is not set' });
  const url = new URL(smtpUrl);
  const port = Number(url.port || (url.protocol === 'smtps:' ? 465 : 587));
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port, timeout: timeoutMs });
    const done = (result: CheckResult): void => {
      socket.destroy();
      resolve(result);
    };
    socket.once('connect', () => done({ status: 'healthy', latency_ms: Math.round(performance.now() - started), details: null }));
    socket.once('timeout', () => done({ status: 'degraded', latency_ms: timeoutMs, details: `no answer from ${url.hostname}:${port} within ${timeoutMs} ms` }));
    socket.once('error', (err) => done({ status: 'degraded', latency_ms: Math.round(performance.now() - started), details: message(err) }));
  });
}

export async function healthReport(sources: HealthSources): Promise<HealthReport> {
  const [database, cache, email] = await Promise.all([checkDatabase(sources), sources.cacheHealth(), checkSmtp(sources.smtpUrl)]);
  const optionalDown = [cache, email].some((c) => c.status === 'degraded');
  return {
    status: database.status !== 'healthy' ? 'unhealthy' : optionalDown ? 'degraded' : 'healthy',
    timestamp: (sources.now?.() ?? new Date()).toISOString(),
    version: sources.version,
    checks: { database, cache, email },
  };
}
