/** What the account flows need, passed in by the composition root (service/app.ts). */
import type { Cache } from '../cache/two-level.js';
import type { Database } from '../db/pool.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/registry.js';
import type { PasswordHasher } from '../passwords/hash.js';
import type { Lockout, RateLimit } from '../security/limits.js';
import type { EventLog } from '../store/events.js';
import type { SessionStore } from '../store/sessions.js';
import type { UserStore } from '../store/users.js';
import type { AccessTokens } from '../tokens/access.js';
import type { RefreshTokens } from '../tokens/refresh.js';

export interface AuthDeps {
  db: Database;
  cache: Cache;
  users: UserStore;
  sessions: SessionStore;
  events: EventLog;
  passwords: PasswordHasher;
  accessTokens: AccessTokens;
  refreshTokens: RefreshTokens;
  lockout: Lockout;
  limits: { login: RateLimit; register: RateLimit; refresh: RateLimit };
  metrics: Metrics;
  logger: Logger;
  refreshTokenTtlSeconds: number;
  now: () => number;
}

/** Who is calling, for sessions, limits and the audit trail. */
export interface ClientInfo {
  ip: string | undefined;
  userAgent: string | undefined;
}
