/**
 * JSON Schemas (2020-12, as OpenAPI 3.1 uses) of what the API answers. Request
 * bodies are not here: they are generated from the zod schemas that validate
 * them (http/validate.ts), so the document cannot drift from the validation.
 */
import { catalogue, type ErrorCode } from '../../errors.js';

export type JsonSchema = Record<string, unknown>;

const string = { type: 'string' } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const object = (properties: Record<string, JsonSchema>, required = Object.keys(properties)): JsonSchema =>
  ({ type: 'object', properties, required, additionalProperties: false });
export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

const check = object({
  status: { enum: ['healthy', 'degraded', 'unhealthy', 'disabled'] },
  latency_ms: { type: 'number', minimum: 0 },
  details: { type: ['string', 'null'] },
});

export const componentSchemas: Record<string, JsonSchema> = {
  User: object({
    id: { type: 'string', format: 'uuid' },
    email: { type: 'string', format: 'email' },
    first_name: string,
    last_name: string,
    email_verified: { type: 'boolean' },
    created_at: dateTime,
  }),
  TokenPair: object({
    access_token: { type: 'string', description: 'JWT, ES256 (or HS256), verifiable with /.well-known/jwks.json' },
    refresh_token: { type: 'string', description: 'Opaque, 256 bits, single-use: every refresh returns a new one' },
    token_type: { const: 'Bearer' },
    expires_in: { type: 'integer', description: 'Seconds until the access token expires' },
  }),
  Session: object({
    access_token: string,
    refresh_token: string,
    token_type: { const: 'Bearer' },
    expires_in: { type: 'integer' },
    user: ref('User'),
  }),
  MfaChallenge: object({
    mfa_required: { const: true },
    mfa_token: { type: 'string', description: 'Single-use, short-lived; send it with a code to /api/auth/mfa/verify' },
    expires_in: { type: 'integer' },
  }),
  VerificationPending: object({ verification_required: { const: true }, email: { type: 'string', format: 'email' } }),
  Accepted: object({ status: { const: 'accepted' }, message: string }),
  SessionInfo: object({
    id: { type: 'string', format: 'uuid' },
    created_at: dateTime,
    last_used_at: dateTime,
    ip: { type: ['string', 'null'] },
    user_agent: { type: ['string', 'null'] },
    current: { type: 'boolean', description: 'The session of the access token that asked' },
  }),
  TotpEnrollment: object({
    secret: { type: 'string', pattern: '^[A-Z2-7]+$', description: 'Base32, for typing into an authenticator app' },
    otpauth_uri: { type: 'string', pattern: '^otpauth://totp/', description: 'For a QR code' },
  }),
  RecoveryCodes: object({
    recovery_codes: { type: 'array', items: string, minItems: 10, maxItems: 10, description: 'Shown once; each works once' },
  }),
  Error: object({
    error: object(
      { code: { enum: Object.keys(catalogue) }, message: string, request_id: string, details: { type: 'object' } },
      ['code', 'message', 'request_id'],
    ),
  }),
  Health: object({
    status: { enum: ['healthy', 'degraded', 'unhealthy'] },
    timestamp: dateTime,
    version: string,
    checks: object({ database: check, cache: check, email: check }),
  }),
  Probe: object({ status: string, details: string }, ['status']),
  Jwks: object({
    keys: {
      type: 'array',
      items: object({ kty: { const: 'EC' }, crv: { const: 'P-256' }, x: string, y: string, kid: string, alg: { const: 'ES256' }, use: { const: 'sig' } }),
    },
  }),
};

/** The error body narrowed to the codes one response can carry. */
export function errorSchema(codes: readonly ErrorCode[]): JsonSchema {
  return object({
    error: object({ code: { enum: [...codes] }, message: string, request_id: string, details: { type: 'object' } }, ['code', 'message', 'request_id']),
  });
}
