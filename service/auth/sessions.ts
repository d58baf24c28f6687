/** A user's own sessions: list them, and sign one out (any device, at once, access token included). */
import { AppError } from '../errors.js';
import type { SessionInfo } from '../store/sessions.js';
import type { Principal } from './authenticate.js';
import type { AuthDeps, ClientInfo } from './deps.js';

export interface ListedSession extends SessionInfo {
  /** The session of the access token that asked. */
  current: boolean;
}

export async function listSessions(deps: AuthDeps, principal: Principal): Promise<ListedSession[]> {
  const sessions = await deps.sessions.listForUser(principal.userId);
  return sessions.map((session) => ({ ...session, current: session.id === principal.sessionId }));
}

export async function revokeSession(deps: AuthDeps, principal: Principal, sessionId: string, client: ClientInfo): Promise<void> {
  // Someone else's session answers exactly like one that does not exist.
  if ((await deps.sessions.ownerOf(sessionId)) !== principal.userId) throw new AppError('session_not_found');
  // The revocation commits with its security event (logout.ts says why); then both cache levels
  // hear of it, and the session's access token fails at once.
  const revoked = await deps.db.transaction('auth.revoke_session', async (tx) => {
    if (!(await deps.sessions.revoke(tx, sessionId, 'user_request'))) return false;
    await deps.events.record({ type: 'session_revoked', userId: principal.userId, sessionId, client, details: { reason: 'user_request', by_session: principal.sessionId } }, tx);
    return true;
  });
  if (revoked) await deps.sessions.markRevoked(sessionId);
}
