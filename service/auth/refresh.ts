/** Exchanges a refresh token for a new pair; a reused token has revoked its session by the time this throws. */
import { AppError } from '../errors.js';
import type { AuthDeps, ClientInfo } from './deps.js';
import { tokenPair, type TokenPair } from './session-start.js';

export async function refresh(deps: AuthDeps, refreshToken: string, client: ClientInfo): Promise<TokenPair> {
  if (client.addressBlock) await deps.limits.refresh.consume(client.addressBlock);
  const result = await deps.refreshTokens.rotate(refreshToken, (tx, reused) =>
    deps.events.record({ type: 'refresh_token_reused', userId: reused.userId, sessionId: reused.sessionId, client }, tx),
  );
  switch (result.kind) {
    case 'rotated':
      return tokenPair(deps, result.userId, result.sessionId, result.token);
    case 'reused':
      await deps.sessions.markRevoked(result.sessionId);
      throw new AppError('invalid_refresh_token');
    case 'invalid':
      throw new AppError('invalid_refresh_token');
  }
}
