/** The results table and its verdicts. A missed target is a finding, not a failed run. */
import { renderRows } from '../support/table.js';

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
  return renderRows(rows);
}
