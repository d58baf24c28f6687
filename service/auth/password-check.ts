/**
 * Re-checks the current password of a signed-in user before a sensitive change
 * (password change, turning the second factor off). Wrong guesses count toward
 * the same lockout as logins: a stolen access token must not become an
 * unlimited password oracle.
 */
import { AppError } from '../errors.js';
import { releasingOnError } from '../security/limits.js';
import type { Queryable } from '../db/pool.js';
import type { UserWithHash } from '../store/users.js';
import type { Principal } from './authenticate.js';
import type { AuthDeps, ClientInfo } from './deps.js';

export async function checkCurrentPassword(deps: AuthDeps, account: UserWithHash, password: string, client: ClientInfo, during: string): Promise<void> {
  // A bcrypt comparison, as a login's, so out of the same per-IP budget, taken before any hashing:
  // the lockout stops the guesses but not the work, which a locked account still does (the dummy
  // comparison), and one signed-in client could otherwise keep the hashing threads busy for all.
  if (client.addressBlock) await deps.limits.login.consume(client.addressBlock);
  const { email, id } = account.user;
  const reservation = await deps.lockout.reserve(email);
  // A comparison that throws judged nothing: the reservation goes back.
  const ok = await releasingOnError(deps.lockout, email, () => (reservation.allowed
    ? deps.passwords.verify(password, account.passwordHash)
    : deps.passwords.verifyAgainstDummy(password)));
  if (ok && reservation.allowed) {
    await deps.lockout.succeed(email);
    return;
  }
  // Counted before the audit write: a database failure there must not make the guess free.
  const lockedFor = reservation.allowed ? await deps.lockout.fail(email, reservation.lastChance) : undefined;
  await deps.events.record({ type: 'login_failed', userId: id, client, details: { reason: reservation.allowed ? 'wrong_password' : 'locked', during } });
  if (lockedFor !== undefined) await deps.events.record({ type: 'account_locked', userId: id, client, details: { seconds: lockedFor } });
  throw new AppError('invalid_password');
}

/**
 * First thing in the transaction of a change checkCurrentPassword allowed: the password it
 * verified must still be the account's, and the caller's session still live. The check and the
 * bcrypt work before it take long enough for a reset or a logout-all by the owner to land in
 * between, and the change must not then go through on the strength of what they revoked.
 * Returns the account as it now is, locked until `tx` ends.
 */
export async function stillAllowed(deps: AuthDeps, tx: Queryable, principal: Principal, verified: UserWithHash): Promise<UserWithHash> {
  const current = await deps.users.lockForChange(tx, principal.userId);
  if (!current) throw new AppError('session_revoked');
  // The version, not the hash: a login may have re-hashed the same password at a new cost meanwhile.
  if (current.passwordVersion !== verified.passwordVersion) throw new AppError('invalid_password');
  if (!(await deps.sessions.holdActive(tx, principal.sessionId, principal.userId))) throw new AppError('session_revoked');
  return current;
}
