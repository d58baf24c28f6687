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
  // Judged on the value as the table prints it: 149.6 MiB prints as 150 and must not pass "< 150".
  const shown = asShown(f.value);
  const pass = f.target === undefined ? undefined
    : Number.isFinite(shown) && (f.target.op === '<' ? shown < f.target.value : shown <= f.target.value);
  return { ...f, ...(ratio !== undefined ? { ratio } : {}), ...(pass !== undefined ? { pass } : {}) };
}

/** The digits the table prints: none from 100 up or for whole numbers, one otherwise. */
const digitsOf = (value: number): number => (Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : 1);
const asShown = (value: number): number => (Number.isFinite(value) ? Number(value.toFixed(digitsOf(value))) : value);

function format(value: number | undefined, unit: string): string {
  if (value === undefined) return '';
  if (!Number.isFinite(value)) return 'n/a';
  return `${value.toFixed(digitsOf(value))}${unit ? ` ${unit}` : ''}`;
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
