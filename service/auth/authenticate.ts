/** Resolves a Bearer access token to its user and session, refusing revoked sessions at once. */
import { AppError } from '../errors.js';
import type { AuthDeps } from './deps.js';

export interface Principal {
  userId: string;
  sessionId: string;
}

/** `Authorization: Bearer <token>`, the scheme in any case (RFC 7235 2.1); the token is group 1. */
export const bearerPattern = /^Bearer\s+(\S+)\s*$/i;

export function bearerToken(header: string | undefined): string {
  if (header === undefined || header === '') throw new AppError('missing_token');
  const match = bearerPattern.exec(header);
  if (!match) throw new AppError('invalid_token', { message: 'The Authorization header must be "Bearer <token>".' });
  return match[1]!;
}

export async function authenticate(deps: Pick<AuthDeps, 'accessTokens' | 'sessions'>, header: string | undefined): Promise<Principal> {
  const claims = deps.accessTokens.verify(bearerToken(header));
  if (!(await deps.sessions.isActive(claims.sid, claims.sub))) throw new AppError('session_revoked');
  return { userId: claims.sub, sessionId: claims.sid };
}
