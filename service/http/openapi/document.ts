/**
 * The OpenAPI 3.1 description of every endpoint, served at GET /openapi.json.
 * A pure function of the version: request bodies come from the zod schemas that
 * validate them, errors from the catalogue, so neither can drift from the code.
 * test/service/http/openapi.test.ts fails when a route and this document disagree,
 * and schemathesis (hack/schemathesis.sh) checks live answers against it.
 */
import { z } from 'zod';
import { catalogue, type ErrorCode } from '../../errors.js';
import { schemas } from '../validate.js';
import { componentSchemas, errorSchema, ref, type JsonSchema } from './schemas.js';

type Method = 'get' | 'post' | 'delete';

interface Operation {
  summary: string;
  tag: 'account' | 'sessions' | 'mfa' | 'operations';
  body?: z.ZodType;
  bearer?: boolean;
  /** Success responses: status → schema (undefined: no body). */
  ok: Record<number, JsonSchema | undefined>;
  errors?: ErrorCode[];
  /** Content type of a non-JSON success body. */
  contentType?: string;
  /** The Cache-Control of its answers, when not the no-store every response starts with (security-headers.ts). */
  cache?: string;
}

// Every JSON-body endpoint can answer these, before its own handler runs (body parser, validation).
const bodyErrors: ErrorCode[] = ['invalid_json', 'invalid_request', 'payload_too_large', 'unsupported_media_type'];
const authErrors: ErrorCode[] = ['missing_token', 'invalid_token', 'token_expired', 'session_revoked'];
const passwordErrors: ErrorCode[] = ['password_too_short', 'password_too_long', 'password_too_common'];
const storage: ErrorCode[] = ['service_unavailable'];

const operations: Record<string, Partial<Record<Method, Operation>>> = {
  '/api/auth/register': {
    post: {
      summary: 'Create an account. 201 with a session; with REQUIRE_EMAIL_VERIFICATION, 202 for new and taken addresses alike.',
      tag: 'account', body: schemas.register,
      ok: { 201: ref('Session'), 202: ref('VerificationPending') },
      errors: ['invalid_email', ...passwordErrors, 'email_taken', 'rate_limited', ...storage],
    },
  },
  '/api/auth/login': {
    post: {
      summary: 'Log in with email and password; with a second factor on, answers an mfa_token instead of a session.',
      tag: 'account', body: schemas.login,
      ok: { 200: { oneOf: [ref('Session'), ref('MfaChallenge')] } },
      errors: ['invalid_email', 'invalid_credentials', 'email_not_verified', 'rate_limited', ...storage],
    },
  },
  '/api/auth/refresh': {
    post: { summary: 'Exchange a refresh token for a new pair (rotation with reuse detection).', tag: 'account', body: schemas.refresh, ok: { 200: ref('TokenPair') }, errors: ['invalid_refresh_token', 'rate_limited', ...storage] },
  },
  '/api/auth/me': {
    get: { summary: 'The caller\'s profile.', tag: 'account', bearer: true, ok: { 200: { type: 'object', properties: { user: ref('User') }, required: ['user'], additionalProperties: false } }, errors: storage },
  },
  '/api/auth/logout': {
    post: { summary: 'Revoke the current session: its access and refresh tokens stop working at once.', tag: 'sessions', bearer: true, ok: { 204: undefined }, errors: storage },
  },
  '/api/auth/logout-all': {
    post: { summary: 'Revoke every session of the account.', tag: 'sessions', bearer: true, ok: { 204: undefined }, errors: storage },
  },
  '/api/auth/verify-email': {
    post: {
      summary: 'Verify the address with the token from the mailed link (single-use, 24 h).',
      tag: 'account', body: schemas.verifyEmail,
      ok: { 200: { type: 'object', properties: { user: ref('User') }, required: ['user'], additionalProperties: false } },
      errors: ['invalid_verification_token', 'rate_limited', ...storage],
    },
  },
  '/api/auth/resend-verification': {
    post: { summary: 'Mail a new verification link. 202 whether or not the address has an account.', tag: 'account', body: schemas.email, ok: { 202: ref('Accepted') }, errors: ['invalid_email', 'rate_limited'] },
  },
  '/api/auth/forgot-password': {
    post: {
      summary: 'Mail a password reset link. 202 at once, the same for every address; limited per address and per client.',
      tag: 'account', body: schemas.email, ok: { 202: ref('Accepted') }, errors: ['invalid_email', 'rate_limited'],
    },
  },
  '/api/auth/reset-password': {
    post: {
      summary: 'Set a new password with the token from the reset link (single-use, 30 min); signs out every session.',
      tag: 'account', body: schemas.resetPassword, ok: { 204: undefined },
      errors: [...passwordErrors, 'invalid_reset_token', 'rate_limited', ...storage],
    },
  },
  '/api/auth/change-password': {
    post: {
      summary: 'Change the password; every other session is signed out, the current one stays.',
      tag: 'account', bearer: true, body: schemas.changePassword,
      ok: { 200: { type: 'object', properties: { other_sessions_revoked: { type: 'integer', minimum: 0 } }, required: ['other_sessions_revoked'], additionalProperties: false } },
      errors: [...passwordErrors, 'password_unchanged', 'invalid_password', 'rate_limited', ...storage],
    },
  },
  '/api/auth/sessions': {
    get: {
      summary: 'The account\'s live sessions, the caller\'s marked `current`.', tag: 'sessions', bearer: true,
      ok: { 200: { type: 'object', properties: { sessions: { type: 'array', items: ref('SessionInfo') } }, required: ['sessions'], additionalProperties: false } },
      errors: storage,
    },
  },
  '/api/auth/sessions/{id}': {
    delete: { summary: 'Sign one session out, at once (its access token included).', tag: 'sessions', bearer: true, ok: { 204: undefined }, errors: ['session_not_found', ...storage] },
  },
  '/api/auth/mfa/totp/enroll': {
    post: { summary: 'Start TOTP enrollment: a secret and its otpauth:// URI. Off until confirmed.', tag: 'mfa', bearer: true, ok: { 200: ref('TotpEnrollment') }, errors: ['email_not_verified', 'mfa_already_enabled', 'mfa_unavailable', ...storage] },
  },
  '/api/auth/mfa/totp/confirm': {
    post: {
      summary: 'Turn the factor on with a code from the app and the password (wrong passwords count toward the lockout); answers ten single-use recovery codes, shown once.',
      tag: 'mfa', bearer: true, body: schemas.totpEnable, ok: { 200: ref('RecoveryCodes') },
      errors: ['email_not_verified', 'invalid_password', 'invalid_mfa_code', 'mfa_not_enrolled', 'mfa_already_enabled', 'mfa_unavailable', 'rate_limited', ...storage],
    },
  },
  '/api/auth/mfa/totp/disable': {
    post: { summary: 'Turn the factor off; needs the password.', tag: 'mfa', bearer: true, body: schemas.totpDisable, ok: { 204: undefined }, errors: ['invalid_password', 'mfa_not_enabled', 'rate_limited', ...storage] },
  },
  '/api/auth/mfa/recovery-codes': {
    post: {
      summary: 'Replace every recovery code with ten new ones, shown once; needs a current TOTP code (not a recovery code), which counts toward the lockout when wrong.',
      tag: 'mfa', bearer: true, body: schemas.totpConfirm, ok: { 200: ref('RecoveryCodes') },
      errors: ['invalid_mfa_code', 'mfa_not_enabled', 'mfa_unavailable', 'rate_limited', ...storage],
    },
  },
  '/api/auth/mfa/verify': {
    post: {
      summary: 'Finish a login: the mfa_token from /login and a TOTP code (once per 30 s period) or a recovery code. Wrong codes count toward the lockout.',
      tag: 'mfa', body: schemas.mfaVerify, ok: { 200: ref('Session') }, errors: ['invalid_mfa_token', 'invalid_mfa_code', 'rate_limited', 'mfa_unavailable', ...storage],
    },
  },
  '/health': {
    get: { summary: 'The guide\'s health report; 503 when the database is down.', tag: 'operations', ok: { 200: ref('Health'), 503: ref('Health') } },
  },
  '/health/live': { get: { summary: 'Liveness probe.', tag: 'operations', ok: { 200: ref('Probe') } } },
  '/health/ready': { get: { summary: 'Readiness probe: 503 while starting, draining or without the database.', tag: 'operations', ok: { 200: ref('Probe'), 503: ref('Probe') } } },
  '/health/startup': { get: { summary: 'Startup probe: 200 once migrations ran.', tag: 'operations', ok: { 200: ref('Probe'), 503: ref('Probe') } } },
  '/metrics': { get: { summary: 'Prometheus metrics (text exposition format).', tag: 'operations', contentType: 'text/plain', ok: { 200: { type: 'string' } } } },
  '/.well-known/jwks.json': { get: { summary: 'Public keys that verify access tokens.', tag: 'operations', cache: 'public, max-age=300', ok: { 200: ref('Jwks') } } },
  '/openapi.json': { get: { summary: 'This document.', tag: 'operations', cache: 'public, max-age=300', ok: { 200: { type: 'object' } } } },
};

const retryAfter = { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'string', pattern: '^[0-9]+$' } } };
const wwwAuthenticate = {
  'WWW-Authenticate': { description: 'The challenge (RFC 7235): Bearer realm="keyward", with error="invalid_token" when a token was refused (RFC 6750)', schema: { type: 'string' } },
};

function requestBody(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as JsonSchema;
  return { required: true, content: { 'application/json': { schema: json } } };
}

function responses(op: Operation): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  const cacheControl = { 'Cache-Control': { description: op.cache ?? 'no-store', schema: { type: 'string' } } };
  for (const [status, schema] of Object.entries(op.ok)) {
    const type = op.contentType ?? 'application/json';
    out[status] = {
      description: schema === undefined ? 'No content' : 'Success',
      headers: cacheControl,
      ...(schema === undefined ? {} : { content: { [type]: { schema } } }),
    };
  }
  const codes = [...(op.body ? bodyErrors : []), ...(op.bearer ? authErrors : []), ...(op.errors ?? [])];
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(catalogue[code].status, [...(byStatus.get(catalogue[code].status) ?? []), code]);
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: list.map((code) => `\`${code}\`: ${catalogue[code].message}`).join(' '),
      headers: { 'Cache-Control': { description: 'no-store', schema: { type: 'string' } }, ...(status === 429 || status === 503 ? retryAfter : {}), ...(status === 401 ? wwwAuthenticate : {}) },
      content: { 'application/json': { schema: errorSchema(list) } },
    };
  }
  return out;
}

export function openApiDocument(version: string): JsonSchema {
  const paths: Record<string, JsonSchema> = {};
  for (const [path, methods] of Object.entries(operations)) {
    const item: JsonSchema = {};
    for (const [method, op] of Object.entries(methods) as [Method, Operation][]) {
      item[method] = {
        operationId: `${method}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
        summary: op.summary,
        tags: [op.tag],
        ...(op.bearer ? { security: [{ bearerAuth: [] }] } : {}),
        ...(path.includes('{id}') ? { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'A session id from GET /api/auth/sessions' }] } : {}),
        ...(op.body ? { requestBody: requestBody(op.body) } : {}),
        responses: responses(op),
      };
    }
    paths[path] = item;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Keyward auth service',
      version,
      description: 'Register, log in, refresh and inspect sessions; verify email, reset and change passwords, TOTP second factor. ' +
        'Every error is {"error": {"code", "message", "request_id"}}.',
    },
    tags: [
      { name: 'account', description: 'Accounts, passwords and email verification' },
      { name: 'sessions', description: 'Sessions and their revocation' },
      { name: 'mfa', description: 'TOTP second factor' },
      { name: 'operations', description: 'Health, metrics and keys' },
    ],
    paths,
    components: {
      schemas: componentSchemas,
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from /login, /register, /refresh or /mfa/verify' } },
    },
  };
}
