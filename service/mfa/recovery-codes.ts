/**
 * Recovery codes: ten single-use codes shown once when the second factor is
 * turned on, stored only as SHA-256 hashes. Each carries 80 random bits, so a
 * fast hash is enough (as for opaque tokens): no table of guesses covers 2^80.
 */
import { createHash, randomBytes } from 'node:crypto';
import { base32Encode } from './totp.js';

export const RECOVERY_CODE_COUNT = 10;

/** Ten codes like `k7qm-2xgp-9wd4-hn3c`: 16 base32 characters (80 bits) in groups of four. */
export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => base32Encode(randomBytes(10)).toLowerCase().match(/.{4}/g)!.join('-'));
}

/** Codes are typed by hand: case, spaces and dashes do not matter. */
export function normalizeRecoveryCode(input: string): string | undefined {
  const code = input.replace(/[\s-]/g, '').toLowerCase();
  return /^[a-z2-7]{16}$/.test(code) ? code : undefined;
}

export function hashRecoveryCode(normalized: string): string {
  return createHash('sha256').update(normalized, 'utf8').digest('hex');
}

/** The hashes stored for codes `newRecoveryCodes` made. */
export function recoveryCodeHashes(codes: readonly string[]): string[] {
  return codes.map((code) => hashRecoveryCode(normalizeRecoveryCode(code)!));
}
