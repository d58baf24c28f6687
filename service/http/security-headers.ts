/**
 * The headers every response starts with, worked out once at start-up: helmet's security
 * headers and `Cache-Control: no-store`. The Express app sets them from this list, and the fast
 * path of `me` (fast-me.ts) writes the same list without a middleware, so the two can never
 * disagree.
 */
import type { RequestHandler } from 'express';
import helmet from 'helmet';

export type HeaderList = readonly (readonly [name: string, value: string])[];

/**
 * What a helmet middleware sets, read by running it once against a recorder. helmet's headers
 * depend on its options only, never on the request (no nonces are configured), so one run
 * tells them all.
 */
export function headersOf(middleware: ReturnType<typeof helmet>): HeaderList {
  const headers: [string, string][] = [];
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => headers.push([name, String(value)]),
    removeHeader: () => undefined,
  };
  let failure: unknown;
  // The casts: helmet needs only setHeader and removeHeader of a response, which the recorder has.
  middleware({} as Parameters<typeof middleware>[0], recorder as unknown as Parameters<typeof middleware>[1], (err?: unknown) => (failure = err));
  if (failure !== undefined) throw failure;
  return headers;
}

export const securityHeaders: HeaderList = [
  ...headersOf(helmet()),
  // Answers carry tokens, profiles and session lists: no cache, private or shared, may keep one
  // (RFC 9111 5.2.2.5; RFC 6749 5.1 asks the same of token responses). A route whose answer is
  // public and may be kept (the JWKS) sets its own.
  ['Cache-Control', 'no-store'],
];

export const setSecurityHeaders: RequestHandler = (_req, res, next) => {
  for (const [name, value] of securityHeaders) res.setHeader(name, value);
  next();
};
