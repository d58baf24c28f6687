/**
 * promote, abort, retry and status for one AuthService, as the CLI (and the
 * kubectl plugin) runs them. A command is a status patch, like `kubectl argo
 * rollouts`: the operator acts on it in its next pass, and the verdict printed
 * here is the same one the engine will act on.
 */
import type { AuthService } from './api/types.js';
import { KIND } from './api/types.js';
import { isConflict, type KubeClient } from './kube/client.js';
import { pathFor, resources } from './kube/resources.js';
import { commandPatch, commandVerdict, describeRollout, formatRolloutDescription, readRolloutStatus, whatHappensNext } from './rollout/index.js';
import type { RolloutCommand } from './rollout/state.js';

/** Field manager of the CLI's writes, apart from the operator's own. */
export const cliFieldManager = 'keyward-cli';

export interface Target {
  namespace: string;
  name: string;
}

async function load(client: KubeClient, target: Target): Promise<AuthService> {
  const auth = await client.get(pathFor(resources.AuthService, target.namespace, target.name));
  if (!auth) throw new Error(`no ${KIND} ${target.name} in namespace ${target.namespace}`);
  return auth as unknown as AuthService;
}

export interface CommandOutcome {
  accepted: boolean;
  /** What happens now (or why nothing will), then what comes after. */
  lines: string[];
}

/** Sends `command` when the engine would act on it; otherwise changes nothing and says why. */
export async function sendCommand(client: KubeClient, target: Target, command: RolloutCommand, now: number = Date.now()): Promise<CommandOutcome> {
  const auth = await load(client, target);
  const { state } = readRolloutStatus(auth.status?.rollout);
  const verdict = commandVerdict(command, state, auth.spec);
  if (!verdict.accepted) return { accepted: false, lines: [`${command}: not sent. ${verdict.message}`] };
  // The verdict was made on this resourceVersion: if the rollout moved on meanwhile, the API
  // server refuses the patch (409) rather than let the command act on a state nobody saw.
  const patch = { ...commandPatch(command, now), metadata: { resourceVersion: (auth.metadata as { resourceVersion?: string }).resourceVersion } };
  try {
    await client.mergePatch(`${pathFor(resources.AuthService, target.namespace, target.name)}/status`, patch, cliFieldManager);
  } catch (err) {
    if (isConflict(err)) return { accepted: false, lines: [`${command}: not sent. The rollout changed while the command was prepared; look at it again (status) and repeat.`] };
    throw err;
  }
  return { accepted: true, lines: [`${command}: sent to ${target.namespace}/${target.name}.`, verdict.message] };
}

/** The rollout's steps with their times, the recent history, and what happens next. */
export async function rolloutStatus(client: KubeClient, target: Target): Promise<string> {
  const auth = await load(client, target);
  const { state, problem } = readRolloutStatus(auth.status?.rollout);
  const header = `${KIND} ${target.namespace}/${target.name}: phase ${auth.status?.phase ?? 'unknown'}, ${auth.status?.readyText ?? '?'} ready on ${auth.status?.activeColor ?? '-'}`;
  return [
    header,
    ...(problem ? [`(status.rollout could not be read: ${problem})`] : []),
    formatRolloutDescription(describeRollout(state, auth.spec)),
    `Next: ${whatHappensNext(state, auth.spec)}`,
  ].join('\n');
}
