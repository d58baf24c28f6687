/**
 * The guide's comprehensive health check: database, cache and email, each with
 * status, latency and details; overall unhealthy (503) when the database is
 * down, degraded when every optional dependency that is configured is down.
 */
import type { CacheHealth } from '../cache/two-level.js';
import { errorMessage } from '../util/error-message.js';

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
  /** The mail transport's own check: healthy, degraded (SMTP unreachable) or disabled (no SMTP_URL). */
  emailHealth(timeoutMs: number): Promise<CheckResult>;
  version: string;
  now?: () => Date;
}

// Below the readiness probe's 3 s timeout, so the probe sees our 503 rather than its own timeout.
export const checkTimeoutMs = 2000;

async function checkDatabase(sources: HealthSources): Promise<CheckResult> {
  const started = performance.now();
  try {
    const latency = await sources.pingDatabase(checkTimeoutMs);
    return { status: 'healthy', latency_ms: Math.round(latency), details: null };
  } catch (err) {
    return { status: 'unhealthy', latency_ms: Math.round(performance.now() - started), details: errorMessage(err) };
  }
}

export async function healthReport(sources: HealthSources): Promise<HealthReport> {
  const [database, cache, email] = await Promise.all([checkDatabase(sources), sources.cacheHealth(), sources.emailHealth(checkTimeoutMs)]);
  // The guide's rule: healthy while the database answers and one of the optional dependencies
  // does. One of them down shows in its own check; it is not the whole service's state, which
  // rollouts gate on (an SMTP server refusing one message would otherwise abort a release). A
  // dependency that is not configured ('disabled') counts neither way.
  const configured = [cache, email].filter((c) => c.status !== 'disabled');
  const optionalDown = configured.length > 0 && configured.every((c) => c.status === 'degraded');
  return {
    status: database.status !== 'healthy' ? 'unhealthy' : optionalDown ? 'degraded' : 'healthy',
    timestamp: (sources.now?.() ?? new Date()).toISOString(),
    version: sources.version,
    checks: { database, cache, email },
  };
}
