/**
 * The keys that encrypt TOTP secrets at rest: one current key that encrypts,
 * older ones that only decrypt (during a rotation), each known by a kid derived
 * from the key itself, so every replica and every restart agree on it without
 * configuration. Rotation procedure: ./README.md.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from '../logging/logger.js';
import { readOrCreateKeyFile } from '../util/key-file.js';

export interface TotpKey {
  readonly kid: string;
  /** 32 bytes, for AES-256-GCM. */
  readonly key: Buffer;
}

export interface TotpKeyRing {
  /** Encrypts every secret written from now on. */
  readonly current: TotpKey;
  /** Every key that decrypts, the current one included, by kid. */
  readonly keys: ReadonlyMap<string, TotpKey>;
}

export const TOTP_KEY_BYTES = 32;

/**
 * 16 hex characters: the first 8 bytes of a domain-separated SHA-256 of the key.
 * A prefix of a hash of 256 random bits tells nothing about them; the prefix
 * keeps the kid apart from the same bytes used as some other secret.
 */
export function totpKid(key: Buffer): string {
  return createHash('sha256').update('keyward totp encryption key\0').update(key).digest().subarray(0, 8).toString('hex');
}

export function totpKeyRing(current: Buffer, previous: readonly Buffer[] = []): TotpKeyRing {
  const ringKey = (key: Buffer): TotpKey => {
    // The configuration loader already refuses other lengths; this guards other callers.
    if (key.length !== TOTP_KEY_BYTES) throw new RangeError(`a TOTP encryption key is ${TOTP_KEY_BYTES} bytes, got ${key.length}`);
    return { kid: totpKid(key), key };
  };
  const currentKey = ringKey(current);
  const keys = new Map<string, TotpKey>(previous.map((key) => ringKey(key)).map((k) => [k.kid, k]));
  keys.set(currentKey.kid, currentKey);
  return { current: currentKey, keys };
}

export const DEVELOPMENT_TOTP_KEY_FILE = 'totp-encryption-key';

/** For development: a key created once in `dir` (base64, mode 0600) and reused afterwards, as the JWT signing key is. */
export async function developmentTotpKey(dir: string): Promise<{ key: Buffer; path: string; created: boolean }> {
  const file = await readOrCreateKeyFile(dir, DEVELOPMENT_TOTP_KEY_FILE, () => `${randomBytes(TOTP_KEY_BYTES).toString('base64')}\n`);
  const key = Buffer.from(file.content.trim(), 'base64');
  if (key.length !== TOTP_KEY_BYTES) throw new Error(`${file.path}: expected ${TOTP_KEY_BYTES} bytes in base64, got ${key.length}; delete the file to have a new key made`);
  return { key, path: file.path, created: file.created };
}

export interface TotpKeySettings {
  encryptionKey: Buffer | undefined;
  previousEncryptionKeys: readonly Buffer[];
  production: boolean;
  dataDir: string;
}

/**
 * The ring this process uses. Without TOTP_ENCRYPTION_KEY: a development key
 * outside production; in production none (undefined), so MFA answers 503
 * `mfa_unavailable` — the service still serves everyone without a second factor,
 * rather than failing its rollout over a feature only some accounts use.
 */
export async function loadTotpKeyRing(settings: TotpKeySettings, logger: Logger): Promise<TotpKeyRing | undefined> {
  if (settings.encryptionKey !== undefined) return totpKeyRing(settings.encryptionKey, settings.previousEncryptionKeys);
  if (settings.production) {
    logger.warn('TOTP_ENCRYPTION_KEY is not set: MFA enrollment answers 503 mfa_unavailable, and so does verification of any encrypted secret; secrets an earlier version stored in plaintext still work, unencrypted, until a key is set. Set it to 32 random bytes in base64 (openssl rand -base64 32)');
    return undefined;
  }
  const dev = await developmentTotpKey(settings.dataDir);
  logger.warn(
    `DEVELOPMENT TOTP ENCRYPTION KEY in use (${dev.path}${dev.created ? ', just generated' : ''}): set TOTP_ENCRYPTION_KEY before serving real users; with NODE_ENV=production, MFA is unavailable without it`,
  );
  return totpKeyRing(dev.key);
}
