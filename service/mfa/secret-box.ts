/**
 * TOTP secrets encrypted at rest with AES-256-GCM (node:crypto), stored as
 * `v1.<kid>.<iv>.<ciphertext+tag>` in base64url. The user id, the version and
 * the kid are additional authenticated data: a ciphertext copied into another
 * user's row, or relabelled with another kid, fails to decrypt instead of
 * handing that user somebody else's secret.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { TotpKeyRing } from './encryption-keys.js';

const VERSION = 'v1';
// NIST SP 800-38D §8.2.2: random 96-bit IVs keep GCM safe for 2^32 encryptions under one key,
// far beyond one secret per enrollment (and each rotation starts the count again).
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type OpenedSecret = { ok: true; secret: string; kid: string };
/** Why a stored value did not decrypt; `kid` when the value named one. */
export type SecretFailure = { ok: false; reason: 'unknown_key' | 'does_not_decrypt' | 'malformed'; kid?: string };

/** Whether `stored` is in the encrypted form at all (a secret from before encryption is bare base32). */
export function isSealed(stored: string): boolean {
  return stored.startsWith(`${VERSION}.`);
}

function additionalData(kid: string, userId: string): Buffer {
  return Buffer.from(`keyward totp secret\0${VERSION}.${kid}\0${userId}`, 'utf8');
}

/** Encrypts `secret` for `userId`'s row with the ring's current key. */
export function sealSecret(ring: TotpKeyRing, userId: string, secret: string): string {
  const { kid, key } = ring.current;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(kid, userId));
  const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return [VERSION, kid, iv.toString('base64url'), sealed.toString('base64url')].join('.');
}

/** Decrypts a value `sealSecret` wrote for the same user, with whichever ring key has its kid. */
export function openSecret(ring: TotpKeyRing, userId: string, stored: string): OpenedSecret | SecretFailure {
  const parts = stored.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION) return { ok: false, reason: 'malformed' };
  const [, kid = '', ivText = '', sealedText = ''] = parts;
  const ringKey = ring.keys.get(kid);
  if (!ringKey) return { ok: false, reason: 'unknown_key', kid };
  const iv = Buffer.from(ivText, 'base64url');
  const sealed = Buffer.from(sealedText, 'base64url');
  if (iv.length !== IV_BYTES || sealed.length <= TAG_BYTES) return { ok: false, reason: 'malformed', kid };
  try {
    const decipher = createDecipheriv('aes-256-gcm', ringKey.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(kid, userId));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const secret = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    return { ok: true, secret, kid };
  } catch {
    // GCM's tag check failed: another user's row, an edited value, or a key that shares a kid by accident.
    return { ok: false, reason: 'does_not_decrypt', kid };
  }
}
