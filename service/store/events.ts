/**
 * Security events (login success and failure, lockout, refresh-token reuse, …):
 * a row in security_events for audits and a structured log line for the SIEM.
 * Details must never carry a password, a token or a secret.
 */
import type { Database, Queryable } from '../db/pool.js';
import type { Logger } from '../logging/logger.js';

export type SecurityEventType =
  | 'user_registered'
  | 'login_succeeded'
  | 'login_failed'
  | 'account_locked'
  | 'refresh_token_reused'
  | 'session_revoked'
  | 'sessions_revoked_all'
  | 'registration_repeated'
  | 'verification_email_sent'
  | 'email_verified'
  | 'login_refused_unverified'
  | 'password_reset_requested'
  | 'password_reset'
  | 'password_changed'
  | 'mfa_enrollment_started'
  | 'mfa_enabled'
  | 'mfa_disabled'
  | 'mfa_challenge_issued'
  | 'mfa_failed'
  | 'recovery_code_used'
  | 'recovery_codes_regenerated';

export interface EventOrigin {
  ip: string | undefined;
  requestId: string | undefined;
}

export interface SecurityEvent {
  type: SecurityEventType;
  userId?: string | undefined;
  sessionId?: string | undefined;
  /**
   * The caller (a ClientInfo) when a request caused the event: its address and the request's id
   * are kept. Not optional, so that a new call site decides rather than forgets.
   */
  client: EventOrigin | undefined;
  details?: Record<string, unknown>;
}

export interface EventLog {
  /** Records inside `tx` when given, so the event commits or rolls back with the change it describes. */
  record(event: SecurityEvent, tx?: Queryable): Promise<void>;
  /**
   * Records several events in one statement: one round trip however many there are, so that a
   * request that has one event more (the failure that locks an account) takes no longer for it.
   */
  recordAll(events: readonly SecurityEvent[], tx?: Queryable): Promise<void>;
}

const columns = 6;

export function createEventLog(db: Database, logger: Logger): EventLog {
  const recordAll = async (events: readonly SecurityEvent[], tx?: Queryable): Promise<void> => {
    if (events.length === 0) return;
    const values = events.flatMap((event) => [
      event.type, event.userId ?? null, event.sessionId ?? null, event.client?.ip ?? null, event.client?.requestId ?? null, JSON.stringify(event.details ?? {}),
    ]);
    const rows = events.map((_, i) => `(${Array.from({ length: columns }, (_c, j) => `$${i * columns + j + 1}`).join(', ')})`);
    const sql = `INSERT INTO security_events (type, user_id, session_id, ip, request_id, details) VALUES ${rows.join(', ')}`;
    if (tx) await tx.query(sql, values);
    else await db.query('security_events.insert', sql, values);
    for (const event of events) {
      logger.info('security event', {
        event: event.type,
        user_id: event.userId,
        session_id: event.sessionId,
        ip: event.client?.ip,
        request_id: event.client?.requestId,
        ...event.details,
      });
    }
  };
  return {
    record: (event, tx) => recordAll([event], tx),
    recordAll,
  };
}
