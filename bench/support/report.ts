/** The results table and its pass/fail verdicts. A missed target is a finding, not a failed run. */
import { renderRows } from './table.js';

export interface Target {
  op: '>=' | '<';
  value: number;
}

export interface Figure {
  id: string;
  label: string;
  /** What the service did, in words ("8.1 login/s"). */
  measured: string;
  /** What it is compared with ("8.4 compare/s"), or "" for a bound. */
  baseline: string;
  /** The figure the target applies to: a ratio, ms or MiB. */
  value: number;
  unit: string;
  target: Target;
  pass: boolean;
  /** Why this figure may say more about the machine than about the service, if it may. */
  caveat?: string;
}

export function figure(f: Omit<Figure, 'pass'>): Figure {
  const pass = Number.isFinite(f.value) && (f.target.op === '>=' ? f.value >= f.target.value : f.value < f.target.value);
  return { ...f, pass };
}

function format(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (unit === '') return value.toFixed(2);
  return `${value.toFixed(value >= 100 ? 0 : 1)} ${unit}`;
}

const marks = ['a', 'b', 'c', 'd', 'e', 'f'];

/** The table, then one footnote per caveat. */
export function renderTable(figures: Figure[]): string {
  const caveated = figures.filter((f) => f.caveat);
  const rows = [
    ['Figure', 'Service', 'Baseline', 'Value', 'Target', 'Result'],
    ...figures.map((f) => [
      f.label,
      f.measured,
      f.baseline,
      format(f.value, f.unit),
      `${f.target.op === '>=' ? '≥' : '<'} ${f.target.value}${f.unit ? ` ${f.unit}` : ''}`,
      `${f.pass ? 'PASS' : 'MISS'}${f.caveat ? ` (${marks[caveated.indexOf(f)]})` : ''}`,
    ]),
  ];
  const notes = caveated.map((f, i) => `(${marks[i]}) noisy: ${f.caveat}`);
  return [renderRows(rows), ...(notes.length ? ['', ...notes] : [])].join('\n');
}
