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
}

export function createEventLog(db: Database, logger: Logger): EventLog {
  return {
    async record(event, tx) {
      const ip = event.client?.ip;
      const requestId = event.client?.requestId;
      const values = [event.type, event.userId ?? null, event.sessionId ?? null, ip ?? null, requestId ?? null, JSON.stringify(event.details ?? {})];
      const sql = `INSERT INTO security_events (type, user_id, session_id, ip, request_id, details) VALUES ($1, $2, $3, $4, $5, $6)`;
      if (tx) await tx.query(sql, values);
      else await db.query('security_events.insert', sql, values);
      logger.info('security event', {
        event: event.type,
        user_id: event.userId,
        session_id: event.sessionId,
        ip,
        request_id: requestId,
        ...event.details,
      });
    },
  };
}
