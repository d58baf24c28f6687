/**
 * The one catalogue of errors the auth workload answers with. Routes throw
 * `AppError`s; the error middleware renders `{"error": {code, message, request_id}}`.
 * Modelled on fastify's FST_ERR_* catalogue: every code is defined once, with its status.
 */
export const catalogue = {
  invalid_json: { status: 400, message: 'The request body is not valid JSON.' },
  invalid_request: { status: 400, message: 'The request is invalid.' },
  invalid_email: { status: 400, message: 'The email address is not valid.' },
  password_too_short: { status: 400, message: 'The password must be at least 8 bytes long.' },
  password_too_long: { status: 400, message: 'The password must be at most 72 bytes long (UTF-8); it is never truncated.' },
  password_too_common: { status: 400, message: 'The password is one of the most commonly used passwords; choose another.' },
  unsupported_media_type: { status: 415, message: 'The request body must be application/json.' },
  payload_too_large: { status: 413, message: 'The request body is larger than the 16 KiB limit.' },
  invalid_credentials: { status: 401, message: 'The email or password is incorrect.' },
  missing_token: { status: 401, message: 'An access token is required: send "Authorization: Bearer <token>".' },
  invalid_token: { status: 401, message: 'The access token is invalid.' },
  token_expired: { status: 401, message: 'The access token has expired; refresh it.' },
  session_revoked: { status: 401, message: 'The session has been revoked; log in again.' },
  invalid_refresh_token: { status: 401, message: 'The refresh token is invalid, expired or revoked; log in again.' },
  email_taken: { status: 409, message: 'An account with this email address already exists.' },
  // Only ever answered after the right password: it reveals nothing a guesser could use.
  email_not_verified: { status: 403, message: 'The email address is not verified yet; follow the link sent to it or ask for a new one.' },
  invalid_verification_token: { status: 400, message: 'The verification link is invalid, expired or already used; ask for a new one.' },
  invalid_reset_token: { status: 400, message: 'The password reset link is invalid, expired or already used; ask for a new one.' },
  invalid_password: { status: 403, message: 'The current password is incorrect.' },
  password_unchanged: { status: 400, message: 'The new password must differ from the current one.' },
  invalid_mfa_token: { status: 401, message: 'The MFA token is invalid, expired or already used; log in again.' },
  invalid_mfa_code: { status: 401, message: 'The code is incorrect or has already been used.' },
  mfa_already_enabled: { status: 409, message: 'A second factor is already enabled; disable it before enrolling another.' },
  mfa_not_enrolled: { status: 409, message: 'No second factor is waiting for confirmation; enroll first.' },
  mfa_not_enabled: { status: 409, message: 'No second factor is enabled on this account.' },
  // A configuration fault, not the caller's: 503 rather than "wrong code", so nobody is locked out for it.
  mfa_unavailable: { status: 503, message: 'Two-step verification is unavailable: the server has no TOTP_ENCRYPTION_KEY that decrypts the stored secret; retry later.' },
  session_not_found: { status: 404, message: 'No such session on this account.' },
  not_found: { status: 404, message: 'No such route.' },
  method_not_allowed: { status: 405, message: 'This method is not allowed on this route.' },
  rate_limited: { status: 429, message: 'Too many requests; retry later.' },
  service_unavailable: { status: 503, message: 'The service is temporarily unavailable; retry later.' },
  internal_error: { status: 500, message: 'An internal error occurred.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof catalogue;

export interface AppErrorOptions {
  /** Overrides the catalogue message with something more precise (never with secrets). */
  message?: string;
  /** The lower-level error this one wraps; logged, never sent to clients. */
  cause?: unknown;
  /** Extra response headers, for example Retry-After. */
  headers?: Record<string, string>;
  /** Structured detail safe to show clients, for example the offending field. */
  details?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    super(options.message ?? catalogue[code].message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = catalogue[code].status;
    this.headers = options.headers ?? {};
    this.details = options.details;
  }
}

export const isAppError = (err: unknown): err is AppError => err instanceof AppError;
