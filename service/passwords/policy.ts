/**
 * What a new password must satisfy: 8 to 72 UTF-8 bytes, and not one of the
 * 10,000 most common passwords (NIST SP 800-63B §5.1.1.2, OWASP password storage).
 */
import { dictionary } from '@zxcvbn-ts/language-common';
import { AppError } from '../errors.js';

export const MIN_PASSWORD_BYTES = 8;
// bcrypt ignores every byte past 72: refuse longer passwords, don't truncate
// them, or two different passwords would match the same hash (OWASP).
export const MAX_PASSWORD_BYTES = 72;
export const COMMON_PASSWORD_COUNT = 10_000;

// zxcvbn-ts's `passwords-common` list is ordered by frequency in leaked-password
// corpora, most common first, and is all lower case.
const commonPasswords: ReadonlySet<string> = new Set(
  dictionary['passwords-common'].slice(0, COMMON_PASSWORD_COUNT).map((p) => p.toLowerCase()),
);

/** Case-insensitive: "Password1" is as guessable as "password1". */
export function isCommonPassword(password: string): boolean {
  return commonPasswords.has(password.toLowerCase());
}

/** Throws AppError `password_too_short`, `password_too_long` or `password_too_common`. */
export function checkPassword(password: string, field = 'password'): void {
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes < MIN_PASSWORD_BYTES) throw new AppError('password_too_short', { details: { field } });
  if (bytes > MAX_PASSWORD_BYTES) throw new AppError('password_too_long', { details: { field } });
  if (isCommonPassword(password)) throw new AppError('password_too_common', { details: { field } });
}
