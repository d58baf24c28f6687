/**
 * bcrypt hashing through the async API, so the work runs on libuv's thread pool
 * and never blocks the event loop.
 */
import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import { AppError } from '../errors.js';
import { MAX_PASSWORD_BYTES } from './policy.js';

// bcrypt's cost is log2 of the rounds; node-bcrypt accepts 4..31.
const MIN_COST = 4;
const MAX_COST = 31;

export interface PasswordHasherOptions {
  /** bcrypt cost factor (the product's default is 12; tests use 4). */
  cost: number;
}

export interface PasswordHasher {
  /** Throws AppError `password_too_long` rather than hash a truncated password. */
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
  /**
   * Spends the same time as `verify` and always answers false: call it when the
   * account does not exist, so that answer cannot be told apart by timing.
   */
  verifyAgainstDummy(password: string): Promise<false>;
}

export function createPasswordHasher({ cost }: PasswordHasherOptions): PasswordHasher {
  if (!Number.isInteger(cost) || cost < MIN_COST || cost > MAX_COST) {
    throw new RangeError(`bcrypt cost must be an integer from ${MIN_COST} to ${MAX_COST}, got ${cost}`);
  }

  // Computed once, at the same cost, as soon as the hasher exists: the first
  // unknown-user login must not pay for it and stand out by taking twice as long.
  const dummyHash = bcrypt.hash(randomBytes(32).toString('base64url'), cost);
  dummyHash.catch(() => undefined); // surfaced by verifyAgainstDummy, not as an unhandled rejection

  async function hash(password: string): Promise<string> {
    if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) throw new AppError('password_too_long');
    return bcrypt.hash(password, cost);
  }

  async function verify(password: string, hash: string): Promise<boolean> {
    const matches = await bcrypt.compare(password, hash);
    // bcrypt would accept a longer password whose first 72 bytes match: never let
    // it through. Checked after compare so the answer takes the usual time.
    return matches && Buffer.byteLength(password, 'utf8') <= MAX_PASSWORD_BYTES;
  }

  async function verifyAgainstDummy(password: string): Promise<false> {
    await bcrypt.compare(password, await dummyHash);
    return false;
  }

  return { hash, verify, verifyAgainstDummy };
}
