// Stable content hashes: the same data gives the same hash whatever the key
// order, across processes and releases (a changed hash means a new rollout).
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every depth; undefined members are left out, as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const record = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(record).sort().map((k) => [k, record[k]]));
  });
}

/** First `length` hex digits of the SHA-256 of canonicalJson(value). */
export function stableHash(value: unknown, length = 10): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, length);
}
