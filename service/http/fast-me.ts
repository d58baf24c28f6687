/**
 * `GET /api/auth/me` answered before Express, when everything it needs is in this process's
 * memory: a token verified here before and not expired, its session known live in a cache that
 * hears of every revocation, and the profile. That is nearly every call of the busiest endpoint
 * (the guide's load mix calls `me` after every login, and clients call it on every page), and
 * Express alone costs six times what the answer does (bench/README.md, "the Express floor").
 *
 * The answer is the one the Express route gives, header for header: the same security headers
 * (security-headers.ts), request id, body, metrics and access-log line. Anything else (no token,
 * a bad or unknown one, a session or profile to read, a query string, another method) goes to
 * the Express app, which refuses or answers it as it does every request.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { profileKey } from '../auth/profile.js';
import type { Cache } from '../cache/two-level.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/registry.js';
import type { SessionStore } from '../store/sessions.js';
import type { PublicUser } from '../store/users.js';
import type { AccessTokens } from '../tokens/access.js';
import { countSuccess } from './measure.js';
import { recordRequest, requestIdFor } from './middleware.js';
import { securityHeaders } from './security-headers.js';

export interface FastMeDeps {
  accessTokens: Pick<AccessTokens, 'remembered'>;
  sessions: Pick<SessionStore, 'knownActive'>;
  cache: Pick<Cache, 'peek'>;
  metrics: Pick<Metrics, 'httpRequests' | 'httpRequestDuration' | 'authRequests' | 'authRequestDuration' | 'cacheHits'>;
  logger: Logger;
}

const route = '/api/auth/me';
// Express's bearer parsing (auth/authenticate.ts) is the authority; a header this misses goes there.
const bearer = /^Bearer\s+(\S+)\s*$/i;
const fixedHeaders = securityHeaders.flat();

/** The app's request listener with `me` answered first whenever memory can answer it. */
export function withFastMe(app: RequestListener, deps: FastMeDeps): RequestListener {
  return (req, res) => {
    if (req.method === 'GET' && req.url === route) {
      try {
        if (answered(deps, req, res)) return;
      } catch (err) {
        // Outside Express nothing would catch this, and a throw from a request listener ends the
        // process: the app answers instead (with its own 500 if it fails the same way).
        deps.logger.error('the fast path of me failed; handing the request to the app', { error: err });
        if (res.headersSent) return void res.destroy();
      }
    }
    void app(req, res);
  };
}

function answered(deps: FastMeDeps, req: IncomingMessage, res: ServerResponse): boolean {
  const started = performance.now();
  const token = bearer.exec(req.headers.authorization ?? '')?.[1];
  const claims = token === undefined ? undefined : deps.accessTokens.remembered(token);
  if (claims === undefined || !deps.sessions.knownActive(claims.sid, claims.sub)) return false;
  const user = deps.cache.peek<PublicUser>(profileKey(claims.sub));
  if (user === undefined) return false;

  const requestId = requestIdFor(req.headers['x-request-id']);
  const body = JSON.stringify({ user });
  res.writeHead(200, [
    'X-Request-Id', requestId,
    ...fixedHeaders,
    'Content-Type', 'application/json; charset=utf-8',
    'Content-Length', String(Buffer.byteLength(body)),
  ]);
  res.end(body);

  // The session's state and the profile: two lookups answered from memory.
  deps.metrics.cacheHits.inc({ level: 'memory' }, 2);
  const seconds = (performance.now() - started) / 1000;
  countSuccess(deps.metrics, 'me', seconds);
  // Recorded now rather than on 'finish': the whole answer was handed to the socket above.
  recordRequest(deps.metrics, deps.logger, { requestId, method: 'GET', route, status: 200, seconds });
  return true;
}
