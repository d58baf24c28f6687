/**
 * Password change by a signed-in user: the current password is checked (with
 * the lockout), the new one must pass the policy, and every other session is
 * signed out while the caller's stays. The owner is told by email.
 */
import { AppError } from '../errors.js';
import { checkPassword } from '../passwords/policy.js';
import type { Principal } from './authenticate.js';
import type { AuthDeps, ClientInfo } from './deps.js';
import { checkCurrentPassword, stillAllowed } from './password-check.js';

export interface PasswordChange {
  current_password: string;
  new_password: string;
}

export async function changePassword(deps: AuthDeps, principal: Principal, input: PasswordChange, client: ClientInfo): Promise<number> {
  const account = await deps.users.findByIdWithHash(principal.userId);
  if (!account) throw new AppError('session_revoked');
  await checkCurrentPassword(deps, account, input.current_password, client, 'change_password');
  checkPassword(input.new_password, 'new_password');
  if (input.new_password === input.current_password) throw new AppError('password_unchanged', { details: { field: 'new_password' } });
  const passwordHash = await deps.passwords.hash(input.new_password);
  const revoked = await deps.db.transaction('auth.change_password', async (tx) => {
    // First: the row lock it takes is what a concurrent sign-in waits for or has waited for (lockForSignIn),
    // so a login that checked the old password either sees the new hash or has its session revoked below.
    await stillAllowed(deps, tx, principal, account);
    await deps.users.setPassword(tx, principal.userId, passwordHash);
    // A reset link mailed before the change must not undo it, nor may a login that passed the old
    // password and waits for its second factor finish with it.
    await deps.oneTimeTokens.revokeAll(tx, principal.userId, 'reset_password');
    await deps.oneTimeTokens.revokeAll(tx, principal.userId, 'mfa_login');
    const ids = await deps.sessions.revokeAllForUser(tx, principal.userId, 'password_changed', principal.sessionId);
    await deps.events.record(
      { type: 'password_changed', userId: principal.userId, sessionId: principal.sessionId, client, details: { other_sessions_revoked: ids.length } },
      tx,
    );
    return ids;
  });
  await Promise.all(revoked.map((id) => deps.sessions.markRevoked(id)));
  deps.outbox.enqueue(account.user.email, { name: 'password_changed', how: 'changed' }, client.requestId);
  return revoked.length;
}
