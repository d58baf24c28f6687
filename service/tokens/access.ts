/**
 * Short-lived JWT access tokens. Verification is on the hot path of
 * `GET /api/auth/me`: keys are KeyObjects parsed once by the key ring, the key is
 * picked by `kid` from a Map, and the accepted algorithm is pinned to the ring's.
 */
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { LRUCache } from 'lru-cache';
import { AppError } from '../errors.js';
import type { KeyRing } from './keys.js';

/** Skew allowed between our clock and the one that signed, for `exp` and `nbf` (at most 30 s per the spec). */
export const CLOCK_TOLERANCE_SECONDS = 30;

// Our tokens are a few hundred characters; anything much longer is not one of
// ours and is refused before any parsing or signature work.
const MAX_TOKEN_LENGTH = 4096;

export interface AccessTokenOptions {
  keyRing: KeyRing;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  /** Milliseconds since the epoch; defaults to Date.now. */
  now?: () => number;
  /**
   * Verified tokens remembered, so a client calling `me` again with the same token
   * skips the signature check (as Envoy's JWT filter does with its cache). 0 turns it off.
   */
  verifiedCacheSize?: number;
}

export interface AccessTokenSubject {
  /** The user id. */
  sub: string;
  /** The session id, checked against revocations so logout takes effect at once. */
  sid: string;
}

export interface SignedAccessToken {
  token: string;
  /** Seconds until the token expires (the `expires_in` of the API). */
  expiresIn: number;
}

export interface AccessTokenClaims extends AccessTokenSubject {
  iss: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
}

export interface AccessTokens {
  sign(subject: AccessTokenSubject): SignedAccessToken;
  /** Returns the claims of a valid token; throws AppError `token_expired` or `invalid_token`. */
  verify(token: string): AccessTokenClaims;
  /**
   * The claims of a token this process has verified before and that has not expired, or
   * undefined: no signature is checked and nothing is thrown (the fast path of `me`).
   */
  remembered(token: string): AccessTokenClaims | undefined;
}

export function createAccessTokens(options: AccessTokenOptions): AccessTokens {
  const { keyRing, issuer, audience, ttlSeconds } = options;
  const now = options.now ?? Date.now;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
  }
  const algorithms = [keyRing.algorithm];
  const { kid: signingKid, key: signingKey } = keyRing.signingKey;

  function sign({ sub, sid }: AccessTokenSubject): SignedAccessToken {
    if (!isNonEmptyString(sub) || !isNonEmptyString(sid)) {
      throw new TypeError('sub and sid must be non-empty strings');
    }
    const iat = Math.floor(now() / 1000);
    const payload = { iss: issuer, aud: audience, sub, sid, iat, exp: iat + ttlSeconds, jti: randomUUID() };
    const token = jwt.sign(payload, signingKey, { algorithm: keyRing.algorithm, keyid: signingKid });
    return { token, expiresIn: ttlSeconds };
  }

  // Keyed by the whole token, so only the exact bytes that verified are trusted; expiry is
  // still checked on every use. Revocation is not this cache's concern: `me` checks the session.
  const verified = new LRUCache<string, AccessTokenClaims>({ max: Math.max(1, options.verifiedCacheSize ?? 10_000) });
  const cacheVerified = (options.verifiedCacheSize ?? 10_000) > 0;

  function remembered(token: string): AccessTokenClaims | undefined {
    const claims = cacheVerified ? verified.get(token) : undefined;
    if (claims === undefined || claims.exp + CLOCK_TOLERANCE_SECONDS >= Math.floor(now() / 1000)) return claims;
    verified.delete(token);
    return undefined;
  }

  function verify(token: string): AccessTokenClaims {
    const known = remembered(token);
    if (known) return known;
    const claims = verifySignature(token);
    if (cacheVerified) verified.set(token, claims);
    return claims;
  }

  function verifySignature(token: string): AccessTokenClaims {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) {
      throw new AppError('invalid_token', { cause: new Error('token missing or too long') });
    }
    const kid = headerKid(token);
    const entry = kid === undefined ? undefined : keyRing.verificationKeys.get(kid);
    if (entry === undefined) {
      throw new AppError('invalid_token', { cause: new Error(kid === undefined ? 'no kid in the token header' : 'unknown kid') });
    }
    let payload: unknown;
    try {
      payload = jwt.verify(token, entry.key, {
        algorithms, // pinned: never `none`, never another family than the ring's
        issuer,
        audience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        clockTimestamp: Math.floor(now() / 1000),
      });
    } catch (cause) {
      if (cause instanceof jwt.TokenExpiredError) throw new AppError('token_expired', { cause });
      throw new AppError('invalid_token', { cause });
    }
    return claimsOf(payload);
  }

  return { sign, verify, remembered };
}

/** The header's kid, read without verifying anything (the signature is checked next, with that key). */
function headerKid(token: string): string | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8'));
    if (typeof header !== 'object' || header === null || !('kid' in header)) return undefined;
    return typeof header.kid === 'string' ? header.kid : undefined;
  } catch {
    return undefined;
  }
}

/** jsonwebtoken checks only the claims that are present; ours are all required. */
function claimsOf(payload: unknown): AccessTokenClaims {
  if (typeof payload === 'object' && payload !== null) {
    const { iss, aud, sub, sid, iat, exp, jti } = payload as Partial<Record<keyof AccessTokenClaims, unknown>>;
    if (
      isNonEmptyString(iss) && isNonEmptyString(aud) && isNonEmptyString(sub) && isNonEmptyString(sid) &&
      isNonEmptyString(jti) && isFiniteNumber(iat) && isFiniteNumber(exp)
    ) {
      return { iss, aud, sub, sid, jti, iat, exp };
    }
  }
  throw new AppError('invalid_token', { cause: new Error('a required claim is missing or malformed') });
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
