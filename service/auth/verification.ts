/**
 * Email verification: a single-use link mailed at registration and on request,
 * valid for 24 hours by default. Asking for a new link answers the same whether
 * or not the address has an account; the lookup happens after the answer.
 */
import type { Queryable } from '../db/pool.js';
import { AppError } from '../errors.js';
import { linkMinutes, type EmailTemplate } from '../email/templates.js';
import type { PublicUser } from '../store/users.js';
import type { AuthDeps, ClientInfo } from './deps.js';
import { followLink } from './mailed-link.js';
import { profileKey } from './profile.js';

/**
 * Issues a verification token inside `tx`, which holds the account's row (resend locks it,
 * registration created it), and returns the message to queue once it commits.
 */
export async function issueVerification(deps: AuthDeps, tx: Queryable, user: PublicUser, client: ClientInfo): Promise<EmailTemplate> {
  const ttl = deps.account.emailVerificationTtlSeconds;
  await deps.oneTimeTokens.revokeAll(tx, user.id, 'verify_email');
  const token = await deps.oneTimeTokens.issue(tx, user.id, 'verify_email', ttl);
  await deps.events.record({ type: 'verification_email_sent', userId: user.id, client }, tx);
  return { name: 'verify_email', link: `${deps.account.appUrl}/verify-email?token=${token}`, validForMinutes: linkMinutes(ttl) };
}

export async function verifyEmail(deps: AuthDeps, token: string, client: ClientInfo): Promise<PublicUser> {
  if (client.addressBlock) await deps.limits.recovery.consume(client.addressBlock);
  const followed = await followLink(deps, 'auth.verify_email', token, 'verify_email', async (tx, userId) => {
    const verified = await deps.users.markEmailVerified(tx, userId);
    await deps.events.record({ type: 'email_verified', userId, client }, tx);
    return verified;
  });
  if (!followed) throw new AppError('invalid_verification_token');
  const user = followed.result;
  await deps.cache.set(profileKey(user.id), user);
  return user;
}

export async function resendVerification(deps: AuthDeps, email: string, client: ClientInfo): Promise<void> {
  if (client.addressBlock) await deps.limits.recovery.consume(client.addressBlock);
  await deps.limits.emailAddress.consume(email);
  deps.background.run('resend_verification', client.requestId, async () => {
    const account = await deps.users.findByEmail(email);
    if (!account || account.user.email_verified) return;
    const message = await deps.db.transaction('auth.resend_verification', async (tx) => {
      // The account's row first: requests arriving together then issue one after another, where
      // under READ COMMITTED each could miss the other's new link and leave both working.
      const current = await deps.users.lockForChange(tx, account.user.id);
      // Verified while this waited for the row (a link followed meanwhile): no new link to mail.
      if (!current || current.user.email_verified) return undefined;
      return issueVerification(deps, tx, current.user, client);
    });
    if (message) deps.outbox.enqueue(account.user.email, message, client.requestId);
  });
}
