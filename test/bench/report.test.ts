import { expect } from 'chai';
import { figure as operatorFigure } from '../../bench/operator/report.js';
import { figure as serviceFigure } from '../../bench/support/report.js';

describe('bench reports: a verdict follows from the value as printed', () => {
  const service = (value: number, unit: string, op: '>=' | '<', target: number) =>
    serviceFigure({ id: 'x', label: 'x', measured: '', baseline: '', value, unit, target: { op, value: target } }).pass;

  it('service: a ratio of 0.8496 prints 0.85 and meets ≥ 0.85; a p99 of 99.96 ms prints 100 and misses < 100 ms', () => {
    expect(service(0.8496, '', '>=', 0.85)).to.equal(true);
    expect(service(0.844, '', '>=', 0.85)).to.equal(false);
    expect(service(99.96, 'ms', '<', 100)).to.equal(false);
    expect(service(99.94, 'ms', '<', 100)).to.equal(true);
    expect(service(Number.NaN, 'ms', '<', 100)).to.equal(false);
  });

  it('operator: an RSS of 149.6 MiB prints 150 and misses < 150 MiB', () => {
    const rss = (value: number) => operatorFigure({ id: 'rss', label: 'rss', value, unit: 'MiB', target: { op: '<', value: 150 } }).pass;
    expect(rss(149.6)).to.equal(false);
    expect(rss(149.4)).to.equal(true);
  });
});
