/**
 * One rollout of one series: change spec.image, wait until the operator has
 * finished with it, and turn the bench's watch stamps and the operator's
 * status milestones into latencies. Three series, one AuthService each:
 *   flip      no analysis;
 *   pre       pre-promotion analysis, count 1, against a loopback 200;
 *   rollback  post-promotion analysis, count 1, against a loopback 503.
 */
import type { Colour } from '../../operator/api/types.js';
import type { KubeClient } from '../../operator/kube/client.js';
import { pathFor, resources } from '../../operator/kube/resources.js';
import { readRolloutStatus, type RolloutState } from '../../operator/rollout/index.js';
import { sampleAuthService } from '../../test/support/operator.js';
import type { CheckServer } from './check-servers.js';
import { wholeAt, type DeploymentSeen, type ServiceSeen, type Timeline } from './timeline.js';

export type SeriesName = 'flip' | 'pre' | 'rollback';

export interface Series {
  name: SeriesName;
  /** The AuthService this series rolls out, also named `name`. */
  authService: string;
  /** spec.rollout of that AuthService. */
  rollout: Record<string, unknown>;
  /** Where its colour Services' analysis checks go (--service-url-map). */
  checks: CheckServer;
}

export interface SeriesContext {
  admin: KubeClient;
  namespace: string;
  timeline: Timeline;
  replicas: number;
  timeoutMs: number;
}

/** What every round records up to the flip. Times are Date.now() values; *Ms are differences. */
interface RoundSample {
  round: number;
  image: string;
  from: Colour;
  to: Colour;
  patchAt: number;
  /** The bench's watch saw the new colour whole (every replica of the new image available). */
  availableAt: number;
  /** The bench's watch saw the stable Service select the new colour. */
  flipAt: number;
  milestones: RolloutState['milestones'];
  /** Broken rules of the issue seen by the bench's watch (empty when none). */
  violations: string[];
}

/** A rollout that flipped: flip and pre. */
export interface FlipSample extends RoundSample {
  series: 'flip' | 'pre';
  /** When the check server answered the pre-promotion check (pre only). */
  checkAt?: number;
  /** flipAt − availableAt: the figure. */
  flipMs: number;
  /** Milestones promoted − previewAvailable: the operator's own view (pass start times). */
  operatorFlipMs: number;
  /** Milestone previewAvailable − availableAt: how much later than the bench the operator's pass began. */
  operatorSawMs: number;
  /** flipAt − milestone promoted: from the deciding pass's start to the bench seeing the new selector. */
  applyMs: number;
  /** flipAt − patchAt: the whole rollout up to the flip. */
  rolloutMs: number;
}

/** A rollout that flipped, failed its post-promotion check and went back. */
export interface RollbackSample extends RoundSample {
  series: 'rollback';
  /** The loopback server answered the post-promotion check with 503. */
  checkAt: number;
  /** Milestone failed: the pass that decided the rollback began. */
  failedAt: number;
  /** History entry AnalysisFailed (same pass as failed). */
  analysisFailedAt: number;
  /** The bench's watch saw the selector back on the old colour. */
  backAt: number;
  reason: string;
  /** backAt − failedAt: the figure. */
  rollbackMs: number;
  /** backAt − checkAt: from the 503 leaving the server to traffic back. */
  checkToBackMs: number;
  /** failedAt − checkAt: from the 503 to the pass that acted on it. */
  decideMs: number;
  /** checkAt − flipAt: the configured wait (postPromotionAnalysis.intervalSeconds) plus scheduling. */
  checkDelayMs: number;
  /** backAt − flipAt: how long the failing colour had the traffic. */
  exposureMs: number;
}

export type Sample = FlipSample | RollbackSample;

/** The operator ended the rollout as failed where the series expects it to succeed. */
class RolloutFailed extends Error {}

const other = (c: Colour): Colour => (c === 'blue' ? 'green' : 'blue');
const authPath = (ctx: SeriesContext, name: string): string => pathFor(resources.AuthService, ctx.namespace, name);
const stateOf = (ctx: SeriesContext, name: string): RolloutState | undefined => readRolloutStatus(ctx.timeline.authService(name)?.status?.rollout).state;
const ms = (iso: string | undefined): number => (iso === undefined ? NaN : Date.parse(iso));

/** Creates the series' AuthService and waits until its first revision serves on blue with green idle. */
export async function deploySeries(ctx: SeriesContext, series: Series, image: string): Promise<void> {
  await ctx.admin.apply(sampleAuthService(ctx.namespace, series.authService, { image, replicas: ctx.replicas, rollout: series.rollout }));
  await ctx.timeline.waitFor(`${series.authService} Healthy on blue`, () => {
    const a = ctx.timeline.authService(series.authService);
    return a?.status?.phase === 'Healthy' && a.status.activeColor === 'blue' && stateOf(ctx, series.authService)?.step === 'Stable' ? true : undefined;
  }, 120_000);
}

/** What the operator reports and the bench last saw of one AuthService, for the message of a rollout that did not finish. */
function describe(ctx: SeriesContext, name: string): string {
  const a = ctx.timeline.authService(name);
  const state = stateOf(ctx, name);
  const deployment = (colour: Colour): string => {
    const d = ctx.timeline.latest<DeploymentSeen>('Deployment', `${name}-${colour}`);
    return d ? `${colour} ${d.image} spec ${d.specReplicas} status ${d.statusReplicas} updated ${d.updatedReplicas} ready ${d.readyReplicas} available ${d.availableReplicas}${d.generationObserved ? '' : ' (generation not observed)'}` : `${colour} not seen`;
  };
  const history = (state?.history ?? []).slice(-4).map((h) => `${h.at} ${h.step} ${h.reason}: ${h.message}`).join(' | ');
  return `phase ${a?.status?.phase ?? '?'}, step ${state?.step ?? '?'}, active ${a?.status?.activeColor ?? '?'}; ` +
    `Service ${name} selects ${ctx.timeline.latest<ServiceSeen>('Service', name)?.colour ?? '?'}; ${deployment('blue')}; ${deployment('green')}; ` +
    `conditions ${JSON.stringify((a?.status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => `${c.type}: ${c.reason}: ${c.message}`))}; history ${history}`;
}

/** One rollout of `series`; resolves once the operator is done with it and the idle colour has no pods. */
export async function rollOnce(ctx: SeriesContext, series: Series, round: number): Promise<Sample> {
  const name = series.authService;
  const before = ctx.timeline.authService(name);
  const from = before?.status?.activeColor;
  if (!from) throw new Error(`${name}: no active colour before round ${round}`);
  const to = other(from);
  const image = `keyward-service:bench-${series.name}-${round}`;
  const idle = (colour: Colour): boolean => {
    const d = ctx.timeline.latest<DeploymentSeen>('Deployment', `${name}-${colour}`);
    return d !== undefined && d.specReplicas === 0 && d.statusReplicas === 0;
  };

  ctx.timeline.forget(Date.now());
  const patchAt = Date.now();
  await ctx.admin.mergePatch(authPath(ctx, name), { spec: { image } }, 'bench-rollout');

  const state = await ctx.timeline.waitFor(`${name} done with ${image}`, () => {
    const a = ctx.timeline.authService(name);
    const s = stateOf(ctx, name);
    if (!a?.status || !s || ms(s.milestones.started) < patchAt - 1) return undefined;
    if (series.name === 'rollback') {
      return s.step === 'Degraded' && a.status.activeColor === from && idle(to) ? s : undefined;
    }
    if (s.step === 'Degraded' || s.step === 'Aborted') throw new RolloutFailed(`${name}: the rollout of ${image} failed (${describe(ctx, name)})`);
    return s.step === 'Stable' && a.status.activeImage === image && a.status.activeColor === to && idle(from) ? s : undefined;
  }, ctx.timeoutMs).catch((err: unknown) => {
    if (err instanceof RolloutFailed) throw err;
    throw new Error(`${err instanceof Error ? err.message : String(err)} (${describe(ctx, name)})`, { cause: err });
  });

  const tl = ctx.timeline;
  const available = tl.first<DeploymentSeen>('Deployment', `${name}-${to}`, patchAt, (d) => wholeAt(d, image, ctx.replicas));
  const flipped = tl.first<ServiceSeen>('Service', name, patchAt, (s) => s.colour === to);
  if (!available) throw new Error(`${name}: the bench's watch never saw ${name}-${to} whole with ${image}`);
  if (!flipped) throw new Error(`${name}: the bench's watch never saw Service ${name} select ${to}`);
  const m = state.milestones;
  const violations: string[] = [];
  // The rules of issue 5, as the bench's watch saw them: traffic only ever moves to a whole colour, and the colour it leaves is still whole then.
  const wholeBefore = (colour: Colour, at: number, withImage?: string): boolean => {
    const d = tl.seen.findLast((s): s is DeploymentSeen => s.kind === 'Deployment' && s.name === `${name}-${colour}` && s.at <= at);
    return d !== undefined && (withImage === undefined ? d.specReplicas === ctx.replicas && d.availableReplicas >= ctx.replicas : wholeAt(d, withImage, ctx.replicas));
  };
  if (!wholeBefore(to, flipped.at, image)) violations.push(`Service ${name} selected ${to} ${flipped.at - available.at} ms before the bench saw ${name}-${to} whole`);
  if (!wholeBefore(from, flipped.at)) violations.push(`${name}-${from} was no longer whole when the Service left it (a traffic gap)`);

  if (series.name === 'rollback') {
    const back = tl.first<ServiceSeen>('Service', name, flipped.at, (s) => s.colour === from);
    const check = series.checks.requests.find((r) => r.at >= flipped.at);
    const analysisFailed = state.history.findLast((h) => h.reason === 'AnalysisFailed');
    if (!back) throw new Error(`${name}: the bench's watch never saw Service ${name} back on ${from}`);
    if (!check) throw new Error(`${name}: no post-promotion check reached the 503 server after the flip`);
    const failedAt = ms(m.failed);
    if (!wholeBefore(from, back.at)) violations.push(`Service ${name} went back to ${from} while the bench saw ${name}-${from} not whole`);
    if (state.failure?.reason !== 'PostPromotionAnalysisFailed') violations.push(`failure reason ${state.failure?.reason ?? '(none)'}, expected PostPromotionAnalysisFailed`);
    return {
      series: 'rollback',
      round,
      image,
      from,
      to,
      patchAt,
      availableAt: available.at,
      flipAt: flipped.at,
      checkAt: check.at,
      failedAt,
      analysisFailedAt: ms(analysisFailed?.at),
      backAt: back.at,
      reason: state.failure?.reason ?? '(none)',
      milestones: m,
      rollbackMs: back.at - failedAt,
      checkToBackMs: back.at - check.at,
      decideMs: failedAt - check.at,
      checkDelayMs: check.at - flipped.at,
      exposureMs: back.at - flipped.at,
      violations,
    };
  }

  const check = series.name === 'pre' ? series.checks.requests.find((r) => r.at >= patchAt) : undefined;
  return {
    series: series.name,
    round,
    image,
    from,
    to,
    patchAt,
    availableAt: available.at,
    flipAt: flipped.at,
    ...(check ? { checkAt: check.at } : {}),
    milestones: m,
    flipMs: flipped.at - available.at,
    operatorFlipMs: ms(m.promoted) - ms(m.previewAvailable),
    operatorSawMs: ms(m.previewAvailable) - available.at,
    applyMs: flipped.at - ms(m.promoted),
    rolloutMs: flipped.at - patchAt,
    violations,
  };
}
