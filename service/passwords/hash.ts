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

/** The cost of a bcrypt hash (`$2b$12$…` → 12), or undefined for what is not one. */
export function roundsOf(hash: string): number | undefined {
  const match = /^\$2[abxy]?\$(\d{2})\$/.exec(hash);
  return match ? Number(match[1]) : undefined;
}

export interface PasswordHasherOptions {
  /** bcrypt cost factor (the product's default is 12; tests use 4). */
  cost: number;
}

export interface PasswordHasher {
  /** Throws AppError `password_too_long` rather than hash a truncated password. */
  hash(password: string): Promise<string>;
  /**
   * Takes as long as verifying against a hash of this hasher's cost, also for a hash of a lower
   * cost made before BCRYPT_COST was raised: a wrong password for such an account must not answer
   * faster than one for an unknown email, or the difference tells which addresses have accounts.
   */
  verify(password: string, hash: string): Promise<boolean>;
  /** True for a hash of another cost than this hasher's: sign-ins re-hash it (upgradeHash). */
  needsRehash(hash: string): boolean;
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
    if (!matches) await hardenRuntime(password, hash);
    // bcrypt would accept a longer password whose first 72 bytes match: never let
    // it through. Checked after compare so the answer takes the usual time.
    return matches && Buffer.byteLength(password, 'utf8') <= MAX_PASSWORD_BYTES;
  }

  /**
   * Tops a failed comparison against a cheaper hash up to the work of one at this cost, as Django's
   * harden_runtime does: cost c is 2^c rounds, so a hash of cost c needs 2^(cost - c) - 1 more
   * comparisons. A right password needs none; the sign-in it opens re-hashes the account.
   */
  async function hardenRuntime(password: string, hash: string): Promise<void> {
    const rounds = roundsOf(hash);
    if (rounds === undefined || rounds >= cost) return;
    for (let extra = 2 ** (cost - rounds) - 1; extra > 0; extra -= 1) await bcrypt.compare(password, hash);
  }

  async function verifyAgainstDummy(password: string): Promise<false> {
    await bcrypt.compare(password, await dummyHash);
    return false;
  }

  const needsRehash = (hash: string): boolean => {
    const rounds = roundsOf(hash);
    return rounds !== undefined && rounds !== cost;
  };

  return { hash, verify, needsRehash, verifyAgainstDummy };
}
