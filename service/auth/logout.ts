/** Logout of the current session, or of every session of the account. */
import type { AuthDeps, ClientInfo } from './deps.js';
import type { Principal } from './authenticate.js';

export async function logout(deps: AuthDeps, principal: Principal, client: ClientInfo): Promise<void> {
  if (await deps.sessions.revoke(principal.sessionId, 'logout')) {
    await deps.events.record({ type: 'session_revoked', userId: principal.userId, sessionId: principal.sessionId, client, details: { reason: 'logout' } });
  }
}

export async function logoutAll(deps: AuthDeps, principal: Principal, client: ClientInfo): Promise<number> {
  const revoked = await deps.sessions.revokeAllForUser(principal.userId, 'logout_all');
  await deps.events.record({ type: 'sessions_revoked_all', userId: principal.userId, sessionId: principal.sessionId, client, details: { count: revoked.length } });
  return revoked.length;
}
