/**
 * Re-checks the current password of a signed-in user before a sensitive change
 * (password change, turning the second factor off). Wrong guesses count toward
 * the same lockout as logins: a stolen access token must not become an
 * unlimited password oracle.
 */
import { AppError } from '../errors.js';
import type { UserWithHash } from '../store/users.js';
import type { AuthDeps, ClientInfo } from './deps.js';

export async function checkCurrentPassword(deps: AuthDeps, account: UserWithHash, password: string, client: ClientInfo, during: string): Promise<void> {
  const { email, id } = account.user;
  const reservation = await deps.lockout.reserve(email);
  const ok = reservation.allowed
    ? await deps.passwords.verify(password, account.passwordHash)
    : await deps.passwords.verifyAgainstDummy(password);
  if (ok && reservation.allowed) {
    await deps.lockout.succeed(email);
    return;
  }
  await deps.events.record({ type: 'login_failed', userId: id, ip: client.ip, details: { reason: reservation.allowed ? 'wrong_password' : 'locked', during } });
  if (reservation.allowed) {
    const lockedFor = await deps.lockout.fail(email, reservation.lastChance);
    if (lockedFor !== undefined) await deps.events.record({ type: 'account_locked', userId: id, ip: client.ip, details: { seconds: lockedFor } });
  }
  throw new AppError('invalid_password');
}
