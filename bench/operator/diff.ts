/** Which fields differ between two versions of an object, as dotted paths: how an unexpected write is named. */

// Bumped by every write whatever it changed; saying so adds nothing.
const ignored = new Set(['metadata.resourceVersion', 'metadata.managedFields']);

export function differences(before: unknown, after: unknown, limit = 20): string[] {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (out.length >= limit || ignored.has(path)) return;
    if (a === b) return;
    const objects = a !== null && b !== null && typeof a === 'object' && typeof b === 'object';
    if (!objects || Array.isArray(a) !== Array.isArray(b)) {
      out.push(`${path || '(root)'}: ${short(a)} → ${short(b)}`);
      return;
    }
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    for (const k of keys) {
      walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    }
  };
  walk(before, after, '');
  return out;
}

function short(value: unknown): string {
  const text = value === undefined ? '(absent)' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
