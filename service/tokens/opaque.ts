/** Opaque tokens (refresh tokens, one-time link and MFA tokens): random values handed to clients, stored only as hashes. */
import { createHash, randomBytes } from 'node:crypto';

// 32 bytes = 256 bits of entropy, base64url without padding: 43 characters.
const OPAQUE_TOKEN_BYTES = 32;

/** A new random token, 256 bits, base64url. */
export function newOpaqueToken(): string {
  return randomBytes(OPAQUE_TOKEN_BYTES).toString('base64url');
}

/**
 * SHA-256 hex of a token, for storage and look-up. A fast hash suffices (no
 * bcrypt): the input is 256 random bits, not a guessable password.
 */
export function hashOpaqueToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
