/** Cross-cutting HTTP middleware: request ids, metrics and access logs, errors. */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { isQueryTimeout } from '../db/pool.js';
import { AppError, isAppError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../metrics/registry.js';

// A caller-supplied id is kept only if it is short and plain: it lands in every log line.
const acceptableId = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's X-Request-Id when it is acceptable, a new UUID otherwise. */
export function requestIdFor(given: string | string[] | undefined): string {
  return typeof given === 'string' && acceptableId.test(given) ? given : randomUUID();
}

/**
 * Gives the request its id: echoed in X-Request-Id, in error bodies, and handed on explicitly
 * (res.locals, then ClientInfo) to the access line, security events and their log lines. Not through
 * an AsyncLocalStorage: on Node 20 that is an async hook, which runs for every promise, tick and
 * socket write of every request, `me` answered from memory included, and cost about 5 µs of the
 * 45 that such an answer took then (bench/README.md).
 */
export const requestId: RequestHandler = (req, res, next) => {
  const id = requestIdFor(req.headers['x-request-id']);
  res.locals['requestId'] = id;
  res.setHeader('X-Request-Id', id);
  next();
};

/**
 * Remembers where a router is mounted: Express resets `req.baseUrl` once the
 * router is done, before 'finish' fires, so the metrics label would lose it.
 */
export const rememberMountPath: RequestHandler = (req, res, next) => {
  res.locals['mountPath'] = req.baseUrl;
  next();
};

/** The route template ('/api/auth/login'), never the raw path: labels must stay a bounded set. */
function routeLabel(req: Request, res: Response): string {
  const route = req.route as { path?: unknown } | undefined;
  const mount = typeof res.locals['mountPath'] === 'string' ? res.locals['mountPath'] : '';
  return typeof route?.path === 'string' ? `${mount}${route.path}` : 'unmatched';
}

/** What nginx logs for a request whose client closed the connection before the answer: 499. */
const clientClosedRequest = 499;

export interface AnsweredRequest {
  requestId: string;
  method: string;
  /** The route template, or 'unmatched'. */
  route: string;
  status: number;
  seconds: number;
}

/** The metrics and the access-log line of one answered request, whichever path answered it. */
export function recordRequest(metrics: Pick<Metrics, 'httpRequests' | 'httpRequestDuration'>, logger: Logger, answered: AnsweredRequest): void {
  const labels = { method: answered.method, route: answered.route, status: String(answered.status) };
  metrics.httpRequests.inc(labels);
  metrics.httpRequestDuration.observe(labels, answered.seconds);
  // Probes and scrapes would drown the access log: they go at debug.
  const level = answered.route.startsWith('/health') || answered.route === '/metrics' ? 'debug' : 'info';
  logger.access.write(level, answered.status === clientClosedRequest ? 'request aborted by the client' : 'request', {
    requestId: answered.requestId,
    method: answered.method,
    route: answered.route,
    status: answered.status,
    durationMs: durationMs(answered.seconds),
  });
}

/** Milliseconds to a tenth, as the access log gives them. */
export const durationMs = (seconds: number): number => Math.round(seconds * 1000 * 10) / 10;

/**
 * Calls `record` once for `res`: with its status when the answer has reached the socket
 * ('finish'), or with 499 when the client hung up first. A client that hangs up never gets an
 * answer, even one written into the dead socket, and without 'close' the request would be
 * missing from the metrics and the log altogether.
 */
export function onAnswered(res: ServerResponse, record: (status: number) => void): void {
  let finished = false;
  res.on('finish', () => {
    finished = true;
    record(res.statusCode);
  });
  res.on('close', () => {
    if (!finished) record(clientClosedRequest);
  });
}

export function observe(metrics: Metrics, logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    onAnswered(res, (status) => {
      const seconds = (performance.now() - started) / 1000;
      recordRequest(metrics, logger, { requestId: String(res.locals['requestId']), method: req.method, route: routeLabel(req, res), status, seconds });
    });
    next();
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', { message: `No route for ${req.method} ${req.path}.` }));
};

/** Errors thrown by body-parser, which carries `type` and `status`. */
interface ParserError {
  type?: string;
  status?: number;
}

// Connection-level failures of PostgreSQL (SQLSTATE class 08, admin shutdown 57P0x) and of sockets.
const unavailableCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);
const unavailableMessage = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i;

/** True when the error means a backing service is unreachable: the client should retry, not report a bug. */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && unavailableCodes.has(e.code)) return true;
  // A statement past DATABASE_QUERY_TIMEOUT_SECONDS: a server that stopped answering.
  if (isQueryTimeout(err)) return true;
  if (Array.isArray(e.errors) && e.errors.some(isUnavailable)) return true; // AggregateError from dual-stack connects
  return typeof e.message === 'string' && unavailableMessage.test(e.message);
}

function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  if (isUnavailable(err)) return new AppError('service_unavailable', { cause: err, headers: { 'Retry-After': '5' } });
  const parser = err as ParserError;
  if (parser.type === 'entity.parse.failed') return new AppError('invalid_json', { cause: err });
  if (parser.type === 'entity.too.large') return new AppError('payload_too_large', { cause: err });
  if (parser.type === 'charset.unsupported' || parser.type === 'encoding.unsupported') return new AppError('unsupported_media_type', { cause: err });
  if (typeof parser.status === 'number' && parser.status >= 400 && parser.status < 500) {
    return new AppError('invalid_request', { cause: err });
  }
  return new AppError('internal_error', { cause: err });
}

/** The access-token errors: the protected resource's own refusals, in RFC 6750's terms invalid_token. */
const tokenRefusals: ReadonlySet<string> = new Set(['invalid_token', 'token_expired', 'session_revoked']);

/**
 * The challenge every 401 carries (RFC 7235 §3.1 requires one; RFC 6750 §3 says how a Bearer
 * resource words it): `error="invalid_token"` when a token was sent and refused, none when no token
 * was sent, or when the credentials refused were a password, a code or a refresh token. The
 * description is the message, in the characters RFC 6750 allows there (no quote, no backslash).
 */
function challengeFor(error: AppError): string | undefined {
  if (error.status !== 401) return undefined;
  const realm = 'Bearer realm="keyward"';
  return tokenRefusals.has(error.code) ? `${realm}, error="invalid_token", error_description="${error.message.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '')}"` : realm;
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const error = toAppError(err);
    if (error.status >= 500) {
      // The cause goes to the log with its stack; the client gets the catalogue message only.
      logger.error('request failed', { request_id: res.locals['requestId'], code: error.code, error: error.cause ?? error });
    }
    if (res.headersSent) return;
    for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
    const challenge = challengeFor(error);
    if (challenge) res.setHeader('WWW-Authenticate', challenge);
    res.status(error.status).json({
      error: { code: error.code, message: error.message, request_id: res.locals['requestId'], ...(error.details ? { details: error.details } : {}) },
    });
  };
}
