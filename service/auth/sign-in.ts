/**
 * The last step of every successful login, by password alone or with a second
 * factor: open the session, record it, clear the lockout, and tell the owner
 * when this sign-in follows a lockout of their account.
 */
import type { Queryable } from '../db/pool.js';
import type { PublicUser } from '../store/users.js';
import type { AuthDeps, ClientInfo } from './deps.js';
import { startSession, type StartedSession } from './session-start.js';

export type SignInMethod = 'password' | 'totp' | 'recovery_code';

/** `inside` runs first in the session's transaction (using up an MFA token or code); a throw there aborts the login. */
export async function completeSignIn(
  deps: AuthDeps,
  user: PublicUser,
  client: ClientInfo,
  method: SignInMethod,
  inside?: (tx: Queryable) => Promise<void>,
): Promise<StartedSession> {
  const { sessionId, response } = await deps.db.transaction('auth.login', async (tx) => {
    await inside?.(tx);
    const started = await startSession(deps, tx, user, client);
    await deps.events.record({ type: 'login_succeeded', userId: user.id, sessionId: started.sessionId, ip: client.ip, details: { method } }, tx);
    return started;
  });
  const wasLocked = await deps.lockout.succeed(user.email);
  if (wasLocked) deps.outbox.enqueue(user.email, { name: 'login_after_lockout', ip: client.ip, userAgent: client.userAgent });
  // Filled so the `me` that follows a login is a cache hit; filled, never overwritten: `user` was
  // read before the password check, and a verification committed since has cached the newer row.
  await deps.cache.add(`user:${user.id}`, user);
  deps.logger.debug('session started', { user_id: user.id, session_id: sessionId });
  return response;
}
