/**
 * 405 with an Allow header for a known path asked with another method (GET /api/auth/login),
 * instead of a 404 that says the path does not exist. The routes and their methods come from
 * the OpenAPI document, which a test keeps equal to the router.
 */
import type { RequestHandler } from 'express';
import { AppError } from '../errors.js';

const httpMethods = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

interface KnownPath {
  pattern: RegExp;
  allow: string;
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `/api/auth/sessions/{id}` → a pattern where each `{param}` is one path segment. */
function knownPaths(document: object): KnownPath[] {
  const paths = (document as { paths?: Record<string, Record<string, unknown>> }).paths ?? {};
  return Object.entries(paths).map(([path, item]) => {
    const methods = Object.keys(item).filter((m) => httpMethods.has(m)).map((m) => m.toUpperCase());
    // Express answers HEAD wherever it answers GET.
    if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD');
    const source = path.split(/\{[^}]+\}/).map(escapeRegex).join('[^/]+');
    return { pattern: new RegExp(`^${source}/?$`), allow: methods.join(', ') };
  });
}

/** Mounted after every route: whatever reaches it was not answered by any of them. */
export function methodNotAllowed(openApiDocument: object): RequestHandler {
  const known = knownPaths(openApiDocument);
  return (req, _res, next) => {
    const path = known.find((k) => k.pattern.test(req.path));
    if (!path) return next();
    next(new AppError('method_not_allowed', { message: `${req.method} is not allowed on ${req.path}; use ${path.allow}.`, headers: { Allow: path.allow } }));
  };
}
