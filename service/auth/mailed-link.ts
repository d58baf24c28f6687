/**
 * Following a mailed link (a password reset, an email verification): the link is used up in one
 * transaction that holds its account's row, taken before the link's. Every flow that writes an
 * account's links takes the row first (a password change, a resend, a forgotten-password request);
 * taking the link first deadlocks with them, and PostgreSQL aborts one side with a 500.
 */
import type { Queryable } from '../db/pool.js';
import type { TokenPurpose } from '../tokens/one-time.js';
import type { AuthDeps } from './deps.js';

/**
 * Runs `work` in the transaction that used the link up, with the link's account; answers undefined,
 * without running it, when the link is unknown, used or expired. Those all end at one read, before
 * any lock; a flow committed while this waited for the row may also have used the link up.
 */
export async function followLink<T>(
  deps: Pick<AuthDeps, 'db' | 'users' | 'oneTimeTokens'>,
  operation: string,
  token: string,
  purpose: TokenPurpose,
  work: (tx: Queryable, userId: string) => Promise<T>,
): Promise<{ result: T } | undefined> {
  const userId = await deps.oneTimeTokens.peek(token, purpose);
  if (userId === undefined) return undefined;
  return deps.db.transaction(operation, async (tx) => {
    await deps.users.lockForChange(tx, userId);
    if ((await deps.oneTimeTokens.consume(tx, token, purpose)) === undefined) return undefined;
    return { result: await work(tx, userId) };
  });
}
