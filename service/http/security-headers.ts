/**
 * The headers every response starts with, worked out once at start-up: helmet's security
 * headers, set up for an API, and `Cache-Control: no-store`. The Express app sets them from this
 * list, and the fast path of `me` (fast-me.ts) writes the same list without a middleware, so the
 * two can never disagree.
 */
import type { RequestHandler } from 'express';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import helmet from 'helmet';

export type HeaderList = readonly (readonly [name: string, value: string])[];

/**
 * What a helmet middleware sets, read by running it once on a response of no connection.
 * helmet's headers depend on its options only, never on the request (no nonces are
 * configured), so one run tells them all.
 */
export function headersOf(middleware: ReturnType<typeof helmet>): HeaderList {
  const req = new IncomingMessage(new Socket());
  const res = new RecordingResponse(req);
  let failure: unknown;
  middleware(req, res, (err?: unknown) => (failure = err));
  if (failure !== undefined) throw failure;
  return res.recorded.filter(([name]) => res.hasHeader(name));
}

/** A response that remembers the names it was given as given: getHeaderNames() lowercases them. */
class RecordingResponse extends ServerResponse {
  readonly recorded: [string, string][] = [];

  override setHeader(name: string, value: string | number | readonly string[]): this {
    this.recorded.push([name, String(value)]);
    return super.setHeader(name, value);
  }
}

/**
 * helmet's defaults are written for sites that serve HTML: a policy that lets the page load its
 * own scripts, styles and fonts, and frames from its own origin. Every answer here is JSON (or the
 * Prometheus text of /metrics), so the policy is the one OWASP's REST Security Cheat Sheet gives
 * for APIs: nothing may load, nobody may frame it, should a browser ever render one as a page.
 * The rest of helmet's headers stay as they are.
 */
const apiHelmetOptions = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  xFrameOptions: { action: 'deny' },
} as const satisfies Parameters<typeof helmet>[0];

export const securityHeaders: HeaderList = [
  ...headersOf(helmet(apiHelmetOptions)),
  // Answers carry tokens, profiles and session lists: no cache, private or shared, may keep one
  // (RFC 9111 5.2.2.5; RFC 6749 5.1 asks the same of token responses). A route whose answer is
  // public and may be kept (the JWKS, the OpenAPI document) sets its own.
  ['Cache-Control', 'no-store'],
];

export const setSecurityHeaders: RequestHandler = (_req, res, next) => {
  for (const [name, value] of securityHeaders) res.setHeader(name, value);
  next();
};
