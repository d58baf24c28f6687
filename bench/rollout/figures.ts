/**
 * From the samples of a run to the table's figures (with targets) and the
 * lines under it that break each latency down. Pure: data in, data out.
 */
import type { BaselineSample } from './baseline.js';
import { percentile } from '../support/percentile.js';
import { figure, type Figure } from './report.js';
import type { FlipSample, RollbackSample, Sample, SeriesName } from './series.js';

/** Percentile of the values that exist: a missing stamp (NaN) is left out. With 20 values p99 is the maximum. */
const p = (values: readonly number[], q: number): number => percentile(values.filter(Number.isFinite), q);

/** Issue 5: the flip within 1 s of the new colour being available, plus configured analysis time. */
export const TARGET_MS = 1000;

export interface FigureInput {
  series: readonly SeriesName[];
  samples: readonly Sample[];
  baseline: readonly BaselineSample[];
  preIntervalSeconds: number;
  postIntervalSeconds: number;
}

const ms = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : 'n/a');
const spread = (values: number[]): string => (values.length === 0 ? 'n/a' : `p50 ${ms(p(values, 50))}, p99 ${ms(p(values, 99))}, min ${ms(Math.min(...values))}`);
const times = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(1)}×` : 'n/a');

function split(samples: readonly Sample[]) {
  return {
    flips: samples.filter((x): x is FlipSample => x.series === 'flip'),
    pres: samples.filter((x): x is FlipSample => x.series === 'pre'),
    rollbacks: samples.filter((x): x is RollbackSample => x.series === 'rollback'),
  };
}

export function rolloutFigures(input: FigureInput): Figure[] {
  const { flips, pres, rollbacks } = split(input.samples);
  const rtt = input.baseline.map((b) => b.roundTripMs);
  const watched = input.baseline.map((b) => b.watchedMs);
  const flipMs = flips.map((x) => x.flipMs);
  const preMs = pres.map((x) => x.flipMs);
  const backMs = rollbacks.map((x) => x.rollbackMs);
  const checkToBack = rollbacks.map((x) => x.checkToBackMs);
  const has = (name: SeriesName): boolean => input.series.includes(name);
  const base = (q: number) => ({ baseline: p(rtt, q) });
  return [
    ...(has('flip') ? [
      figure({ id: 'flip_p50_ms', label: 'flip: new colour whole → selector flipped, p50', n: flipMs.length, value: p(flipMs, 50), ...base(50), target: TARGET_MS,
        note: 'no analysis; both ends seen by the bench\'s watches; baseline: the bench\'s own selector PATCH round trip' }),
      figure({ id: 'flip_p99_ms', label: 'flip: p99', n: flipMs.length, value: p(flipMs, 99), ...base(99), target: TARGET_MS }),
    ] : []),
    ...(has('pre') ? [
      figure({ id: 'pre_p50_ms', label: 'flip after pre-promotion analysis (count 1), p50', n: preMs.length, value: p(preMs, 50), ...base(50), target: TARGET_MS,
        note: `count 1 measures as soon as the colour is whole: the configured analysis time is 0 × intervalSeconds (${input.preIntervalSeconds} s)` }),
      figure({ id: 'pre_p99_ms', label: 'flip after pre-promotion analysis, p99', n: preMs.length, value: p(preMs, 99), ...base(99), target: TARGET_MS }),
    ] : []),
    ...(has('pre') && has('flip') ? [
      figure({ id: 'pre_added_p50_ms', label: `added by that analysis, p50 − p50 (interval ${input.preIntervalSeconds} s)`, n: Math.min(preMs.length, flipMs.length), value: p(preMs, 50) - p(flipMs, 50) }),
    ] : []),
    ...(has('rollback') ? [
      figure({ id: 'rollback_p50_ms', label: 'rollback: failure detected → selector back, p50', n: backMs.length, value: p(backMs, 50), ...base(50), target: TARGET_MS,
        note: 'detected = milestone failed (start of the pass that decided); back = the bench\'s watch; target by analogy with the flip (the issue sets none)' }),
      figure({ id: 'rollback_p99_ms', label: 'rollback: p99', n: backMs.length, value: p(backMs, 99), ...base(99), target: TARGET_MS }),
      figure({ id: 'check_to_back_p50_ms', label: 'rollback: 503 answered → selector back, p50', n: checkToBack.length, value: p(checkToBack, 50), ...base(50) }),
      figure({ id: 'check_to_back_p99_ms', label: 'rollback: 503 answered → selector back, p99', n: checkToBack.length, value: p(checkToBack, 99), ...base(99) }),
    ] : []),
    figure({ id: 'baseline_patch_p50_ms', label: 'baseline: selector PATCH round trip, p50', n: rtt.length, value: p(rtt, 50) }),
    figure({ id: 'baseline_patch_p99_ms', label: 'baseline: selector PATCH round trip, p99', n: rtt.length, value: p(rtt, 99) }),
    figure({ id: 'baseline_watched_p50_ms', label: 'baseline: PATCH sent → seen on own watch, p50', n: watched.length, value: p(watched, 50) }),
    figure({ id: 'baseline_watched_p99_ms', label: 'baseline: PATCH sent → seen on own watch, p99', n: watched.length, value: p(watched, 99) }),
  ];
}

/** The breakdown printed under the table. */
export function breakdown(input: FigureInput): string[] {
  const { flips, pres, rollbacks } = split(input.samples);
  const watched = input.baseline.map((b) => b.watchedMs);
  const has = (name: SeriesName): boolean => input.series.includes(name);
  const vsWatch = (values: number[]): string => `p50 ${times(p(values, 50) / p(watched, 50))}, p99 ${times(p(values, 99) / p(watched, 99))}`;
  const lines: string[] = [];
  if (has('flip')) {
    lines.push(`flip ÷ (PATCH sent → own watch): ${vsWatch(flips.map((x) => x.flipMs))}`);
    lines.push(`flip, step by step: the operator's pass began ${spread(flips.map((x) => x.operatorSawMs))} after the bench saw the colour whole ` +
      `(milestone previewAvailable); the bench saw the flip ${spread(flips.map((x) => x.applyMs))} after that; ` +
      `the operator's own promoted − previewAvailable: ${spread(flips.map((x) => x.operatorFlipMs))}`);
    lines.push(`flip, spec.image patched → flip: ${spread(flips.map((x) => x.rolloutMs))}`);
  }
  if (has('pre')) {
    lines.push(`pre: check answered ${spread(pres.flatMap((x) => (x.checkAt === undefined ? [] : [x.checkAt - x.availableAt])))} after the colour was whole; ` +
      `flip ${spread(pres.flatMap((x) => (x.checkAt === undefined ? [] : [x.flipAt - x.checkAt])))} after the check; ` +
      `operator's own promoted − previewAvailable ${spread(pres.map((x) => x.operatorFlipMs))}`);
  }
  if (has('rollback')) {
    lines.push(`rollback ÷ (PATCH sent → own watch): ${vsWatch(rollbacks.map((x) => x.rollbackMs))}`);
    lines.push(`rollback, step by step: flip → 503 answered ${spread(rollbacks.map((x) => x.checkDelayMs))} (postPromotionAnalysis.intervalSeconds ${input.postIntervalSeconds} s); ` +
      `503 → milestone failed ${spread(rollbacks.map((x) => x.decideMs))}; the failing colour had the traffic for ${spread(rollbacks.map((x) => x.exposureMs))}`);
  }
  return lines;
}
