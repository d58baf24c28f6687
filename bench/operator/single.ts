/**
 * One AuthService, several rounds. Each round first times the baseline — the
 * bench applying the same 11 objects itself, one after another as a reconcile
 * pass does, until its watch has seen all of them — then the operator: the
 * bench applies an AuthService and waits until its watch has seen all 11
 * children. Interleaving puts both under the same machine noise.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BASELINE_NAMESPACE, NAMESPACE, TimedOut, whileProgressing, withTimeout, type BenchContext } from './context.js';
import { benchAuthService, childKeys, childrenOf, gatedOnAvailability } from './sample.js';

export interface SingleResult {
  /** create → last child seen, ms, per round. */
  operatorMs: number[];
  /** create → last child seen of the 9 not waiting for the new colour to be Available, ms, per round. */
  ungatedMs: number[];
  /** first apply sent → last of the 11 seen, ms, per round. */
  baselineMs: number[];
  /** first apply sent → last apply answered, ms, per round (no watch delay). */
  baselineApplyMs: number[];
  names: string[];
  /** Per round: when each child was first seen, ms after the create, in order — which child came last, and why. */
  childOffsetsMs: Array<Record<string, number>>;
}

export async function runSingle(ctx: BenchContext): Promise<SingleResult> {
  const { settings, admin } = ctx;
  const result: SingleResult = { operatorMs: [], baselineMs: [], baselineApplyMs: [], names: [], childOffsetsMs: [], ungatedMs: [] };
  const timeoutMs = settings.timeoutSeconds * 1000;
  for (let round = 0; round < settings.repeats; round++) {
    ctx.checkInterrupted();
    const name = `single-${round}`;

    const objects = childrenOf(BASELINE_NAMESPACE, name, settings.replicas);
    const baselineSeen = ctx.baselineTracker.whenPresent(name, childKeys(objects));
    const b0 = performance.now();
    for (const object of objects) await admin.apply(object);
    const applied = performance.now();
    const baselineAt = await withTimeout(baselineSeen, timeoutMs, `baseline ${name}`);
    result.baselineApplyMs.push(applied - b0);
    result.baselineMs.push(baselineAt - b0);

    const expected = childKeys(childrenOf(NAMESPACE, name, settings.replicas));
    const children = ctx.tracker.whenPresent(name, expected);
    const o0 = performance.now();
    await admin.apply(benchAuthService(NAMESPACE, name, settings.replicas));
    let operatorAt: number;
    try {
      operatorAt = await whileProgressing(ctx, children, timeoutMs, `children of AuthService ${name}`);
    } catch (err) {
      if (!(err instanceof TimedOut)) throw err;
      const missing = expected.filter((k) => !ctx.tracker.seen(name).includes(k));
      ctx.anomaly(`AuthService ${NAMESPACE}/${name}: ${missing.length} of 11 children never appeared (${err.message}): missing ${missing.join(', ')}`);
      operatorAt = NaN;
    }
    result.operatorMs.push(operatorAt - o0);
    const seen = ctx.tracker.firstSeen(name);
    const ungated = expected.filter((k) => !gatedOnAvailability(name).includes(k));
    result.ungatedMs.push(ungated.every((k) => seen[k] !== undefined) ? Math.max(...ungated.map((k) => seen[k]!)) - o0 : NaN);
    result.names.push(name);
    result.childOffsetsMs.push(Object.fromEntries(Object.entries(seen).map(([k, t]): [string, number] => [k, Math.round(t - o0)]).sort((a, b) => a[1] - b[1])));
    ctx.say(`  round ${round + 1}/${settings.repeats}: operator ${(operatorAt - o0).toFixed(0)} ms; baseline ${(baselineAt - b0).toFixed(0)} ms (its applies alone ${(applied - b0).toFixed(0)} ms)`);
    // Let the operator finish the pass (events, status) so the next baseline is not competing with it.
    await sleep(1000);
  }
  return result;
}
