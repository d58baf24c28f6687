// promote, abort and retry: what each does in each step (the engine acts on the
// same verdict the CLI prints), and the status patch the CLI sends. Like
// `kubectl argo rollouts`, a command is a status write, never an action of the
// CLI itself: the operator does the work on its next pass.
import type { RolloutSpec } from './observed.js';
import { COMMANDS, isPostFlip, isPreFlip, type RolloutCommand, type RolloutCommands, type RolloutState } from './state.js';

export interface CommandVerdict {
  /** false: the engine acknowledges the command and does nothing (it records a CommandIgnored Event). */
  accepted: boolean;
  /** What will happen, or why nothing will. */
  message: string;
}

/** What `command` does to a rollout in `state`. */
export function commandVerdict(command: RolloutCommand, state: RolloutState | undefined, spec: RolloutSpec): CommandVerdict {
  if (!state) return { accepted: false, message: 'The operator has not started on this AuthService yet; nothing to act on.' };
  const { step, active, preview, previous } = state;
  const delay = `${spec.rollout.scaleDownDelaySeconds} s`;
  const firstDeploy = step === 'Deploying' && !active;
  switch (command) {
    case 'promote':
      if (firstDeploy) return { accepted: false, message: 'The first revision takes traffic as soon as it is available; there is nothing to promote.' };
      if (isPreFlip(step) && active && preview) {
        if (step === 'Paused' || step === 'Promoting') {
          return {
            accepted: true,
            message: `${preview.color} (revision ${preview.revision}) takes traffic from ${active.color} as soon as every one of its replicas is ready${spec.rollout.postPromotionAnalysis ? ', then the post-promotion checks run' : ''}; ${active.color} scales to 0 ${delay} after that.`,
          };
        }
        return {
          accepted: true,
          message: `Approved in advance: revision ${preview.revision} on ${preview.color} will not pause at the promotion gate (it is at ${step}; its checks still run).`,
        };
      }
      if (isPostFlip(step) && active) return { accepted: false, message: `Traffic already moved to ${active.color} (revision ${active.revision}).` };
      return noRollout(state, 'promote');
    case 'abort':
      if (firstDeploy) return { accepted: false, message: 'This is the first revision: there is no earlier one to return to.' };
      if (isPreFlip(step) && active && preview) {
        return {
          accepted: true,
          message: `The rollout of revision ${preview.revision} stops; traffic stays on ${active.color} (revision ${active.revision}); ${preview.color} scales to 0 after ${delay}. The AuthService becomes Degraded until the spec changes or retry is given.`,
        };
      }
      if (isPostFlip(step) && active && previous) {
        return {
          accepted: true,
          message: `Traffic goes back to ${previous.color} (revision ${previous.revision}) as soon as all its replicas are ready; ${active.color} scales to 0 after ${delay}. The AuthService becomes Degraded until the spec changes or retry is given.`,
        };
      }
      if (step === 'Aborted' || step === 'Degraded') return { accepted: false, message: 'The rollout has already stopped.' };
      return noRollout(state, 'abort');
    case 'retry':
      if (firstDeploy && state.failure) {
        return { accepted: true, message: `The first revision ${preview?.revision ?? ''} gets another ${spec.rollout.progressDeadlineSeconds} s to become available.` };
      }
      if ((step === 'Aborted' || step === 'Degraded') && state.failedRevision !== undefined) {
        return {
          accepted: true,
          message: `Revision ${state.failedRevision} is rolled out again from the start${step === 'Aborted' ? ' once traffic is back on the old colour' : ''} (if the spec still asks for it).`,
        };
      }
      return { accepted: false, message: 'No failed rollout to retry.' };
  }
}

function noRollout(state: RolloutState, command: RolloutCommand): CommandVerdict {
  if (state.step === 'Aborted' || state.step === 'Degraded') {
    const f = state.failure;
    return { accepted: false, message: `The rollout${f ? ` of revision ${f.revision} failed (${f.reason})` : ' stopped'}; use retry to roll it out again.` };
  }
  const serving = state.active ? ` Revision ${state.active.revision} serves on ${state.active.color}.` : '';
  return { accepted: false, message: `No rollout is in flight, so there is nothing to ${command}.${serving}` };
}

/** The JSON merge patch for the AuthService's status subresource that gives `command` at time `now`. */
export function commandPatch(command: RolloutCommand, now: number): { status: { rollout: { commands: RolloutCommands } } } {
  return { status: { rollout: { commands: { [command]: new Date(now).toISOString() } } } };
}

/** Commands given but not yet acted on by the operator. */
export function pendingCommands(commands: RolloutCommands, state: RolloutState | undefined): RolloutCommand[] {
  return COMMANDS.filter((c) => commands[c] !== undefined && state?.acknowledged[c] !== commands[c]);
}
