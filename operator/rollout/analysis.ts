// Bookkeeping of pre- and post-promotion analysis: which measurement is due,
// counting results, and the verdict. Taking a measurement is I/O and belongs to
// the reconciler (a runAnalysis action); this only counts.
import type { Analysis } from '../api/types.js';
import type { MeasurementResult, RolloutSpec } from './observed.js';
import type { RunAnalysisAction } from './plan.js';
import type { AnalysisPhase, AnalysisProgress, Release } from './state.js';

/** The spec's checks for a phase; undefined means the gate is availability alone. */
export function analysisFor(spec: RolloutSpec, phase: AnalysisPhase): Analysis | undefined {
  return phase === 'pre' ? spec.rollout.prePromotionAnalysis : spec.rollout.postPromotionAnalysis;
}

/**
 * A fresh run. Pre-promotion measures at once; post-promotion waits one
 * interval after the flip so the new colour has served traffic to judge (the
 * guide checks again 10 s after switching).
 */
export function startAnalysis(phase: AnalysisPhase, release: Release, check: Analysis, now: number): AnalysisProgress {
  const dueAt = phase === 'pre' ? now : now + check.intervalSeconds * 1000;
  return { phase, color: release.color, revision: release.revision, successes: 0, failures: 0, measurement: 1, dueAt: new Date(dueAt).toISOString() };
}

/**
 * Identifies one measurement of one rollout attempt: `attempt` is the
 * rollout's start time, so a retried revision never counts a stale result.
 */
export function measurementKey(progress: AnalysisProgress, attempt: string): string {
  return `${progress.phase}/${progress.revision}/${attempt}/${progress.measurement}`;
}

export type AnalysisOutcome =
  | { verdict: 'passed'; progress: AnalysisProgress; summary: string }
  | { verdict: 'failed'; progress: AnalysisProgress; summary: string }
  | { verdict: 'waiting'; progress: AnalysisProgress; wakeAt: number; run?: RunAnalysisAction; detail: string };

const phaseName = (phase: AnalysisPhase): string => (phase === 'pre' ? 'pre-promotion' : 'post-promotion');

/**
 * Counts `result` when it answers the awaited measurement, then decides: more
 * failures than failureLimit fails at once; `count` measurements with at most
 * failureLimit failures pass; otherwise the next measurement is due at
 * intervalSeconds after the last one.
 */
export function advanceAnalysis(
  progress: AnalysisProgress,
  check: Analysis,
  result: MeasurementResult | undefined,
  attempt: string,
  now: number,
): AnalysisOutcome {
  let p = progress;
  const key = measurementKey(p, attempt);
  const name = `${phaseName(p.phase)} analysis of revision ${p.revision} on ${p.color}`;
  if (result && result.key === key) {
    p = {
      ...p,
      successes: p.successes + (result.ok ? 1 : 0),
      failures: p.failures + (result.ok ? 0 : 1),
      measurement: p.measurement + 1,
      dueAt: new Date(now + check.intervalSeconds * 1000).toISOString(),
      lastMessage: result.message,
    };
    const taken = p.successes + p.failures;
    if (p.failures > check.failureLimit) {
      return { verdict: 'failed', progress: p, summary: `${name}: ${p.failures} of ${taken} measurements failed (${check.failureLimit} tolerated); last: ${result.message}` };
    }
    if (taken >= check.count) {
      return { verdict: 'passed', progress: p, summary: `${name}: ${p.successes} of ${taken} measurements passed` };
    }
  }
  const dueAt = Date.parse(p.dueAt);
  const tally = `${p.successes} passed, ${p.failures} failed`;
  if (now < dueAt) {
    return { verdict: 'waiting', progress: p, wakeAt: dueAt, detail: `${name}: measurement ${p.measurement}/${check.count} due at ${p.dueAt} (${tally})` };
  }
  const run: RunAnalysisAction = {
    kind: 'runAnalysis',
    key: measurementKey(p, attempt),
    phase: p.phase,
    colour: p.color,
    revision: p.revision,
    measurement: p.measurement,
    count: check.count,
    check,
  };
  // Look again after the measurement's own timeout, in case its result is lost.
  return { verdict: 'waiting', progress: p, wakeAt: now + check.timeoutSeconds * 1000, run, detail: `${name}: measurement ${p.measurement}/${check.count} running (${tally})` };
}
