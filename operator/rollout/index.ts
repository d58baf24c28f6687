// The blue/green engine's public API, for the reconciler and the CLI.
// README.md beside this file says how to drive it.
export { nextRollout, type RolloutDecision, type RolloutEvent, type RolloutInput } from './engine.js';
export {
  type DeploymentObservation,
  type MeasurementResult,
  type Observation,
  type RolloutSpec,
  MISSING_DEPLOYMENT,
  fullyAvailable,
  previewReplicas,
} from './observed.js';
export type { Action, ColourPlan, FlipSelectorAction, Layout, MoveAutoscalersAction, RunAnalysisAction, SetColourAction } from './plan.js';
export { type RolloutCondition, type RolloutSummary, ROLLOUT_CONDITION_TYPES, servingSummary } from './conditions.js';
export { type RolloutStatusRead, readRolloutStatus, writeRolloutStatus } from './persist.js';
export { type CommandVerdict, commandPatch, commandVerdict, pendingCommands } from './commands.js';
export { type DescribedStep, type RolloutDescription, describeRollout, formatRolloutDescription, whatHappensNext } from './describe.js';
export {
  COMMANDS,
  FAILURE_REASONS,
  HISTORY_LIMIT,
  ROLLOUT_STEPS,
  type AnalysisProgress,
  type Failure,
  type FailureReason,
  type HistoryEntry,
  type Release,
  type RolloutCommand,
  type RolloutCommands,
  type RolloutState,
  type RolloutStep,
} from './state.js';
