/**
 * Opens a session for an authenticated user inside the caller's transaction and returns the token
 * pair the API answers with. After commit the caller puts it in the cache (sessions.remember).
 */
import type { Queryable } from '../db/pool.js';
import type { PublicUser } from '../store/users.js';
import type { AuthDeps, ClientInfo } from './deps.js';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

export interface StartedSession extends TokenPair {
  user: PublicUser;
}

export async function startSession(
  deps: AuthDeps,
  tx: Queryable,
  user: PublicUser,
  client: ClientInfo,
): Promise<{ sessionId: string; expiresAt: Date; response: StartedSession }> {
  const expiresAt = new Date(deps.now() + deps.refreshTokenTtlSeconds * 1000);
  const sessionId = await deps.sessions.create(tx, { userId: user.id, expiresAt, ip: client.ip, userAgent: client.userAgent });
  const refreshToken = await deps.refreshTokens.issue(tx, sessionId, expiresAt);
  return { sessionId, expiresAt, response: { user, ...tokenPair(deps, user.id, sessionId, refreshToken) } };
}

export function tokenPair(deps: AuthDeps, userId: string, sessionId: string, refreshToken: string): TokenPair {
  const access = deps.accessTokens.sign({ sub: userId, sid: sessionId });
  return { access_token: access.token, refresh_token: refreshToken, token_type: 'Bearer', expires_in: access.expiresIn };
}
