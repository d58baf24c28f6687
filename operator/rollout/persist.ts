// Reading and writing AuthService `status.rollout`. The CRD keeps that field
// open (x-kubernetes-preserve-unknown-fields) and anyone allowed to patch status
// can write there, so reading validates: a state that does not parse is dropped
// and the engine adopts what is running instead of acting on garbage.
import { z } from 'zod';
import { COLOURS } from '../api/types.js';
import { COMMANDS, FAILURE_REASONS, MILESTONES, ROLLOUT_STEPS, type RolloutCommands, type RolloutState } from './state.js';

const time = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { error: 'must be an RFC 3339 time' });
const color = z.enum(COLOURS);
const step = z.enum(ROLLOUT_STEPS);
const count = z.number().int().min(0);
const release = z.object({ color, revision: z.string().min(1), image: z.string() });
const commands = z.partialRecord(z.enum(COMMANDS), z.string());

const stateSchema = z.object({
  step,
  active: release.optional(),
  preview: release.optional(),
  previous: release.optional(),
  stepStartedAt: time.optional(),
  promoteAt: time.optional(),
  scaleDownAt: time.optional(),
  selectorWaitSince: time.optional(),
  promoteApproved: z.boolean().optional(),
  analysis: z
    .object({
      phase: z.enum(['pre', 'post']),
      color,
      revision: z.string().min(1),
      successes: count,
      failures: count,
      measurement: z.number().int().min(1),
      dueAt: time,
      lastMessage: z.string().optional(),
    })
    .optional(),
  failedRevision: z.string().optional(),
  failure: z
    .object({ step, reason: z.enum(FAILURE_REASONS), message: z.string(), revision: z.string(), at: time })
    .optional(),
  milestones: z.partialRecord(z.enum(MILESTONES), time).default({}),
  acknowledged: commands.default({}),
  history: z.array(z.object({ at: time, step, reason: z.string(), message: z.string() })).default([]),
});

// Fails to compile when RolloutState and the schema drift apart.
const _schemaMatchesType: z.ZodType<RolloutState> = stateSchema;

/** Where a step needs a field, it must be there; otherwise the engine would have to guess. */
function missingForStep(s: RolloutState): string | undefined {
  const needs: Array<[boolean, string]> = [
    [s.step !== 'Deploying' && !s.active, 'active'],
    [['Deploying', 'PrePromotionAnalysis', 'Paused', 'Promoting', 'Aborted'].includes(s.step) && !s.preview, 'preview'],
    [['PostPromotionAnalysis', 'ScalingDown'].includes(s.step) && !s.previous, 'previous'],
  ];
  const missing = needs.filter(([lacking]) => lacking).map(([, field]) => field);
  return missing.length > 0 ? `step ${s.step} needs ${missing.join(', ')}` : undefined;
}

export interface RolloutStatusRead {
  state?: RolloutState;
  commands: RolloutCommands;
  /** Why a state that was there could not be used (the engine then starts afresh by adopting what runs). */
  problem?: string;
}

/** Parses `status.rollout` as read from the API server. */
export function readRolloutStatus(raw: unknown): RolloutStatusRead {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { commands: {} };
  const record = raw as Record<string, unknown>;
  const parsedCommands = commands.safeParse(record.commands ?? {});
  const cmds: RolloutCommands = parsedCommands.success ? parsedCommands.data : {};
  if (record.step === undefined) return { commands: cmds };
  const parsed = stateSchema.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { commands: cmds, problem: `status.rollout.${issue.path.join('.')}: ${issue.message}` };
  }
  const problem = missingForStep(parsed.data);
  return problem ? { commands: cmds, problem: `status.rollout: ${problem}` } : { state: parsed.data, commands: cmds };
}

/**
 * The JSON to write as `status.rollout`. It never carries `commands`: those
 * belong to the CLI's field manager, and a server-side apply that left them
 * in would take them over.
 */
export function writeRolloutStatus(state: RolloutState): Record<string, unknown> {
  return JSON.parse(JSON.stringify(state)) as Record<string, unknown>;
}
