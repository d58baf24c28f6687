/** Request-body validation: wrong types and missing fields become a 400 that names the field. */
import type { Request } from 'express';
import { z } from 'zod';
import { AppError } from '../errors.js';

// RFC 5321: 254 characters is the longest deliverable address.
const email = z
  .string({ error: 'must be a string' })
  .trim()
  .max(254, { error: 'must be at most 254 characters' })
  .toLowerCase()
  .pipe(z.email({ error: 'is not a valid email address' }))
  .meta({ format: 'email', examples: ['ada@example.com'] });

// Control characters (C0, DEL, C1) have no place in a name, and PostgreSQL's text refuses NUL outright.
// Spelled as \u ranges, not \p{Cc}: the pattern is published in /openapi.json for any regex engine.
const name = z
  .string({ error: 'must be a string' })
  .trim()
  .min(1, { error: 'must not be empty' })
  .max(100, { error: 'must be at most 100 characters' })
  .regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, { error: 'must not contain control characters' });
// Length rules for passwords live in passwords/policy.ts (bytes, not characters); here only the type.
const password = z.string({ error: 'must be a string' }).max(4096, { error: 'is far too long' })
  .meta({ description: '8 to 72 UTF-8 bytes, not one of the 10,000 most common passwords (checked after the type).' });

// Opaque tokens are 43 characters; 512 leaves room and refuses what cannot be one.
const token = (what: string) => z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).max(512, { error: `is not ${what}` });
// A 6-digit TOTP code or a recovery code (16 characters, dashes and spaces allowed).
const code = z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).max(64, { error: 'is not a code' });

export const schemas = {
  register: z.strictObject({ email, password, first_name: name, last_name: name }),
  login: z.strictObject({ email, password }),
  refresh: z.strictObject({ refresh_token: token('a refresh token') }),
  verifyEmail: z.strictObject({ token: token('a verification token') }),
  email: z.strictObject({ email }),
  resetPassword: z.strictObject({ token: token('a reset token'), password }),
  changePassword: z.strictObject({ current_password: password, new_password: password }),
  totpConfirm: z.strictObject({ code }),
  totpEnable: z.strictObject({ code, password }),
  totpDisable: z.strictObject({ password }),
  mfaVerify: z.strictObject({ mfa_token: token('an MFA token'), code }),
};

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let value = body;
  for (const key of path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

/** Parses `req.body` with `schema`, or throws the catalogue error that says what is wrong. */
export function parseBody<S extends z.ZodType>(req: Request, schema: S): z.infer<S> {
  if (req.body === undefined) {
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (hasBody && !req.is('application/json')) throw new AppError('unsupported_media_type');
    throw new AppError('invalid_request', { message: 'A JSON object body is required.' });
  }
  const result = schema.safeParse(req.body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.join(', ');
    throw new AppError('invalid_request', { message: `Unknown field(s): ${keys}.`, details: { fields: issue.keys } });
  }
  if (field === '') throw new AppError('invalid_request', { message: 'The body must be a JSON object.' });
  const code = field === 'email' && issue.code !== 'invalid_type' ? 'invalid_email' : 'invalid_request';
  const missing = issue.code === 'invalid_type' && valueAt(req.body, issue.path) === undefined;
  throw new AppError(code, { message: missing ? `${field}: is required.` : `${field}: ${issue.message}.`, details: { field } });
}
