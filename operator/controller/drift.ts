/**
 * Does a live object already hold everything we would apply? A subset test:
 * every field of the desired object must be present and equal in the live one;
 * fields the API server or other controllers added are ignored. Answering
 * "yes" is what keeps an idle resync from writing anything.
 */

// Quantities come back from the API server in canonical form ("1000m" → "1", "0.5" → "500m", "1e9" → "1G").
const quantity = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:[eE]([+-]?[0-9]+))?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const factors: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

function sameQuantity(a: string, b: string): boolean {
  const ma = quantity.exec(a);
  const mb = quantity.exec(b);
  if (!ma || !mb) return false;
  const value = (m: RegExpExecArray): number => Number(m[1]) * 10 ** Number(m[2] ?? 0) * factors[m[3] ?? '']!;
  const [x, y] = [value(ma), value(mb)];
  return Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
}

/**
 * The items of a list of named objects by name (env, containers, ports, volumes), or undefined
 * when it is not one. The API server merges such lists by name: an apply keeps the items another
 * manager added (`kubectl set env`, a sidecar), so they are no drift an apply could undo. Each of
 * ours must be there and hold what we set. One of ours we stopped sending is removed by the apply
 * that the changed applied-hash annotation brings (reconciler.ts, stamped).
 */
function byName(list: unknown[]): Map<string, unknown> | undefined {
  const items = new Map<string, unknown>();
  for (const item of list) {
    if (!isPlainObject(item) || typeof item['name'] !== 'string' || items.has(item['name'])) return undefined;
    items.set(item['name'], item);
  }
  return items;
}

export function isSubset(desired: unknown, live: unknown): boolean {
  if (desired === live) return true;
  if (desired === null || desired === undefined) return live === null || live === undefined;
  if (typeof desired === 'number' && typeof live === 'string') return sameQuantity(String(desired), live);
  if (typeof desired === 'string' && (typeof live === 'string' || typeof live === 'number')) {
    return String(live) === desired || sameQuantity(desired, String(live));
  }
  if (Array.isArray(desired)) {
    if (!Array.isArray(live)) return false;
    const ours = desired.length > 0 ? byName(desired) : undefined;
    const theirs = ours && byName(live);
    if (ours && theirs) return [...ours].every(([name, item]) => isSubset(item, theirs.get(name)));
    // Any other list is atomic: it must match item by item and be no longer.
    if (live.length !== desired.length) return false;
    return desired.every((item, i) => isSubset(item, live[i]));
  }
  if (typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
    const l = live as Record<string, unknown>;
    return Object.entries(desired as Record<string, unknown>).every(([k, v]) => {
      // An empty map or list we send is the same as one the server omits.
      if (l[k] === undefined && ((Array.isArray(v) && v.length === 0) || (isPlainObject(v) && Object.keys(v).length === 0))) return true;
      return isSubset(v, l[k]);
    });
  }
  return false;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
