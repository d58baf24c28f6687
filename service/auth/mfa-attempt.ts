/**
 * One attempt at a second-factor code, counted like a password guess: a wrong
 * code is audited and counts toward the account's lockout, and while the
 * account is locked even the right code is refused with the same answer, so
 * knowing the password does not buy unlimited guesses at a six-digit code.
 */
import { AppError, isAppError } from '../errors.js';
import type { AuthDeps, ClientInfo } from './deps.js';

export interface MfaAttempt<T> {
  user: { id: string; email: string };
  client: ClientInfo;
  /** Audit detail naming the flow, when it is not the login's second step. */
  during?: string;
  /**
   * Checks the code and acts on it; throws `invalid_mfa_code` when it is wrong or
   * replayed. Runs only while not locked. On success the caller clears the
   * lockout (`lockout.succeed`, as completeSignIn does for a login): the
   * reservation taken here otherwise stays counted as an attempt.
   */
  check: () => Promise<T>;
}

export async function attemptMfaCode<T>(deps: AuthDeps, attempt: MfaAttempt<T>): Promise<T> {
  const { user, client } = attempt;
  const reservation = await deps.lockout.reserve(user.email);
  try {
    if (!reservation.allowed) throw new AppError('invalid_mfa_code');
    return await attempt.check();
  } catch (err) {
    if (!isAppError(err) || err.code !== 'invalid_mfa_code') {
      // Not a wrong code (the database down, no key to open the secret): the attempt is given
      // back, or outages alone would lock out someone who never typed a wrong code.
      if (reservation.allowed) await deps.lockout.release(user.email).catch(() => undefined);
      throw err;
    }
    const reason = reservation.allowed ? 'wrong_code' : 'locked';
    await deps.events.record({ type: 'mfa_failed', userId: user.id, client, details: attempt.during ? { reason, during: attempt.during } : { reason } });
    if (reservation.allowed) {
      const lockedFor = await deps.lockout.fail(user.email, reservation.lastChance);
      if (lockedFor !== undefined) await deps.events.record({ type: 'account_locked', userId: user.id, client, details: { seconds: lockedFor } });
    }
    throw err;
  }
}
