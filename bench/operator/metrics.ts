/** The operator's counters from its Prometheus text (operator/observability/metrics.ts), and differences between two scrapes. */
import type { OperatorProcess } from '../support/operator-process.js';

export interface OperatorCounters {
  /** keyward_operator_api_writes_total by verb (create, update, patch, delete). */
  writes: Record<string, number>;
  /** keyward_operator_reconcile_total by result. */
  reconciles: Record<string, number>;
  reconcileSeconds: { sum: number; count: number };
  queueDepth: number;
  watchRestarts: number;
  /** prom-client's default Node.js metrics, bytes: where the RSS goes. */
  heap: { used: number; total: number; external: number };
  /** performance.now() of the scrape. */
  at: number;
}

const sum = (values: Record<string, number>): number => Object.values(values).reduce((a, b) => a + b, 0);
export const totalWrites = (c: OperatorCounters): number => sum(c.writes);
export const totalReconciles = (c: OperatorCounters): number => sum(c.reconciles);

function byLabel(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [, labels, value] of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\}\\s+(\\S+)`, 'gm'))) {
    const key = new RegExp(`${label}="([^"]*)"`).exec(labels!)?.[1] ?? '';
    out[key] = (out[key] ?? 0) + Number(value);
  }
  return out;
}

function single(text: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

export function parseOperatorMetrics(text: string): OperatorCounters {
  return {
    writes: byLabel(text, 'keyward_operator_api_writes_total', 'verb'),
    reconciles: byLabel(text, 'keyward_operator_reconcile_total', 'result'),
    reconcileSeconds: {
      sum: single(text, 'keyward_operator_reconcile_duration_seconds_sum'),
      count: single(text, 'keyward_operator_reconcile_duration_seconds_count'),
    },
    queueDepth: single(text, 'keyward_operator_queue_depth'),
    watchRestarts: sum(byLabel(text, 'keyward_operator_watch_restarts_total', 'kind')),
    heap: {
      used: single(text, 'nodejs_heap_size_used_bytes'),
      total: single(text, 'nodejs_heap_size_total_bytes'),
      external: single(text, 'nodejs_external_memory_bytes'),
    },
    at: performance.now(),
  };
}

/** after − before, per label, dropping zeros. */
export function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(after), ...Object.keys(before)])) {
    const d = (after[k] ?? 0) - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

/** An operator child whose counters the bench scrapes. */
export interface CountedOperator extends OperatorProcess {
  counters(): Promise<OperatorCounters>;
}

export function withCounters(operator: OperatorProcess): CountedOperator {
  return {
    ...operator,
    async counters() {
      const res = await fetch(operator.metricsUrl, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`${operator.metricsUrl}: HTTP ${res.status}`);
      return parseOperatorMetrics(await res.text());
    },
  };
}
