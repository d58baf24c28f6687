/**
 * The public JWKS document served at `/.well-known/jwks.json`, so clients can
 * verify access tokens offline. Only public EC parameters are ever copied out.
 */
import type { KeyRing } from './keys.js';

export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
}

export interface Jwks {
  keys: PublicJwk[];
}

/** Every ES256 verification key as a public JWK; an HS256 ring publishes none (its key is a secret). */
export function buildJwks(keyRing: KeyRing): Jwks {
  if (keyRing.algorithm !== 'ES256') return { keys: [] };
  const keys = [...keyRing.verificationKeys.values()].map(({ kid, key }): PublicJwk => {
    // Pick the public members by name rather than spreading the export, so a
    // private key slipping in could never leak its `d`.
    const { x, y } = key.export({ format: 'jwk' });
    if (typeof x !== 'string' || typeof y !== 'string') {
      throw new Error(`verification key ${kid} is not an EC public key`);
    }
    return { kty: 'EC', crv: 'P-256', x, y, kid, alg: 'ES256', use: 'sig' };
  });
  return { keys };
}
