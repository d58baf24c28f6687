/**
 * One level-based reconcile pass for one AuthService: read the world from the
 * informer caches, let the blue/green engine decide where each colour,
 * the stable Service and the autoscalers should be, compute every child with
 * the pure builders, apply only what differs, write status only when it
 * differs, record the engine's events, and say when to look again. A pass
 * never decides from a cache older than its own last status write, and a
 * decision that moves traffic is written to the status before it is carried out.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import type { AuthService, AuthServiceStatus, Colour } from '../api/types.js';
import { API_VERSION, COLOURS, KIND } from '../api/types.js';
import type { KubeClient, KubeObject } from '../kube/client.js';
import { isConflict, KubeError } from '../kube/client.js';
import { pathFor, resourceFor, resources } from '../kube/resources.js';
import type { Logger } from '../observability/logger.js';
import { podTemplateHash } from '../reconcile/deployment.js';
import { stableHash } from '../reconcile/hash.js';
import { LABEL_MANAGED_BY, MANAGED_BY, names } from '../reconcile/meta.js';
import { podSecretReferences, secretsHash, type SecretLike } from '../reconcile/secrets.js';
import { renderAll, type OptionalCrds, type RenderedObject } from '../render.js';
import { nextRollout, readRolloutStatus, servingSummary, writeRolloutStatus, type Layout } from '../rollout/index.js';
import { measure, type ServiceUrlResolver } from './analysis-runner.js';
import { applyLayout, observe, observeDeployment } from './blue-green.js';
import { isSubset } from './drift.js';
import type { EventRecorder } from './events.js';
import type { Measurements } from './measurements.js';
import { desiredStatus, mergeConditions, onlyProgress, ownStatus, type FeatureState, type StatusFacts } from './status.js';

/** Read access to what the informers hold. */
export interface Caches {
  get<T>(kind: string, namespace: string, name: string): T | undefined;
}

export interface ReconcilerDeps {
  client: KubeClient;
  caches: Caches;
  /** Which optional CRDs discovery found. */
  crds: () => OptionalCrds;
  events: EventRecorder;
  now: () => Date;
  logger: Logger;
  /** Where analysis measurements reach a colour's Service. */
  serviceUrl: ServiceUrlResolver;
  /** Analysis measurements, run beside the passes; the latest result per AuthService for the engine. */
  measurements: Measurements;
  /** This operator's last status write per AuthService key. */
  statusWrites: Map<string, StatusWrite>;
}

export interface StatusWrite {
  /** When it was written (epoch ms), to pace progress-only writes. */
  at: number;
  /** The AuthService's resourceVersion the write produced. */
  produced: string | undefined;
  /** Whether the informer's cache has caught up with it. */
  seen: boolean;
}

export interface ReconcileResult {
  /** Look again after this long even without an event (a deadline, a delay, a missing CRD). */
  requeueAfterMs?: number;
  /** Objects written this pass (0 on an idle resync). */
  applied: number;
}

const writtenVerbs = ['Created', 'Updated', 'Deleted'] as const;
type WrittenVerb = (typeof writtenVerbs)[number];

/**
 * The least time between two status writes that only move progress figures
 * (onlyProgress in status.ts). Pods of one colour turn Ready within moments of
 * each other; a write per pod was a write per pod with nothing decided. Five
 * seconds keeps `kubectl get -w` live for a person; a change of phase, of any
 * condition's status or reason, or of the rollout's state is written at once.
 */
export const PROGRESS_WRITE_INTERVAL_MS = 5000;

/** A spec the builders cannot turn into objects: retrying will not help until the spec changes. */
export class InvalidSpecError extends Error {}

/**
 * A child could not be written. The pass still carries when the rollout wants
 * to look again (a scale-down delay, a deadline), so the failure's backoff,
 * which grows to minutes, does not also postpone those.
 */
export class ApplyFailedError extends KubeError {
  constructor(
    message: string,
    readonly requeueAfterMs: number | undefined,
  ) {
    super(500, 'ApplyFailed', message);
    this.name = 'ApplyFailedError';
  }
}

const crdNames = {
  VerticalPodAutoscaler: 'verticalpodautoscalers.autoscaling.k8s.io',
  ServiceMonitor: 'servicemonitors.monitoring.coreos.com',
  PrometheusRule: 'prometheusrules.monitoring.coreos.com',
} as const;

/** Secret keys the pods need that are absent ("secret/key"). Optional keys do not count. */
function missingSecretKeys(auth: AuthService, secrets: ReadonlyMap<string, SecretLike | undefined>): string[] {
  return podSecretReferences(auth.spec)
    .filter((ref) => !ref.optional && secrets.get(ref.secret)?.data?.[ref.key] === undefined)
    .map((ref) => `${ref.secret}/${ref.key}`);
}

function featureState(enabled: boolean, present: boolean, kind: keyof typeof crdNames): FeatureState {
  if (!enabled) return { state: 'disabled' };
  return present ? { state: 'applied' } : { state: 'crd-missing', crd: crdNames[kind] };
}

const minimum = (...values: Array<number | undefined>): number | undefined => {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length ? Math.min(...defined) : undefined;
};

/**
 * Marks what was applied with a hash of it. The drift check alone (desired ⊆ live)
 * cannot see a field the spec no longer sets; a changed hash can.
 */
export const ANNOTATION_APPLIED = 'auth.keyward.dev/applied';

function stamped(object: RenderedObject): RenderedObject {
  // A Deployment's replicas are left out: the HPA changes them, and a scale is no change of what was
  // applied. Hashing them forced a full apply after every HPA scale, which could undo a scale landing
  // meanwhile. A replica count the operator itself wants differs from the live one and is applied anyway.
  const hashed = object.kind === 'Deployment' ? { ...object, spec: { ...(object as V1Deployment).spec, replicas: undefined } } : object;
  const hash = stableHash(hashed, 16);
  return { ...object, metadata: { ...object.metadata, annotations: { ...object.metadata.annotations, [ANNOTATION_APPLIED]: hash } } };
}

/**
 * A Deployment whose count the rollout leaves alone ('keep': the HPA's, or the live one) carries the
 * count the cache holds now, not the one observed when the pass began: an HPA scale that lands in
 * between would otherwise be a difference to apply, and the apply would put the old count back.
 *
 * It also carries the cache's resourceVersion, which makes the apply a conditional write: a scale
 * the cache has not heard of yet (the informer's lag) fails it with 409 instead of being undone
 * until the HPA's next sync. The count cannot simply be left out: leaving spec.replicas out of an
 * apply that set it before resets it to 1.
 */
function withLiveReplicas(object: RenderedObject, live: KubeObject | undefined, layout: Layout, name: string): RenderedObject {
  if (object.kind !== 'Deployment' || live === undefined) return object;
  const colour = COLOURS.find((c) => object.metadata.name === `${name}-${c}`);
  const replicas = (live as V1Deployment).spec?.replicas;
  if (colour === undefined || layout.colours[colour]?.replicas !== 'keep' || replicas === undefined) return object;
  const version = live.metadata?.resourceVersion;
  const metadata = version === undefined ? object.metadata : { ...object.metadata, resourceVersion: version };
  return { ...object, metadata, spec: { ...(object as V1Deployment).spec, replicas } } as RenderedObject;
}

/** How soon a pass whose conditional write met a newer object looks again, if no event for it comes first. */
const STALE_CACHE_RETRY_MS = 1_000;

/**
 * May this AuthService write the object that holds a child's name? Yes when there is none, when it
 * controls it, or when the object carries the operator's label and no controller (the children an
 * AuthService deleted with --cascade=orphan left behind: adopted). Not while the object is its
 * predecessor's, an AuthService of the same name deleted and created again whose children the
 * garbage collector has yet to remove. Never when it is anyone else's, as controller-runtime's
 * AlreadyOwnedError: the forced apply would take it over, and its owner would take it back.
 */
type Claim = { to: 'write' } | { to: 'wait' } | { to: 'refuse'; why: string };

function claimOn(existing: KubeObject | undefined, auth: AuthService): Claim {
  if (!existing) return { to: 'write' };
  const controller = existing.metadata?.ownerReferences?.find((o) => o.controller === true);
  if (controller?.uid === auth.metadata.uid) return { to: 'write' };
  // The pass stops earlier for a predecessor's child the cache holds; this one was found by a read.
  if (predecessorOwns(existing, auth)) return { to: 'wait' };
  if (controller) return { to: 'refuse', why: `it belongs to ${controller.kind} ${controller.name}, not to this AuthService; rename one of the two` };
  if (existing.metadata?.labels?.[LABEL_MANAGED_BY] === MANAGED_BY) return { to: 'write' };
  return { to: 'refuse', why: 'an object of that name exists and the operator did not create it (no owner reference, no operator label: Helm, Argo CD or a hand-made one?); remove it or rename the AuthService' };
}

/** Whether `object` is a child of an AuthService of this name deleted before this one was created. */
function predecessorOwns(object: KubeObject, auth: AuthService): boolean {
  const controller = object.metadata?.ownerReferences?.find((o) => o.controller === true);
  return controller !== undefined && controller.kind === KIND && controller.name === auth.metadata.name && controller.uid !== auth.metadata.uid;
}

/** How soon a pass waiting for the garbage collector to remove a predecessor's children looks again. */
const PREDECESSOR_RETRY_MS = 2_000;

/**
 * Every child still a predecessor's, as the caches hold them. The pass waits for all of them, not
 * only for those the rollout reads (the colours' Deployments and Services, the stable Service, which
 * observed would be adopted: the new AuthService would record the old one's running colour and image
 * as its own): with any of them left, some writes would be refused and others made.
 */
function predecessorsChildren(deps: ReconcilerDeps, auth: AuthService, namespace: string): string[] {
  const n = names(auth);
  const children: Array<[string, string]> = [
    ['Service', n.stable], ['ServiceAccount', n.stable], ['PodDisruptionBudget', n.stable],
    ...COLOURS.flatMap((c): Array<[string, string]> => [['Deployment', n.colour(c)], ['Service', n.colour(c)]]),
    ...optionalChildren(auth),
  ];
  return children.filter(([kind, name]) => {
    const cached = deps.caches.get<KubeObject>(kind, namespace, name);
    return cached !== undefined && predecessorOwns(cached, auth);
  }).map(([kind, name]) => `${kind} ${name}`);
}

/** The optional kinds whose CRD discovery must find before they are rendered. */
const crdOf: Partial<Record<string, keyof OptionalCrds>> = {
  VerticalPodAutoscaler: 'verticalPodAutoscaler',
  ServiceMonitor: 'serviceMonitor',
  PrometheusRule: 'prometheusRule',
};

/** Children that exist only while a feature is on: [kind, name]. */
function optionalChildren(auth: AuthService): Array<[string, string]> {
  const n = names(auth);
  return [
    ['HorizontalPodAutoscaler', n.stable], ['VerticalPodAutoscaler', n.stable], ['NetworkPolicy', n.stable],
    ['ServiceMonitor', n.stable], ['PrometheusRule', n.stable], ['CronJob', n.backupCronJob], ['ConfigMap', n.backupScripts],
  ];
}

/** Writes the Degraded/InvalidSpec condition, so `kubectl describe` says why nothing happens. */
async function reportInvalidSpec(deps: ReconcilerDeps, auth: AuthService, message: string): Promise<void> {
  const previous = auth.status;
  const generation = auth.metadata.generation ?? 0;
  const degraded = { type: 'Degraded', status: 'True' as const, reason: 'InvalidSpec', message };
  const conditions = mergeConditions(previous?.conditions, [degraded], generation, deps.now().toISOString());
  const others = (previous?.conditions ?? []).filter((c) => c.type !== 'Degraded');
  const status = { ...previous, observedGeneration: generation, phase: 'Degraded' as const, conditions: [...others, ...conditions] };
  if (!isSubset(status, previous ?? {})) {
    await deps.client.applyStatus({ apiVersion: API_VERSION, kind: KIND, metadata: { name: auth.metadata.name, namespace: auth.metadata.namespace }, status } as KubeObject);
    await deps.events.record(auth, 'Warning', 'InvalidSpec', message);
  }
}

/**
 * The AuthService to decide from: the cached one, unless the cache has not yet caught up with this
 * operator's own last status write. The Service event of a pass that moved traffic can arrive
 * before the AuthService event carrying that pass's status, and another writer's change (a CLI
 * command, a label) can land between the two. Deciding from a status without the last decision
 * could undo it, so until the cache has caught up, the object is read from the API server, whose
 * GET is a quorum read. Caught up means the cache shows the version the write produced, or the
 * version such a read returns (which includes the write). A watch that is down keeps the reads
 * going, one per pass, however long it stays down: never a decision from before the write.
 */
async function decideFrom(deps: ReconcilerDeps, namespace: string, name: string, cached: AuthService): Promise<AuthService | undefined> {
  const last = deps.statusWrites.get(`${namespace}/${name}`);
  if (!last || last.seen) return cached;
  if (cached.metadata.resourceVersion === last.produced) {
    last.seen = true;
    return cached;
  }
  deps.logger.debug('reading the AuthService from the API server: the cache does not show the last status written yet', { authservice: `${namespace}/${name}` });
  const fresh = await deps.client.get<AuthService & KubeObject>(pathFor(resources.AuthService, namespace, name));
  if (fresh && fresh.metadata.resourceVersion === cached.metadata.resourceVersion) last.seen = true;
  return fresh;
}

export async function reconcile(deps: ReconcilerDeps, namespace: string, name: string): Promise<ReconcileResult> {
  const key = `${namespace}/${name}`;
  const cached = deps.caches.get<AuthService>(KIND, namespace, name);
  // A read that finds it gone (404) is as good as the cache saying so.
  const auth = cached && !cached.metadata.deletionTimestamp ? await decideFrom(deps, namespace, name, cached) : cached;
  // Gone, or going: ownerReferences let the garbage collector remove the children.
  if (!auth || auth.metadata.deletionTimestamp) {
    deps.statusWrites.delete(key);
    deps.measurements.forget(key);
    return { applied: 0 };
  }
  const { spec } = auth;
  const log = { authservice: key };

  // Deleted and created again under this name: until the garbage collector has removed what the
  // AuthService before it owned, this one neither decides nor writes anything.
  const predecessors = predecessorsChildren(deps, auth, namespace);
  if (predecessors.length > 0) {
    deps.logger.info(`waiting for the garbage collector to remove ${predecessors.join(', ')} of the AuthService deleted before this one`, log);
    return { applied: 0, requeueAfterMs: PREDECESSOR_RETRY_MS };
  }

  const secretNames = [...new Set(podSecretReferences(spec).map((r) => r.secret))];
  const secrets = new Map(secretNames.map((s) => [s, deps.caches.get<SecretLike>('Secret', namespace, s)]));
  const hash = secretsHash(spec, [...secrets.values()].filter((s): s is SecretLike => s !== undefined));

  // The engine decides; this pass carries out its decision.
  const persisted = readRolloutStatus(auth.status?.rollout);
  if (persisted.problem) deps.logger.warn('ignoring unreadable status.rollout; adopting what runs', { ...log, problem: persisted.problem });
  const observed = observe({ auth, caches: deps.caches, desiredRevision: podTemplateHash(auth, hash), analysis: deps.measurements.latest(key) });
  const decision = nextRollout({ spec, state: persisted.state, commands: persisted.commands, observed, now: deps.now().getTime() });
  const activeColour: Colour = decision.layout.selector ?? decision.summary.activeColor ?? 'blue';
  const intent = writeRolloutStatus(decision.state);
  const movesTraffic = decision.layout.selector !== undefined && decision.layout.selector !== observed.serviceSelectorColor;

  const crds = deps.crds();
  const render = (colour: Colour): RenderedObject[] => renderAll(auth, { activeColour: colour, servingColour: observed.serviceSelectorColor, secretsHash: hash, crds });
  let rendered: RenderedObject[];
  try {
    rendered = render(activeColour);
  } catch (err) {
    const message = `The spec cannot be rendered: ${err instanceof Error ? err.message : String(err)}`;
    await reportInvalidSpec(deps, auth, message);
    throw new InvalidSpecError(message, { cause: err });
  }
  const renderAutoscalers = (colour: Colour): RenderedObject[] =>
    (colour === activeColour ? rendered : render(colour)).filter((o) => o.kind === 'HorizontalPodAutoscaler' || o.kind === 'VerticalPodAutoscaler');
  const layout = applyLayout(auth, rendered, decision.layout, renderAutoscalers, observed);
  const objects = layout.objects.map(stamped);
  const { scale } = layout;

  let applied = 0;
  let applyError: StatusFacts['applyError'];
  // What the API server answered to our writes: fresher than the cache for this pass's status.
  const answers = new Map<string, KubeObject>();
  // What this pass wrote, told in one Event per verb after the writes: eleven "Created X" Events
  // for one new AuthService were eleven writes that `kubectl describe` lists as one story anyway.
  const written: Record<WrittenVerb, string[]> = { Created: [], Updated: [], Deleted: [] };
  // Set when a conditional write met an object newer than the cache: the next pass, from a cache
  // that has caught up, makes it again.
  let staleCache = false;
  const write = async (kind: string, objectName: string, existed: boolean, send: () => Promise<KubeObject>, note = '', conditional = false): Promise<void> => {
    try {
      answers.set(`${kind}/${objectName}`, await send());
      applied += 1;
      const verb = existed ? 'Updated' : 'Created';
      deps.logger.info(`${verb.toLowerCase()} ${kind} ${objectName}${note}`, log);
      written[verb].push(`${kind} ${objectName}${note}`);
    } catch (err) {
      if (conditional && isConflict(err)) {
        staleCache = true;
        deps.logger.debug(`not writing ${kind} ${objectName}: it changed since the cache last saw it; the next pass writes it`, log);
        return;
      }
      await failed(kind, objectName, err instanceof Error ? err.message : String(err));
    }
  };
  /** A write that failed, or was not sent: Degraded/ApplyFailed in the status, a Warning Event, a retry with backoff. */
  const failed = async (kind: string, objectName: string, message: string): Promise<void> => {
    applyError ??= { kind, name: objectName, message };
    deps.logger.warn(`writing ${kind} ${objectName} failed`, { ...log, error: message });
    await deps.events.record(auth, 'Warning', 'ApplyFailed', `Applying ${kind} ${objectName} failed: ${message}`);
  };
  /** The status this pass would write, from what it has seen and written so far. */
  const statusNow = (previous: AuthServiceStatus | undefined): { status: AuthServiceStatus; facts: StatusFacts } => {
    // The status shows the colour that serves, not the one decided on: automation waiting for
    // `.status.activeColor` would otherwise race the flip, or see a flip that a refused write never
    // made, or a rollback whose traffic has not come back yet.
    // What the stable Service selects now: what this pass wrote, or else what was observed (none before it exists).
    const selects = answers.has(`Service/${name}`) ? activeColour : observed.serviceSelectorColor;
    const serving: Colour = selects ?? activeColour;
    const liveActive = (answers.get(`Deployment/${name}-${serving}`) as V1Deployment | undefined) ?? deps.caches.get<V1Deployment>('Deployment', namespace, `${name}-${serving}`);
    const activePlan = decision.layout.colours[serving];
    const activeReplicas = typeof activePlan?.replicas === 'number' ? activePlan.replicas : (liveActive?.spec?.replicas ?? spec.replicas);
    const facts: StatusFacts = {
      generation: auth.metadata.generation ?? 0,
      activeColour: serving,
      active: { ...observeDeployment(liveActive), desiredReplicas: activeReplicas },
      missingSecrets: missingSecretKeys(auth, secrets),
      ...(applyError ? { applyError } : {}),
      features: {
        VerticalPodAutoscaler: featureState(spec.verticalAutoscaling.enabled, crds.verticalPodAutoscaler, 'VerticalPodAutoscaler'),
        ServiceMonitor: featureState(spec.monitoring.serviceMonitor.enabled, crds.serviceMonitor, 'ServiceMonitor'),
        PrometheusRule: featureState(spec.monitoring.prometheusRule.enabled, crds.prometheusRule, 'PrometheusRule'),
      },
    };
    const summary = servingSummary(decision.state, selects);
    const rollout = { phase: decision.phase, conditions: decision.conditions, summary, rollout: intent };
    return { status: desiredStatus(facts, rollout, previous, deps.now().toISOString()), facts };
  };
  /** Writes `status` and remembers the write; returns the status as it now is on the server. */
  const persist = async (status: AuthServiceStatus): Promise<AuthServiceStatus | undefined> => {
    const answer = await deps.client.applyStatus<KubeObject & { status?: AuthServiceStatus }>({ apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, status });
    const produced = answer.metadata?.resourceVersion;
    // Compared with the cache, not with `auth` (which may be a fresh read): a write that changed
    // nothing leaves the version as it was, and only a cache that holds it has seen it.
    deps.statusWrites.set(key, { at: deps.now().getTime(), produced, seen: produced !== undefined && produced === cached?.metadata.resourceVersion });
    return ownStatus(answer.status);
  };

  // A decision that moves traffic is persisted before it is carried out. Carried out first and
  // then lost (a crash or a lost lease before the status write, or a failed write), it left the
  // next pass deciding from the state before it, and that could send traffic back to a colour
  // that had just failed its checks. Persisted first, the next pass finishes what it says. Only
  // the decision (status.rollout) goes first: phase, active colour and conditions, what `kubectl
  // get` and automation read, change in the write at the end, once the Service has moved.
  let liveStatus = ownStatus(auth.status);
  let told = false;
  if (movesTraffic && !(isSubset(intent, liveStatus?.rollout ?? {}) && isSubset(liveStatus?.rollout ?? {}, intent))) {
    liveStatus = await persist({ ...liveStatus, rollout: intent });
    // Told as soon as the state holding them is persisted: a pass that fails or is cut short after
    // this point is followed by one that starts from that state, and would never tell them.
    for (const event of decision.events) await deps.events.record(auth, event.type, event.reason, event.message);
    told = true;
  }

  let waitingForPredecessor = false;
  for (const planned of objects) {
    const cached = deps.caches.get<KubeObject>(planned.kind, namespace, planned.metadata.name);
    // The cache holds only objects with the operator's label: a name it does not know is looked up
    // before the apply would create, or take over, whatever holds it.
    let live = cached;
    if (live === undefined) {
      try {
        live = await deps.client.get<KubeObject>(pathFor(resourceFor(planned.apiVersion, planned.kind), namespace, planned.metadata.name));
      } catch (err) {
        await failed(planned.kind, planned.metadata.name, `looking it up before creating it failed: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
    }
    const claim = claimOn(live, auth);
    if (claim.to === 'wait') {
      waitingForPredecessor = true;
      deps.logger.info(`waiting for ${planned.kind} ${planned.metadata.name} of the AuthService deleted before this one to be garbage-collected`, log);
      continue;
    }
    if (claim.to === 'refuse') {
      await failed(planned.kind, planned.metadata.name, claim.why);
      continue;
    }
    const object = withLiveReplicas(planned, live, decision.layout, name);
    if (live && isSubset(object, live)) continue;
    await write(object.kind, object.metadata.name, live !== undefined, () => deps.client.apply(object), '', object.metadata.resourceVersion !== undefined);
  }
  // A feature turned off: its object goes (only one this AuthService controls).
  const wanted = new Set(rendered.map((o) => `${o.kind}/${o.metadata.name}`));
  for (const [kind, objectName] of optionalChildren(auth)) {
    if (wanted.has(`${kind}/${objectName}`)) continue;
    // Not rendered because discovery does not see its CRD: never a reason to delete. A CRD really
    // removed took its objects with it; one that discovery missed for a moment (an API server
    // restarting) would otherwise cost every alert rule and VPA recommendation, then bring them back.
    const crd = crdOf[kind];
    if (crd !== undefined && !crds[crd]) continue;
    const live = deps.caches.get<KubeObject>(kind, namespace, objectName);
    const ours = live?.metadata?.ownerReferences?.some((o) => o.controller && o.uid === auth.metadata.uid);
    if (!live || !ours) continue;
    try {
      await deps.client.delete(pathFor(resourceFor(live.apiVersion!, kind), namespace, objectName));
      applied += 1;
      deps.logger.info(`deleted ${kind} ${objectName}: turned off in the spec`, log);
      written.Deleted.push(`${kind} ${objectName} (turned off in the spec)`);
    } catch (err) {
      applyError ??= { kind, name: objectName, message: err instanceof Error ? err.message : String(err) };
    }
  }
  // No scale-down of the colour a refused flip left serving: the engine planned it after the flip
  // that was to move traffic off it. (A resize of the serving colour that moves no traffic,
  // spec.replicas lowered at rest, goes ahead.)
  const flipRefused = movesTraffic && !answers.has(`Service/${name}`);
  for (const { colour, replicas } of scale) {
    if (flipRefused && colour === observed.serviceSelectorColor && replicas < observed.deployments[colour].specReplicas) continue;
    const deployment = `${name}-${colour}`;
    await write('Deployment', deployment, true, () => deps.client.mergePatch(pathFor(resources.Deployment, namespace, deployment), { spec: { replicas } }), ` (scaled to ${replicas})`);
  }

  for (const verb of writtenVerbs) {
    // Not awaited: an Event is best effort and must not add a round trip to the pass.
    if (written[verb].length > 0) void deps.events.record(auth, 'Normal', verb, `${verb} ${written[verb].join(', ')}`);
  }

  // At most one measurement is due per pass. It runs beside the passes; its result comes to the
  // engine in the pass its end queues.
  for (const action of decision.actions) {
    if (action.kind !== 'runAnalysis') continue;
    const started = deps.measurements.start(key, action.key, async () => {
      const result = await measure(action.check, { namespace, service: `${name}-${action.colour}` }, deps.serviceUrl);
      deps.logger.info(`analysis ${action.phase} ${action.measurement}/${action.count} on ${action.colour}: ${result.ok ? 'passed' : 'failed'}`, { ...log, detail: result.message });
      return result;
    });
    if (!started) deps.logger.debug(`analysis ${action.phase} ${action.measurement}/${action.count} waits: an earlier measurement of this AuthService is still running`, log);
  }

  const { status, facts } = statusNow(liveStatus);
  let progressDueMs: number | undefined;
  if (!isSubset(status, liveStatus ?? {}) || !isSubset(liveStatus ?? {}, status)) {
    const lastWritten = deps.statusWrites.get(key);
    const wait = lastWritten !== undefined && decision.events.length === 0 && onlyProgress(liveStatus, status) ? lastWritten.at + PROGRESS_WRITE_INTERVAL_MS - deps.now().getTime() : 0;
    if (wait > 0) {
      // Written by the pass this asks for, unless a pass with a real change comes first.
      progressDueMs = wait;
    } else {
      // The rollout's state is persisted before its events are told, so a restart never repeats a step.
      await persist(status);
    }
  }
  if (!told) for (const event of decision.events) await deps.events.record(auth, event.type, event.reason, event.message);

  const waitingForCrd = Object.values(facts.features).some((f) => f.state === 'crd-missing');
  const requeueAfterMs = minimum(decision.requeueAfterMs, waitingForCrd ? 60_000 : undefined, progressDueMs, staleCache ? STALE_CACHE_RETRY_MS : undefined, waitingForPredecessor ? PREDECESSOR_RETRY_MS : undefined);
  if (applyError) throw new ApplyFailedError(`applying ${applyError.kind} ${applyError.name}: ${applyError.message}`, requeueAfterMs);
  return { applied, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
}
