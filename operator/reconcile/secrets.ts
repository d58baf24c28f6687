// Which Secret keys the auth service's pods read, and a hash of their values.
// The hash goes into the pod template (deployment.ts), so rotating a Secret
// (the guide's secret-rotation script) is an ordinary new blue/green revision
// rather than a `kubectl rollout restart`.
import type { AuthServiceSpec } from '../api/types.js';
import { stableHash } from './hash.js';

/** One environment variable of the service filled from a Secret key. */
export interface SecretEnvReference {
  env: string;
  secret: string;
  key: string;
  /** The pod starts without it (e.g. no earlier keys to accept yet). */
  optional: boolean;
}

/** The Secret keys the service's container reads, in a stable order. */
export function podSecretReferences(spec: AuthServiceSpec): SecretEnvReference[] {
  const refs: SecretEnvReference[] = [
    { env: 'DATABASE_URL', secret: spec.database.urlSecretRef.name, key: spec.database.urlSecretRef.key, optional: false },
  ];
  if (spec.redis) {
    refs.push({ env: 'REDIS_URL', secret: spec.redis.urlSecretRef.name, key: spec.redis.urlSecretRef.key, optional: false });
  }
  const keys = spec.jwt.keysSecretRef;
  if (spec.jwt.algorithm === 'ES256') {
    refs.push(
      { env: 'JWT_SIGNING_KEY', secret: keys.name, key: keys.signingKey, optional: false },
      { env: 'JWT_VERIFICATION_KEYS', secret: keys.name, key: keys.verificationKeys, optional: true },
    );
  } else {
    refs.push(
      { env: 'JWT_SECRET', secret: keys.name, key: keys.secret, optional: false },
      { env: 'JWT_PREVIOUS_SECRETS', secret: keys.name, key: keys.previousSecrets, optional: true },
    );
  }
  if (spec.email) {
    refs.push({ env: 'SMTP_URL', secret: spec.email.smtpSecretRef.name, key: spec.email.smtpSecretRef.key, optional: false });
  }
  const totp = spec.mfa?.encryptionKeySecretRef;
  if (totp) {
    refs.push(
      { env: 'TOTP_ENCRYPTION_KEY', secret: totp.name, key: totp.key, optional: false },
      // Earlier keys exist only after a first rotation.
      { env: 'TOTP_PREVIOUS_ENCRYPTION_KEYS', secret: totp.name, key: totp.previousKeysKey, optional: true },
    );
  }
  return refs;
}

/** Names of the Secrets the service's pods read (to watch them). */
export function podSecretNames(spec: AuthServiceSpec): string[] {
  return [...new Set(podSecretReferences(spec).map((r) => r.secret))].sort();
}

/** A Secret as read from the API server; V1Secret fits. */
export interface SecretLike {
  metadata?: { name?: string };
  data?: Record<string, string>;
}

/**
 * Hash of exactly the values the pods read: a change to another key of the
 * same Secret is not a new revision. A missing Secret or key hashes as absent,
 * so its later creation is one.
 */
export function secretsHash(spec: AuthServiceSpec, secrets: readonly SecretLike[]): string {
  const byName = new Map(secrets.map((s) => [s.metadata?.name, s.data ?? {}]));
  const values = podSecretReferences(spec).map(({ env, secret, key }) => [env, secret, key, byName.get(secret)?.[key] ?? null]);
  return stableHash(values, 16);
}
