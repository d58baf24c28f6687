/**
 * The last step of every successful login, by password alone or with a second
 * factor: lock and re-read the account, open the session, record it, clear the
 * lockout, and tell the owner when this sign-in follows a lockout of their account.
 */
import type { Queryable } from '../db/pool.js';
import { AppError } from '../errors.js';
import type { PublicUser, UserWithHash } from '../store/users.js';
import type { AuthDeps, ClientInfo } from './deps.js';
import { startSession, type StartedSession } from './session-start.js';
import { profileKey } from './profile.js';

export type SignInMethod = 'password' | 'totp' | 'recovery_code';

/**
 * `inside` runs first in the session's transaction (using up an MFA token or code, checking that the
 * password hash is still `current`'s); a throw there aborts the login.
 */
export async function completeSignIn(
  deps: AuthDeps,
  user: PublicUser,
  client: ClientInfo,
  method: SignInMethod,
  inside?: (tx: Queryable, current: UserWithHash) => Promise<void>,
): Promise<StartedSession> {
  const { sessionId, expiresAt, response, signedIn } = await deps.db.transaction('auth.login', async (tx) => {
    // `user` was read before the password or code was checked. The row, locked now, orders this
    // sign-in against a password change or reset: either that committed first (and `inside` sees
    // its hash), or it waits for this session and revokes it with the others.
    const current = await deps.users.lockForSignIn(tx, user.id);
    if (!current) throw new AppError('invalid_credentials');
    await inside?.(tx, current);
    const started = await startSession(deps, tx, current.user, client);
    await deps.events.record({ type: 'login_succeeded', userId: user.id, sessionId: started.sessionId, client, details: { method } }, tx);
    return { ...started, signedIn: current.user };
  });
  await deps.sessions.remember(sessionId, { userId: user.id, expiresAt });
  const wasLocked = await deps.lockout.succeed(user.email);
  if (wasLocked) deps.outbox.enqueue(user.email, { name: 'login_after_lockout', ip: client.ip, userAgent: client.userAgent }, client.requestId);
  // Filled so the `me` that follows a login is a cache hit; filled, never overwritten: a
  // verification committing after this transaction has cached the newer row.
  await deps.cache.add(profileKey(user.id), signedIn);
  deps.logger.debug('session started', { user_id: user.id, session_id: sessionId, request_id: client.requestId });
  return response;
}
