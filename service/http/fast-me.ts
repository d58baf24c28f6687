/**
 * `GET /api/auth/me` answered before Express, when everything it needs is in this process's
 * memory: a token verified here before and not expired, its session known live in a cache that
 * hears of every revocation, and the profile. That is nearly every call of the busiest endpoint
 * (the guide's load mix calls `me` after every login, and clients call it on every page), and
 * Express's own work per request (~113 µs of CPU here) is about four times what the whole answer
 * takes without it, 27–30 µs (bench/README.md, "the Express floor").
 *
 * The answer is the one the Express route gives, header for header: the same security headers
 * (security-headers.ts), request id, body, metrics and access-log line. Anything else (no token,
 * a bad or unknown one, a session or profile to read, a query string, a body, another method)
 * goes to the Express app, which refuses or answers it as it does every request.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { bearerPattern } from '../auth/authenticate.js';
import { profileKey } from '../auth/profile.js';
import type { Cache } from '../cache/two-level.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/registry.js';
import type { BoundCounter, BoundHistogram } from '../metrics/series.js';
import type { SessionStore } from '../store/sessions.js';
import type { PublicUser } from '../store/users.js';
import type { AccessTokens } from '../tokens/access.js';
import { durationMs, onAnswered, recordRequest, requestIdFor } from './middleware.js';
import { securityHeaders } from './security-headers.js';

export interface FastMeDeps {
  accessTokens: Pick<AccessTokens, 'remembered'>;
  sessions: Pick<SessionStore, 'knownActive'>;
  cache: Pick<Cache, 'peek'>;
  metrics: Pick<Metrics, 'httpRequests' | 'httpRequestDuration' | 'authRequests' | 'authRequestDuration' | 'cacheHits'>;
  logger: Logger;
}

const route = '/api/auth/me';
const fixedHeaders = securityHeaders.flat();

/**
 * The metric series and the kind of access line a fast answer writes, bound once
 * (metrics/series.ts, logging/access-log.ts): they are the same for every fast answer. Binding
 * creates the series, so they are in /metrics at zero from the start, as the cache's are
 * (metrics/registry.ts), even on a replica without Redis, which never answers from here.
 */
interface Series {
  memoryHits: BoundCounter;
  successes: BoundCounter;
  duration: BoundHistogram;
  answered: BoundCounter;
  answeredDuration: BoundHistogram;
  logAnswered: (requestId: string, durationMs: number) => void;
}

function bindSeries(metrics: FastMeDeps['metrics'], logger: Logger): Series {
  const answered = { method: 'GET', route, status: '200' };
  return {
    memoryHits: metrics.cacheHits.bind({ level: 'memory' }),
    successes: metrics.authRequests.bind({ operation: 'me', result: 'success' }),
    duration: metrics.authRequestDuration.bind({ operation: 'me' }),
    answered: metrics.httpRequests.bind(answered),
    answeredDuration: metrics.httpRequestDuration.bind(answered),
    // The line recordRequest() writes for the same answer (middleware.ts).
    logAnswered: logger.access.bind({ level: 'info', message: 'request', method: 'GET', route, status: 200 }),
  };
}

/**
 * The body of each profile, made once: the cache holds a profile as one frozen object until it is
 * replaced (cache/two-level.ts), so the object stands for its JSON, and a replaced one is dropped
 * with its entry here.
 */
const bodies = new WeakMap<PublicUser, string>();

function bodyOf(user: PublicUser): string {
  let body = bodies.get(user);
  if (body === undefined) {
    body = JSON.stringify({ user });
    bodies.set(user, body);
  }
  return body;
}

interface FastMe extends FastMeDeps {
  series: Series;
}

/** The app's request listener with `me` answered first whenever memory can answer it. */
export function withFastMe(app: RequestListener, deps: FastMeDeps): RequestListener {
  const fast: FastMe = { ...deps, series: bindSeries(deps.metrics, deps.logger) };
  return (req, res) => {
    if (req.method === 'GET' && req.url === route) {
      try {
        if (answered(fast, req, res)) return;
      } catch (err) {
        // Outside Express nothing would catch this, and a throw from a request listener ends the
        // process. Before the answer the app answers instead (with its own 500 if it fails the
        // same way); after it, only the bookkeeping is lost; in between, the connection must go.
        // The id of the answer already written (answered() leaves it in the request's headers), or
        // one chosen now and put there, where Express's requestId middleware reads it: either way
        // this line and the answer carry the same id.
        const id = requestIdFor(req.headers['x-request-id']);
        req.headers['x-request-id'] = id;
        fast.logger.error('the fast path of me failed', { error: err, request_id: id });
        if (res.writableEnded) return;
        if (res.headersSent) return void res.destroy();
      }
    }
    void app(req, res);
  };
}

function answered(fast: FastMe, req: IncomingMessage, res: ServerResponse): boolean {
  const { series } = fast;
  // A body is Express's to parse, and to refuse (400, 413, 415), even on a GET.
  if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) return false;
  const started = performance.now();
  const token = bearerPattern.exec(req.headers.authorization ?? '')?.[1];
  const claims = token === undefined ? undefined : fast.accessTokens.remembered(token);
  if (claims === undefined || !fast.sessions.knownActive(claims.sid, claims.sub)) return false;
  const user = fast.cache.peek<PublicUser>(profileKey(claims.sub));
  if (user === undefined) return false;

  const requestId = requestIdFor(req.headers['x-request-id']);
  // Where the failure's log line finds it, should anything below throw.
  req.headers['x-request-id'] = requestId;
  const body = bodyOf(user);
  res.writeHead(200, [
    'X-Request-Id', requestId,
    ...fixedHeaders,
    'Content-Type', 'application/json; charset=utf-8',
    'Content-Length', String(Buffer.byteLength(body)),
  ]);
  res.end(body);

  // The session's state and the profile: two lookups answered from memory. What measurer()
  // (measure.ts) counts for the Express route, counted here.
  series.memoryHits.inc(2);
  series.successes.inc();
  series.duration.observe((performance.now() - started) / 1000);
  // Usually end() has handed the whole answer to the socket already. Otherwise (a slow reader, a
  // request pipelined behind another) it is recorded once it has, or as 499, as every request is.
  if (res.writableFinished) {
    const seconds = (performance.now() - started) / 1000;
    series.answered.inc();
    series.answeredDuration.observe(seconds);
    series.logAnswered(requestId, durationMs(seconds));
  } else {
    onAnswered(res, (status) => recordRequest(fast.metrics, fast.logger, { requestId, method: 'GET', route, status, seconds: (performance.now() - started) / 1000 }));
  }
  return true;
}
