/**
 * What both `me` baselines do per request: verify the Bearer token with the
 * service's own verifier (createAccessTokens().verify: the same ES256 key ring,
 * issuer, audience and cache of verified tokens) and answer a small JSON body.
 * No session lookup, no logging, no metrics.
 */
import { createAccessTokens } from '../../service/tokens/access.js';
import { loadKeyRing } from '../../service/tokens/keys.js';

const keyRing = loadKeyRing({ algorithm: 'ES256', signingKeyPem: process.env['JWT_SIGNING_KEY'] });
const tokens = createAccessTokens({
  keyRing,
  issuer: process.env['JWT_ISSUER'] ?? 'keyward',
  audience: process.env['JWT_AUDIENCE'] ?? 'keyward',
  ttlSeconds: 900,
});

export interface MeAnswer {
  status: number;
  body: string;
}

export function answerMe(authorization: string | undefined): MeAnswer {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (match) {
    try {
      const claims = tokens.verify(match[1]!);
      return { status: 200, body: JSON.stringify({ user: { id: claims.sub, session_id: claims.sid } }) };
    } catch {
      /* 401 */
    }
  }
  return { status: 401, body: '{"error":{"code":"invalid_token"}}' };
}
