/** What the account flows need, passed in by the composition root (service/app.ts). */
import type { Cache } from '../cache/two-level.js';
import type { Database } from '../db/pool.js';
import type { Outbox } from '../email/outbox.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/registry.js';
import type { PasswordHasher } from '../passwords/hash.js';
import type { Lockout, RateLimit } from '../security/limits.js';
import type { EventLog } from '../store/events.js';
import type { MfaStore } from '../store/mfa.js';
import type { SessionStore } from '../store/sessions.js';
import type { UserStore } from '../store/users.js';
import type { AccessTokens } from '../tokens/access.js';
import type { OneTimeTokens } from '../tokens/one-time.js';
import type { RefreshTokens } from '../tokens/refresh.js';
import type { Background } from '../util/background.js';

export interface AccountSettings {
  requireEmailVerification: boolean;
  emailVerificationTtlSeconds: number;
  passwordResetTtlSeconds: number;
  mfaTokenTtlSeconds: number;
  /** Base of the links in messages (APP_URL). */
  appUrl: string;
  /** The issuer shown by authenticator apps next to the account. */
  totpIssuer: string;
}

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
  oneTimeTokens: OneTimeTokens;
  mfa: MfaStore;
  outbox: Outbox;
  background: Background;
  account: AccountSettings;
  limits: {
    login: RateLimit;
    register: RateLimit;
    refresh: RateLimit;
    /** Per client IP: forgot-password, reset-password, verify-email, resend-verification. */
    recovery: RateLimit;
    /** Per email address: how many reset or verification messages it can be sent. */
    emailAddress: RateLimit;
  };
  metrics: Metrics;
  logger: Logger;
  refreshTokenTtlSeconds: number;
  now: () => number;
}

/** Who is calling, for sessions, limits and the audit trail. */
export interface ClientInfo {
  ip: string | undefined;
  /** What per-IP limits count by: the IPv4 address, or the /64 of an IPv6 one (http/address-block.ts). */
  addressBlock: string | undefined;
  userAgent: string | undefined;
  /** The request's id (X-Request-Id), carried to security events and the log lines they write. */
  requestId: string | undefined;
}
