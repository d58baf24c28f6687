// Rollout status in words, for `keyward-operator status NAME` and for what the
// CLI prints after promote, abort and retry. Reads only the persisted state.
import type { Colour } from '../api/types.js';
import type { RolloutSpec } from './observed.js';
import type { HistoryEntry, Milestone, RolloutState, RolloutStep } from './state.js';

export type StepStatus = 'done' | 'current' | 'pending' | 'failed' | 'skipped';

export interface DescribedStep {
  name: string;
  status: StepStatus;
  /** When it finished (done), failed, or is planned to happen (current). */
  at?: string;
  detail?: string;
}

export interface RolloutDescription {
  step: RolloutStep | 'NotStarted';
  headline: string;
  /** The steps of the current (or last) rollout, in order. */
  steps: DescribedStep[];
  next: string;
  history: HistoryEntry[];
}

const other = (c: Colour): Colour => (c === 'blue' ? 'green' : 'blue');

/** The colours and revision of the current (or last) rollout, whichever step it is at. */
function parties(state: RolloutState): { newColor?: Colour; newRevision?: string; oldColor?: Colour } {
  const { step, active, preview, previous, failure } = state;
  if (step === 'PostPromotionAnalysis' || step === 'ScalingDown') return { newColor: active?.color, newRevision: active?.revision, oldColor: previous?.color };
  if (step === 'Degraded' && active) return { newColor: other(active.color), newRevision: failure?.revision, oldColor: active.color };
  if (step === 'Stable') return { newColor: active?.color, newRevision: active?.revision, oldColor: active ? other(active.color) : undefined };
  return { newColor: preview?.color, newRevision: preview?.revision, oldColor: active?.color };
}

// Which line each step's work (and failure) belongs to.
const LINE_OF_STEP: Partial<Record<RolloutStep, number>> = { Deploying: 0, PrePromotionAnalysis: 1, Paused: 2, Promoting: 3, PostPromotionAnalysis: 4, ScalingDown: 5 };

function headline(state: RolloutState): string {
  const { step, active, preview, previous, failure } = state;
  const serving = active ? `${active.color} (revision ${active.revision})` : 'nothing yet';
  switch (step) {
    case 'Stable':
      return `Stable: revision ${active?.revision} serves on ${active?.color}.`;
    case 'Deploying':
      return active ? `Deploying revision ${preview?.revision} on ${preview?.color}; traffic on ${serving}.` : `Deploying the first revision ${preview?.revision} on ${preview?.color}; nothing serves yet.`;
    case 'PrePromotionAnalysis':
      return `Checking revision ${preview?.revision} on ${preview?.color} before traffic moves; traffic on ${serving}.`;
    case 'Paused':
      return `Paused: revision ${preview?.revision} on ${preview?.color} waits for promote; traffic on ${serving}.`;
    case 'Promoting':
      return `Promoting revision ${preview?.revision}: traffic moves from ${active?.color} to ${preview?.color}.`;
    case 'PostPromotionAnalysis':
      return `Traffic on ${serving}; checking it while ${previous?.color} stays up for a rollback.`;
    case 'ScalingDown':
      return `Traffic on ${serving}; ${previous?.color} scales to 0 at ${state.scaleDownAt}.`;
    case 'Aborted':
      return `Aborted (${failure?.reason}): traffic on ${serving}; ${preview?.color} scales to 0 at ${state.scaleDownAt}.`;
    case 'Degraded':
      return `Degraded (${failure?.reason}): revision ${failure?.revision} failed at ${failure?.step}; traffic on ${serving}.`;
  }
}

/** The steps of the current or last rollout with their times, and the recent history. */
export function describeRollout(state: RolloutState | undefined, spec?: RolloutSpec): RolloutDescription {
  if (!state) return { step: 'NotStarted', headline: 'The operator has not started on this AuthService yet.', steps: [], next: whatHappensNext(undefined, spec), history: [] };
  const m = state.milestones;
  const { newColor, newRevision, oldColor } = parties(state);
  const next = whatHappensNext(state, spec);
  // Adopted, or a rollout the spec called off before it moved traffic: the history tells.
  if (!m.started || (state.step === 'Stable' && !m.promoted)) return { step: state.step, headline: headline(state), steps: [], next, history: state.history };
  // The first revision reaches Stable straight from Deploying, with nothing to scale down.
  const firstDeploy = (state.step === 'Deploying' && !state.active) || (state.step === 'Stable' && !m.scaledDown);
  if (firstDeploy || !oldColor) {
    const steps: DescribedStep[] = [
      { name: `Deploy the first revision ${newRevision ?? ''} on ${newColor ?? 'blue'}`, status: m.previewAvailable ? 'done' : state.failure ? 'failed' : 'current', at: m.previewAvailable ?? state.failure?.at, detail: state.failure?.message },
      { name: `Traffic to ${newColor ?? 'blue'}`, status: m.promoted ? 'done' : 'pending', at: m.promoted },
    ];
    return { step: state.step, headline: headline(state), steps, next, history: state.history };
  }
  const noPre = spec !== undefined && !spec.rollout.prePromotionAnalysis;
  const noPost = spec !== undefined && !spec.rollout.postPromotionAnalysis;
  const lines: Array<{ name: string; doneAt?: string; skippable: boolean }> = [
    { name: `Deploy revision ${newRevision} on ${newColor}`, doneAt: m.previewAvailable, skippable: false },
    { name: 'Pre-promotion analysis', doneAt: m.prePromotionAnalysisPassed, skippable: noPre },
    { name: 'Promotion gate', doneAt: m.promoted, skippable: false },
    { name: `Traffic to ${newColor}`, doneAt: m.promoted, skippable: false },
    { name: 'Post-promotion analysis', doneAt: m.postPromotionAnalysisPassed, skippable: noPost },
    { name: `Scale ${oldColor} to 0`, doneAt: state.failure ? undefined : m.scaledDown, skippable: false },
  ];
  const failedLine = state.failure ? (LINE_OF_STEP[state.failure.step] ?? -1) : -1;
  const currentLine = LINE_OF_STEP[state.step] ?? -1;
  const steps: DescribedStep[] = lines.map((line, i): DescribedStep => {
    if (i === failedLine) return { name: line.name, status: 'failed', at: state.failure!.at, detail: `${state.failure!.reason}: ${state.failure!.message}` };
    if (failedLine >= 0 && i > failedLine) return { name: line.name, status: 'skipped' };
    if (line.doneAt) return { name: line.name, status: 'done', at: line.doneAt, ...(i === 2 && m.paused ? { detail: `paused at ${m.paused}` } : {}) };
    if (i === currentLine) return { name: line.name, status: 'current', ...currentDetail(state, i) };
    // A step that finished without a milestone of its own was skipped (no checks configured).
    const later = lines.slice(i + 1).some((l) => l.doneAt) || currentLine > i;
    return { name: line.name, status: line.skippable || later ? 'skipped' : 'pending' };
  });
  if (state.failure) {
    steps.push({
      name: `Roll back: traffic on ${state.active?.color}, ${state.step === 'Aborted' ? state.preview?.color : newColor} to 0`,
      status: state.step === 'Aborted' ? 'current' : 'done',
      at: state.step === 'Aborted' ? state.scaleDownAt : m.scaledDown,
    });
  }
  return { step: state.step, headline: headline(state), steps, next, history: state.history };
}

function currentDetail(state: RolloutState, line: number): Pick<DescribedStep, 'at' | 'detail'> {
  const a = state.analysis;
  if ((line === 1 || line === 4) && a) return { at: a.dueAt, detail: `${a.successes} passed, ${a.failures} failed; measurement ${a.measurement} due${a.lastMessage ? `; last: ${a.lastMessage}` : ''}` };
  if (line === 3 && state.promoteAt) return { at: state.promoteAt, detail: 'once every replica is ready' };
  if (line === 5 && state.scaleDownAt) return { at: state.scaleDownAt };
  if (line === 2) return { detail: 'waiting for promote' };
  return state.stepStartedAt ? { detail: `since ${state.stepStartedAt}` } : {};
}

/** What the operator does next from `state`, in a sentence or two. */
export function whatHappensNext(state: RolloutState | undefined, spec?: RolloutSpec): string {
  if (!state) return 'The operator deploys the first revision on blue as soon as it sees this AuthService.';
  const { step, active, preview, previous } = state;
  const r = spec?.rollout;
  const gate = (to: Colour | undefined): string =>
    !r ? `the promotion gate decides when traffic moves to ${to}`
    : !r.autoPromotion ? `the rollout pauses until promote is given`
    : r.autoPromotionSeconds > 0 ? `traffic moves to ${to} ${r.autoPromotionSeconds} s later`
    : `traffic moves to ${to}`;
  const pre = r && !r.prePromotionAnalysis ? '' : 'the pre-promotion checks run, then ';
  const post = r && !r.postPromotionAnalysis ? '' : 'the post-promotion checks run; if they pass, ';
  const delay = r ? `${r.scaleDownDelaySeconds} s` : 'scaleDownDelaySeconds';
  switch (step) {
    case 'Stable':
      return `Nothing until the spec (or a referenced Secret) changes; a new revision is then deployed on ${active ? other(active.color) : 'the idle colour'} at the current size, checked, and given the traffic.`;
    case 'Deploying':
      if (!active) return `${preview?.color} takes traffic as soon as all its replicas are available.`;
      return `Once every replica of ${preview?.color} is available, ${pre}${gate(preview?.color)}. If that takes longer than ${r ? `${r.progressDeadlineSeconds} s` : 'progressDeadlineSeconds'}, the rollout aborts and traffic stays on ${active.color}.`;
    case 'PrePromotionAnalysis':
      return `When the checks pass, ${gate(preview?.color)}; ${r ? `more than ${r.prePromotionAnalysis?.failureLimit ?? 0} failed measurements abort` : 'too many failed measurements abort'} the rollout and traffic stays on ${active?.color}.`;
    case 'Paused':
      return `Waiting for promote: then traffic moves to ${preview?.color} once every replica is ready. abort stops the rollout instead.`;
    case 'Promoting':
      return `Traffic moves to ${preview?.color}${state.promoteAt ? ` at ${state.promoteAt} or later` : ''}, once every replica is ready; then ${post}${active?.color} scales to 0 after ${delay}.`;
    case 'PostPromotionAnalysis':
      return `If the checks pass, ${previous?.color} scales to 0 after ${delay}; if they fail, traffic goes back to ${previous?.color}.`;
    case 'ScalingDown':
      return `${previous?.color} scales to 0 at ${state.scaleDownAt}; the rollout is then complete. abort before then moves traffic back to ${previous?.color}.`;
    case 'Aborted':
      return `${preview?.color} scales to 0 at ${state.scaleDownAt}; the AuthService stays Degraded until the spec changes or retry is given.`;
    case 'Degraded':
      return `Nothing until the spec changes or retry is given; traffic stays on ${active?.color}.`;
  }
}

/** describeRollout as text, one step a line. */
export function formatRolloutDescription(d: RolloutDescription): string {
  const mark: Record<StepStatus, string> = { done: '✔', current: '▶', pending: '·', failed: '✖', skipped: '–' };
  const lines = [d.headline, ''];
  for (const s of d.steps) lines.push(`  ${mark[s.status]} ${s.name}${s.at ? `  ${s.at}` : ''}${s.detail ? `  (${s.detail})` : ''}`);
  if (d.steps.length > 0) lines.push('');
  lines.push(`Next: ${d.next}`);
  if (d.history.length > 0) {
    lines.push('', 'History:');
    for (const h of d.history) lines.push(`  ${h.at}  ${h.step.padEnd(21)} ${h.reason}: ${h.message}`);
  }
  return lines.join('\n');
}

/** The milestone names, for a CLI that prints them as columns. */
export const MILESTONE_LABELS: Record<Milestone, string> = {
  started: 'Started',
  previewAvailable: 'Preview available',
  prePromotionAnalysisPassed: 'Pre-promotion checks passed',
  paused: 'Paused',
  promoted: 'Promoted',
  postPromotionAnalysisPassed: 'Post-promotion checks passed',
  scaledDown: 'Scaled down',
  failed: 'Failed',
};
