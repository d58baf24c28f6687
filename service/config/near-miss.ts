/**
 * Settings that look mistyped. Only unknown KEYWARD_* names can be refused: the rest of the
 * environment is shared with the platform (PATH, HOSTNAME, KUBERNETES_*, …). But a name one or two
 * keystrokes from a setting (REQUIRE_EMAIL_VERIFICATON, RATE_LIMIT_LOGIN_PER_MINUTES) is almost
 * surely that setting, and without a word the service would start with its default, which for
 * some is a security default off. Said at start-up, so the mistake shows in the first log lines.
 */
export interface NearMiss {
  given: string;
  meant: string;
}

/** Names in `env` that are not in `known` but lie within two edits of one of them (the nearest). */
export function nearMisses(env: Readonly<Record<string, string | undefined>>, known: readonly string[]): NearMiss[] {
  const knownSet = new Set(known);
  const misses: NearMiss[] = [];
  for (const given of Object.keys(env)) {
    // Short names are too close to too much to say anything (PORT, HOME, HOST, PATH).
    if (knownSet.has(given) || given.length < 8 || !/^[A-Z][A-Z0-9_]*$/.test(given)) continue;
    let best: NearMiss | undefined;
    let bestDistance = 3;
    for (const name of known) {
      const distance = editDistance(given, name, bestDistance);
      if (distance < bestDistance) [best, bestDistance] = [{ given, meant: name }, distance];
    }
    if (best) misses.push(best);
  }
  return misses;
}

/**
 * Optimal string alignment distance (insertions, deletions, substitutions, transpositions of
 * neighbours), or `limit` once it is sure to reach it.
 */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMinimum = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, before[j - 2]! + 1);
      current[j] = value;
      rowMinimum = Math.min(rowMinimum, value);
    }
    if (rowMinimum >= limit) return limit;
    [before, previous] = [previous, current];
  }
  return Math.min(previous[b.length]!, limit);
}
