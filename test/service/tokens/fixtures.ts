import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { AppError } from '../../../service/errors.js';

/** A fresh EC key pair on the given curve, as PEMs. */
export function ecKeyPair(namedCurve = 'P-256'): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

export function rsaPrivatePem(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** A secret like the guide's `openssl rand -base64 32`. */
export function newSecret(): string {
  return randomBytes(32).toString('base64');
}

/** The error `fn` throws, so a test can assert on it; fails if nothing is thrown. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw, it returned');
}

/** The error code and status of an AppError thrown by `fn`. */
export function appErrorOf(fn: () => unknown): { code: string; status: number } {
  const err = thrownBy(fn);
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`);
  return { code: err.code, status: err.status };
}
