/**
 * The key ring that signs and verifies access tokens: exactly one signing key and
 * any number of verification keys, each known by a `kid`. PEMs and secrets are
 * parsed once here into KeyObjects, so verification on the hot path never re-parses.
 * Rotation procedure: ./README.md.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPair,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { readOrCreateKeyFile } from '../util/key-file.js';

export type KeyAlgorithm = 'ES256' | 'HS256';

export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ES256', 'HS256'];

/** What the configuration loader passes to `loadKeyRing`. */
export interface KeyRingConfig {
  /** ES256 (default: EC P-256 key pair) or HS256 (a shared secret, the guide's `jwt-secret`). */
  algorithm: KeyAlgorithm;
  /** ES256: the PEM private key (PKCS#8 or SEC1, curve P-256) that signs new tokens. */
  signingKeyPem?: string;
  /**
   * ES256: further PEM keys (public SPKI, or private) that are accepted for
   * verification only — the next key before it signs, the previous one after.
   * Blank entries are ignored.
   */
  verificationKeyPems?: string[];
  /** HS256: the shared secret (at least 32 bytes) that signs and verifies. */
  secret?: string;
  /** HS256: further secrets accepted for verification only, as above. Blank entries are ignored. */
  verificationSecrets?: string[];
}

export interface RingKey {
  readonly kid: string;
  /** ES256 signing: private; ES256 verification: public; HS256: secret. */
  readonly key: KeyObject;
}

export interface KeyRing {
  readonly algorithm: KeyAlgorithm;
  readonly signingKey: RingKey;
  /** Every key that verifies, the signing key's included, by kid. */
  readonly verificationKeys: ReadonlyMap<string, RingKey>;
}

/** A configuration error; `field` names the KeyRingConfig field at fault, e.g. `verificationKeyPems[1]`. */
export class KeyRingConfigError extends Error {
  readonly field: string;

  constructor(field: string, message: string, options: { cause?: unknown } = {}) {
    super(`${field}: ${message}`, options);
    this.name = 'KeyRingConfigError';
    this.field = field;
  }
}

// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits).
// The guide's `openssl rand -base64 32` yields 44 characters.
const MIN_SECRET_BYTES = 32;

/** Builds the ring from configuration; throws KeyRingConfigError naming the field that is wrong. */
export function loadKeyRing(config: KeyRingConfig): KeyRing {
  if (!KEY_ALGORITHMS.includes(config.algorithm)) {
    throw new KeyRingConfigError('algorithm', `must be one of ${KEY_ALGORITHMS.join(', ')}, got ${JSON.stringify(config.algorithm)}`);
  }
  return config.algorithm === 'ES256' ? loadEs256(config) : loadHs256(config);
}

function loadEs256(config: KeyRingConfig): KeyRing {
  refuseField(config.secret, 'secret', 'is only used with HS256; the algorithm is ES256');
  refuseField(config.verificationSecrets, 'verificationSecrets', 'are only used with HS256; the algorithm is ES256');
  if (!present(config.signingKeyPem)) {
    throw new KeyRingConfigError('signingKeyPem', 'is required for ES256 (a PEM EC P-256 private key)');
  }
  const privateKey = parseEcPrivateKey(config.signingKeyPem, 'signingKeyPem');
  const signingPublic = createPublicKey(privateKey);
  const signingKey: RingKey = { kid: ecThumbprint(signingPublic), key: privateKey };

  const verificationKeys = new Map<string, RingKey>([[signingKey.kid, { kid: signingKey.kid, key: signingPublic }]]);
  (config.verificationKeyPems ?? []).forEach((pem, i) => {
    if (!present(pem)) return; // a blank entry (an emptied list variable) means no key
    const key = parseEcPublicKey(pem, `verificationKeyPems[${i}]`);
    const kid = ecThumbprint(key);
    verificationKeys.set(kid, { kid, key });
  });
  return { algorithm: 'ES256', signingKey, verificationKeys };
}

function loadHs256(config: KeyRingConfig): KeyRing {
  refuseField(config.signingKeyPem, 'signingKeyPem', 'is only used with ES256; the algorithm is HS256');
  refuseField(config.verificationKeyPems, 'verificationKeyPems', 'are only used with ES256; the algorithm is HS256');
  const signingKey = secretKey(config.secret, 'secret');
  const verificationKeys = new Map<string, RingKey>([[signingKey.kid, signingKey]]);
  (config.verificationSecrets ?? []).forEach((secret, i) => {
    if (!present(secret)) return; // a blank entry (an emptied list variable) means no key
    const key = secretKey(secret, `verificationSecrets[${i}]`);
    verificationKeys.set(key.kid, key);
  });
  return { algorithm: 'HS256', signingKey, verificationKeys };
}

function secretKey(secret: string | undefined, field: string): RingKey {
  if (!present(secret)) {
    throw new KeyRingConfigError(field, 'is required for HS256 (a random secret, e.g. `openssl rand -base64 32`)');
  }
  const bytes = Buffer.from(secret, 'utf8');
  if (bytes.length < MIN_SECRET_BYTES) {
    // Only the length is reported, never the secret.
    throw new KeyRingConfigError(field, `must be at least ${MIN_SECRET_BYTES} bytes for HS256, got ${bytes.length}`);
  }
  return { kid: secretKid(bytes), key: createSecretKey(bytes) };
}

/**
 * A secret's kid: a prefix of a domain-separated SHA-256. It adds nothing to what
 * an attacker holding a token could already test offline against its HMAC.
 */
function secretKid(secret: Buffer): string {
  const digest = createHash('sha256').update('keyward HS256 kid\0').update(secret).digest('base64url');
  return `hs256-${digest.slice(0, 16)}`;
}

/** RFC 7638 JWK thumbprint of an EC public key: SHA-256 over {crv, kty, x, y} in that order. */
export function ecThumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

function parseEcPrivateKey(pem: string, field: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: normalisePem(pem), format: 'pem' });
  } catch (cause) {
    throw new KeyRingConfigError(field, 'is not a PEM private key (expected "-----BEGIN PRIVATE KEY-----" or "-----BEGIN EC PRIVATE KEY-----")', { cause });
  }
  requireP256(key, field);
  return key;
}

function parseEcPublicKey(pem: string, field: string): KeyObject {
  let key: KeyObject;
  try {
    // Accepts public SPKI PEMs and private PEMs alike (the public half is derived).
    key = createPublicKey({ key: normalisePem(pem), format: 'pem' });
  } catch (cause) {
    throw new KeyRingConfigError(field, 'is not a PEM key (expected "-----BEGIN PUBLIC KEY-----")', { cause });
  }
  requireP256(key, field);
  return key;
}

function requireP256(key: KeyObject, field: string): void {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    const found = key.asymmetricKeyType === 'ec' ? `an EC key on ${curve ?? 'an unknown curve'}` : `a ${key.asymmetricKeyType ?? 'non-asymmetric'} key`;
    throw new KeyRingConfigError(field, `must be an EC P-256 key for ES256, got ${found}`);
  }
}

// PEMs passed through environment variables often arrive with literal "\n" sequences.
function normalisePem(pem: string): string {
  return pem.includes('\\n') ? pem.replace(/\\n/g, '\n') : pem;
}

function present(value: string | undefined): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function refuseField(value: string | string[] | undefined, field: string, message: string): void {
  const set = Array.isArray(value) ? value.some(present) : present(value);
  if (set) throw new KeyRingConfigError(field, message);
}

export interface DevelopmentKeys {
  /** PKCS#8 PEM private key; pass as `signingKeyPem`. */
  signingKeyPem: string;
  /** SPKI PEM public key. */
  publicKeyPem: string;
  /** Where the private key lives. */
  path: string;
  /** True when this call generated the key, false when it reused one. */
  created: boolean;
}

export const DEVELOPMENT_KEY_FILE = 'jwt-signing-key.pem';

const generateEcKeyPair = promisify(generateKeyPair);

/**
 * For the embedded development mode: creates an ES256 key pair in `dir` once
 * (mode 0600) and reuses it afterwards, so tokens survive restarts. Safe when two
 * processes start at once: the file appears atomically and the first one wins.
 */
export async function generateDevelopmentKeys(dir: string): Promise<DevelopmentKeys> {
  const file = await readOrCreateKeyFile(dir, DEVELOPMENT_KEY_FILE, async () => {
    const { privateKey } = await generateEcKeyPair('ec', { namedCurve: 'P-256' });
    return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  });
  return developmentKeys(file.content, file.path, file.created);
}

function developmentKeys(signingKeyPem: string, path: string, created: boolean): DevelopmentKeys {
  const privateKey = parseEcPrivateKey(signingKeyPem, path);
  const publicKeyPem = createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();
  return { signingKeyPem, publicKeyPem, path, created };
}
