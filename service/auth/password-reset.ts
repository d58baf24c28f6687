/**
 * Forgotten passwords. Asking for a reset answers 202 at once, for every
 * address: the lookup, token and message happen after the answer, so neither
 * the answer nor its timing tells whether the address has an account (OWASP
 * Forgot Password Cheat Sheet). The link works once, for 30 minutes by default;
 * using it sets the new password, signs out every session and tells the owner.
 */
import { linkMinutes } from '../email/templates.js';
import { AppError } from '../errors.js';
import { checkPassword } from '../passwords/policy.js';
import type { AuthDeps, ClientInfo } from './deps.js';
import { followLink } from './mailed-link.js';
import { profileKey } from './profile.js';

export async function forgotPassword(deps: AuthDeps, email: string, client: ClientInfo): Promise<void> {
  if (client.addressBlock) await deps.limits.recovery.consume(client.addressBlock);
  await deps.limits.emailAddress.consume(email);
  deps.background.run('forgot_password', client.requestId, async () => {
    const account = await deps.users.findByEmail(email);
    if (!account) {
      await deps.events.record({ type: 'password_reset_requested', client, details: { email, known: false } });
      return;
    }
    const ttl = deps.account.passwordResetTtlSeconds;
    const token = await deps.db.transaction('auth.forgot_password', async (tx) => {
      // The account's row first, as every writer of its links takes it: requests arriving together
      // then issue one after another, where under READ COMMITTED each could miss the other's new
      // link below and leave both working.
      await deps.users.lockForChange(tx, account.user.id);
      // Only the newest link works: an older one in a forwarded or leaked message is void.
      await deps.oneTimeTokens.revokeAll(tx, account.user.id, 'reset_password');
      const issued = await deps.oneTimeTokens.issue(tx, account.user.id, 'reset_password', ttl);
      await deps.events.record({ type: 'password_reset_requested', userId: account.user.id, client, details: { known: true } }, tx);
      return issued;
    });
    deps.outbox.enqueue(account.user.email, {
      name: 'reset_password',
      link: `${deps.account.appUrl}/reset-password?token=${token}`,
      validForMinutes: linkMinutes(ttl),
    }, client.requestId);
  });
}

export interface PasswordReset {
  token: string;
  password: string;
}

export async function resetPassword(deps: AuthDeps, input: PasswordReset, client: ClientInfo): Promise<void> {
  if (client.addressBlock) await deps.limits.recovery.consume(client.addressBlock);
  // Checked before the token is used up: a refused password must not burn the link.
  checkPassword(input.password);
  const passwordHash = await deps.passwords.hash(input.password);
  // The account's row, held while the link is used, also orders the reset against sign-ins
  // (lockForSignIn): a login that checked the old password either sees the new hash or has its
  // session revoked below.
  const followed = await followLink(deps, 'auth.reset_password', input.token, 'reset_password', async (tx, userId) => {
    await deps.users.setPassword(tx, userId, passwordHash);
    // The link reached the mailbox, which proves the address as well as a verification link would.
    const user = await deps.users.markEmailVerified(tx, userId);
    await deps.oneTimeTokens.revokeAll(tx, userId, 'reset_password');
    // A login that passed the old password and waits for its second factor must not finish with it.
    await deps.oneTimeTokens.revokeAll(tx, userId, 'mfa_login');
    const revoked = await deps.sessions.revokeAllForUser(tx, userId, 'password_reset');
    await deps.events.record({ type: 'password_reset', userId, client, details: { sessions_revoked: revoked.length } }, tx);
    return { user, revoked };
  });
  if (!followed) throw new AppError('invalid_reset_token');
  const { user, revoked } = followed.result;
  await Promise.all(revoked.map((id) => deps.sessions.markRevoked(id)));
  await deps.cache.set(profileKey(user.id), user);
  // The owner proved control of the mailbox: a lockout from someone else's guesses no longer applies.
  await deps.lockout.succeed(user.email);
  deps.outbox.enqueue(user.email, { name: 'password_changed', how: 'reset' }, client.requestId);
}
