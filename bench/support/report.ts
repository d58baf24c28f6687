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
  // Judged on the value as the table prints it: a ratio of 0.8496 prints as 0.85 and passes "≥ 0.85",
  // a p99 of 99.96 ms prints as 100 and misses "< 100 ms".
  const shown = asShown(f.value, f.unit);
  const pass = Number.isFinite(shown) && (f.target.op === '>=' ? shown >= f.target.value : shown < f.target.value);
  return { ...f, pass };
}

/** The digits the table prints: two for a ratio, none from 100 up, one otherwise. */
const digitsOf = (value: number, unit: string): number => (unit === '' ? 2 : value >= 100 ? 0 : 1);
const asShown = (value: number, unit: string): number => (Number.isFinite(value) ? Number(value.toFixed(digitsOf(value, unit))) : value);

function format(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  return `${value.toFixed(digitsOf(value, unit))}${unit === '' ? '' : ` ${unit}`}`;
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
