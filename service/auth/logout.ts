/** Logout of the current session, or of every session of the account. */
import type { AuthDeps, ClientInfo } from './deps.js';
import type { Principal } from './authenticate.js';

// Each revocation commits with its security event: an event written afterwards could fail alone,
// and the client, answered 5xx for a logout that happened, would think itself still signed in.

export async function logout(deps: AuthDeps, principal: Principal, client: ClientInfo): Promise<void> {
  const revoked = await deps.db.transaction('auth.logout', async (tx) => {
    if (!(await deps.sessions.revoke(tx, principal.sessionId, 'logout'))) return false;
    await deps.events.record({ type: 'session_revoked', userId: principal.userId, sessionId: principal.sessionId, client, details: { reason: 'logout' } }, tx);
    return true;
  });
  if (revoked) await deps.sessions.markRevoked(principal.sessionId);
}

export async function logoutAll(deps: AuthDeps, principal: Principal, client: ClientInfo): Promise<number> {
  const revoked = await deps.db.transaction('auth.logout_all', async (tx) => {
    const ids = await deps.sessions.revokeAllForUser(tx, principal.userId, 'logout_all');
    await deps.events.record({ type: 'sessions_revoked_all', userId: principal.userId, sessionId: principal.sessionId, client, details: { count: ids.length } }, tx);
    return ids;
  });
  await Promise.all(revoked.map((id) => deps.sessions.markRevoked(id)));
  return revoked.length;
}
