/** Percentiles, the results table and its verdicts. A missed target is a finding, not a failed run. */

/** Nearest-rank percentile (p in 0–100) of unsorted values; NaN when empty. With 5 values p99 is the maximum. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface Target {
  op: '<' | '<=';
  value: number;
}

export interface Figure {
  id: string;
  label: string;
  /** The operator's figure. */
  value: number;
  /** The same-run baseline it is compared with, when there is one. */
  baseline?: number;
  unit: string;
  /** value ÷ baseline, when both exist. */
  ratio?: number;
  target?: Target;
  /** Undefined when there is no target. */
  pass?: boolean;
  note?: string;
}

export function figure(f: Omit<Figure, 'ratio' | 'pass'>): Figure {
  const ratio = f.baseline !== undefined && Number.isFinite(f.baseline) && f.baseline > 0 ? f.value / f.baseline : undefined;
  const pass = f.target === undefined ? undefined
    : Number.isFinite(f.value) && (f.target.op === '<' ? f.value < f.target.value : f.value <= f.target.value);
  return { ...f, ...(ratio !== undefined ? { ratio } : {}), ...(pass !== undefined ? { pass } : {}) };
}

function format(value: number | undefined, unit: string): string {
  if (value === undefined) return '';
  if (!Number.isFinite(value)) return 'n/a';
  const digits = Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : 1;
  return `${value.toFixed(digits)}${unit ? ` ${unit}` : ''}`;
}

export function renderTable(figures: readonly Figure[]): string {
  const rows = [
    ['Figure', 'Operator', 'Baseline', 'Ratio', 'Target', 'Result'],
    ...figures.map((f) => [
      f.label,
      format(f.value, f.unit),
      format(f.baseline, f.unit),
      f.ratio === undefined ? '' : `${f.ratio.toFixed(2)}×`,
      f.target === undefined ? '' : `${f.target.op === '<' ? '<' : '≤'} ${f.target.value}${f.unit ? ` ${f.unit}` : ''}`,
      f.pass === undefined ? '' : f.pass ? 'PASS' : 'MISS',
    ]),
  ];
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => [...r[col]!].length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c + ' '.repeat(widths[i]! - [...c].length)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}
