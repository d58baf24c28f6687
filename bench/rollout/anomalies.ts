/**
 * What went wrong or looked odd in a run, each line saying whose it is: rules
 * of issue 5 the bench saw broken, series given up, nodes that turned
 * NotReady (the harness), warnings in the operator's log.
 */
import type { Sample, SeriesName } from './series.js';
import type { NodeSeen } from './timeline.js';

export interface AnomalyInput {
  samples: readonly Sample[];
  /** Series given up, with why. */
  dead: ReadonlyMap<SeriesName, string>;
  nodes: readonly NodeSeen[];
  /** Node transitions before this (the plane starting up) are not anomalies. */
  since: number;
  operatorLog: ReadonlyArray<Record<string, unknown>>;
}

export function collectAnomalies(input: AnomalyInput): string[] {
  const anomalies: string[] = [];
  for (const x of input.samples) for (const v of x.violations) anomalies.push(`operator, ${x.series} round ${x.round}: ${v}`);
  for (const [name, why] of input.dead) anomalies.push(`series ${name} stopped early, ${why}`);
  const drops = input.nodes.filter((n) => !n.ready && n.at >= input.since);
  if (drops.length > 0) {
    anomalies.push(`harness, not the operator: kwok node(s) went NotReady despite the bench's heartbeats (${drops.map((n) => `${n.name} at ${new Date(n.at).toISOString()}`).join(', ')}); ` +
      'the node lifecycle controller then marks their pods not ready and kwok never readies them again, so a colour on them stops being whole');
  }
  const warnings = input.operatorLog.filter((l) => l['level'] === 'warn' || l['level'] === 'error');
  if (warnings.length > 0) {
    const byMessage = new Map<string, number>();
    for (const w of warnings) byMessage.set(String(w['message']), (byMessage.get(String(w['message'])) ?? 0) + 1);
    anomalies.push(`operator logged ${warnings.length} warning(s)/error(s): ${[...byMessage].map(([m, n]) => `${n} × "${m}"`).join('; ')}`);
  }
  return anomalies;
}
