/** Percentiles, the results table and its verdicts. A missed target is a finding, not a failed run. */

/** Nearest-rank percentile (p in 0–100); NaN when empty. With 20 values p99 is the maximum. */
export function percentile(values: readonly number[], p: number): number {
  const finite = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return NaN;
  return finite[Math.min(finite.length - 1, Math.max(0, Math.ceil((p / 100) * finite.length) - 1))]!;
}

export interface Figure {
  id: string;
  label: string;
  /** Milliseconds. */
  value: number;
  /** The same-run baseline it is read against, when there is one. */
  baseline?: number;
  /** value ÷ baseline. */
  ratio?: number;
  /** Passes when value < target. */
  target?: number;
  pass?: boolean;
  /** Samples behind the figure. */
  n: number;
  note?: string;
}

export function figure(f: Omit<Figure, 'ratio' | 'pass'>): Figure {
  const ratio = f.baseline !== undefined && Number.isFinite(f.baseline) && f.baseline > 0 && Number.isFinite(f.value) ? f.value / f.baseline : undefined;
  const pass = f.target === undefined ? undefined : Number.isFinite(f.value) && f.value < f.target;
  return { ...f, ...(ratio !== undefined ? { ratio } : {}), ...(pass !== undefined ? { pass } : {}) };
}

const msText = (v: number | undefined): string => (v === undefined ? '' : Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'n/a');

export function renderTable(figures: readonly Figure[]): string {
  const rows = [
    ['Figure', 'n', 'Value', 'Baseline', 'Ratio', 'Target', 'Result'],
    ...figures.map((f) => [
      f.label,
      String(f.n),
      msText(f.value),
      msText(f.baseline),
      f.ratio === undefined ? '' : `${f.ratio.toFixed(1)}×`,
      f.target === undefined ? '' : `< ${f.target} ms`,
      f.pass === undefined ? '' : f.pass ? 'PASS' : 'MISS',
    ]),
  ];
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => [...r[col]!].length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c + ' '.repeat(widths[i]! - [...c].length)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}
