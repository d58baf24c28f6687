/**
 * The guide's benchmark table ("Performance Benchmarking": average, 99th
 * percentile, error rate, RPS), one row per phase of the profile and one for
 * the whole run. As in the guide, an error is any 4xx or 5xx answer; requests
 * that got no answer and arrivals dropped at the in-flight bound count too.
 */
import type { LoadResult } from './engine.js';

const fmt = (n: number, digits = 0) => (Number.isNaN(n) ? '–' : n.toFixed(digits));

export interface Row {
  phase: string;
  /** "10 → 50" or "50". */
  arrivalRate: string;
  durationSeconds: number;
  requests: number;
  avgMs: number;
  p99Ms: number;
  errorRatePercent: number;
  rps: number;
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

function row(phase: string, arrivalRate: string, durationSeconds: number, records: LoadResult['records'], dropped: number): Row {
  const ms = records.map((r) => r.ms).sort((a, b) => a - b);
  const errors = records.filter((r) => r.status === 0 || r.status >= 400).length + dropped;
  const attempts = records.length + dropped;
  return {
    phase,
    arrivalRate,
    durationSeconds,
    requests: records.length,
    avgMs: ms.length === 0 ? Number.NaN : ms.reduce((a, b) => a + b, 0) / ms.length,
    p99Ms: percentile(ms, 99),
    errorRatePercent: attempts === 0 ? 0 : (100 * errors) / attempts,
    rps: records.length / durationSeconds,
  };
}

export function tabulate(result: LoadResult): Row[] {
  const rows = result.phases.map((o, i) => {
    const rate = o.phase.rampTo === undefined ? fmt(o.phase.arrivalRate) : `${fmt(o.phase.arrivalRate)} → ${fmt(o.phase.rampTo)}`;
    return row(o.phase.name, rate, o.phase.durationSeconds, result.records.filter((r) => r.phase === i), o.dropped);
  });
  const duration = result.phases.reduce((s, o) => s + o.phase.durationSeconds, 0);
  const dropped = result.phases.reduce((s, o) => s + o.dropped, 0);
  return [...rows, row('All phases', '', duration, result.records, dropped)];
}


/** Markdown, like the guide's performance_report.md. */
export function formatTable(rows: readonly Row[]): string {
  const lines = [
    '| Phase | Arrivals/s | Duration | Requests | Avg Response Time | 99th Percentile | Error Rate | RPS |',
    '|-------|------------|----------|----------|-------------------|-----------------|------------|-----|',
    ...rows.map(
      (r) =>
        `| ${r.phase} | ${r.arrivalRate} | ${fmt(r.durationSeconds)} s | ${r.requests} | ${fmt(r.avgMs, 1)}ms | ${fmt(r.p99Ms, 1)}ms | ${fmt(r.errorRatePercent, 1)}% | ${fmt(r.rps, 1)} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
