/** The results table and its verdicts. A missed target is a finding, not a failed run. */
import { renderRows } from '../support/table.js';

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
  return renderRows(rows);
}
