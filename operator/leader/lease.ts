/**
 * Leader election on a coordination.k8s.io/v1 Lease, with the semantics of
 * client-go's tools/leaderelection:
 *  - a candidate takes the Lease when it is absent, released (no holder), or
 *    expired; every write carries the resourceVersion it read, so of two
 *    candidates exactly one wins and the other gets 409 Conflict;
 *  - the leader renews every retry period; when no renewal has succeeded for
 *    the renew deadline it steps down (onStoppedLeading('lost')), before the
 *    lease duration lets anyone else in;
 *  - `leaseTransitions` counts changes of holder;
 *  - `release()` on graceful shutdown clears the holder so a successor takes
 *    over at its next attempt instead of waiting out the lease.
 * `run()` resolves once this process stops leading (or is stopped); like
 * client-go, it does not campaign again by itself: the owner exits, or calls
 * `run()` again.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { isConflict, isNotFound, type KubeClient, type KubeObject } from '../kube/client.js';
import { pathFor, resources } from '../kube/resources.js';
import { errorFields, type Logger } from '../observability/logger.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  /** MicroTime: RFC 3339 with exactly six fractional digits. */
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaderTimings {
  /** How long a Lease stays valid after its last renewal, in whole seconds (the Lease field is an integer). */
  leaseDurationSeconds: number;
  /** How long the leader keeps retrying a failed renewal before it steps down. */
  renewDeadlineSeconds: number;
  /** Interval between attempts to acquire or renew. */
  retryPeriodSeconds: number;
}

/** client-go's and controller-runtime's defaults. */
export const defaultLeaderTimings: LeaderTimings = { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 };

/** Time, so tests can drive it. `sleep` resolves (never rejects) early when `signal` aborts. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, { signal }).catch(() => undefined),
};

/** Why this process stopped leading: the Lease was lost, `stop()` was called, or `release()` was. */
export type StepDownReason = 'lost' | 'stopped' | 'released';

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  /** Defaults to `defaultIdentity()`: hostname (the pod name) plus a random suffix. */
  identity?: string;
  timings?: Partial<LeaderTimings>;
  clock?: Clock;
  /** Jitter for a candidate's retries; defaults to Math.random. */
  random?: () => number;
  logger: Logger;
  /** Called once leadership is acquired; not awaited (it may start long-running work). Errors are logged. */
  onStartedLeading: () => void | Promise<void>;
  /**
   * Called once when a process that led stops leading, and awaited: on `release()`
   * the Lease is handed over only after it returns, so the successor never
   * overlaps with work still draining here.
   */
  onStoppedLeading: (reason: StepDownReason) => void | Promise<void>;
}

export interface LeaderElector {
  readonly identity: string;
  /** Campaigns, then renews while leading; resolves once leadership ends or `stop()`/`release()` is called. */
  run(): Promise<void>;
  /** True while leading and the last renewal is younger than the renew deadline. */
  isLeader(): boolean;
  /** Stops the loop and, if this process holds the Lease, hands it over at once. */
  release(): Promise<void>;
  /** Stops the loop without touching the Lease (others take over once it expires). */
  stop(): void;
}

/** client-go's JitterFactor: renewDeadline must exceed retryPeriod × 1.2 so a jittered retry still fits. */
const jitterFactor = 1.2;

export function validateTimings(timings: LeaderTimings): LeaderTimings {
  const { leaseDurationSeconds: lease, renewDeadlineSeconds: deadline, retryPeriodSeconds: retry } = timings;
  if (!Number.isInteger(lease) || lease < 1) throw new RangeError(`leaseDurationSeconds must be a whole number of seconds ≥ 1, got ${lease}`);
  if (!(retry > 0)) throw new RangeError(`retryPeriodSeconds must be > 0, got ${retry}`);
  // The leader must give up before anyone else may take over, or two would lead at once.
  if (!(lease > deadline)) throw new RangeError(`leaseDurationSeconds (${lease}) must be greater than renewDeadlineSeconds (${deadline})`);
  if (!(deadline > retry * jitterFactor)) {
    throw new RangeError(`renewDeadlineSeconds (${deadline}) must be greater than retryPeriodSeconds × ${jitterFactor} (${retry * jitterFactor})`);
  }
  return timings;
}

/** Hostname (a pod's name in Kubernetes) and a random suffix, so two processes on one host differ (as client-go). */
export function defaultIdentity(): string {
  return `${hostname()}_${randomBytes(4).toString('hex')}`;
}

/** MicroTime wants exactly six fractional digits; toISOString gives three. */
const microTime = (ms: number): string => new Date(ms).toISOString().replace(/Z$/, '000Z');

type Attempt = 'acquired' | 'held-by-other' | 'failed';

interface RunState {
  abort: AbortController;
  reason?: StepDownReason;
  done?: Promise<void>;
}

export function createLeaderElector(options: LeaderElectorOptions): LeaderElector {
  const { client, namespace, name, logger } = options;
  const timings = validateTimings({ ...defaultLeaderTimings, ...options.timings });
  const renewDeadlineMs = timings.renewDeadlineSeconds * 1000;
  const retryMs = timings.retryPeriodSeconds * 1000;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const identity = options.identity ?? defaultIdentity();
  const leasePath = pathFor(resources.Lease, namespace, name);
  const collectionPath = pathFor(resources.Lease, namespace);
  const fields = { lease: `${namespace}/${name}`, identity };

  let leading = false;
  /** Local time at which the last successful acquire or renew was sent. */
  let lastRenewAt = 0;
  /** The Lease as we last wrote it, for the leader's one-request renewal. */
  let held: Lease | undefined;
  /**
   * When the Lease record last changed, by our own clock. Expiry is judged from it
   * as well as from renewTime, so a clock skewed against the leader's cannot make
   * a live Lease look expired (client-go judges by this observation alone).
   */
  let observed: { record: string; at: number } | undefined;
  let current: RunState | undefined;

  const observe = (lease: Lease | undefined, now: number): void => {
    const record = JSON.stringify(lease?.spec ?? null);
    if (observed?.record !== record) observed = { record, at: now };
  };

  const heldByOther = (spec: LeaseSpec, now: number): boolean => {
    if (!spec.holderIdentity || spec.holderIdentity === identity) return false;
    const durationMs = (spec.leaseDurationSeconds ?? timings.leaseDurationSeconds) * 1000;
    const renewedAt = Date.parse(spec.renewTime ?? spec.acquireTime ?? '');
    const validByRenewTime = Number.isFinite(renewedAt) && renewedAt + durationMs > now;
    const validByObservation = (observed?.at ?? now) + durationMs > now;
    return validByRenewTime || validByObservation;
  };

  const record = (previous: LeaseSpec | undefined, now: number): LeaseSpec => {
    const ours = previous?.holderIdentity === identity;
    return {
      holderIdentity: identity,
      leaseDurationSeconds: timings.leaseDurationSeconds,
      acquireTime: ours && previous?.acquireTime ? previous.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: previous === undefined ? 0 : (previous.leaseTransitions ?? 0) + (ours ? 0 : 1),
    };
  };

  const getLease = async (signal: AbortSignal): Promise<Lease | undefined> => {
    try {
      return await client.request<Lease>('GET', leasePath, { signal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };

  // Optimistic concurrency: PUT carries metadata.resourceVersion, so a Lease changed since we read it answers 409.
  const update = (lease: Lease, spec: LeaseSpec, signal: AbortSignal): Promise<Lease> =>
    client.request<Lease>('PUT', leasePath, { body: { ...lease, spec }, signal });

  async function tryAcquireOrRenew(signal: AbortSignal): Promise<Attempt> {
    if (leading && held) {
      const now = clock.now();
      try {
        held = await update(held, record(held.spec, now), signal);
        lastRenewAt = now;
        return 'acquired';
      } catch (err) {
        // Changed since our last write: read it and decide below.
        if (!isConflict(err)) throw err;
      }
    }
    const lease = await getLease(signal);
    const now = clock.now();
    observe(lease, now);
    if (!lease) {
      const created = await client.request<Lease>('POST', collectionPath, {
        body: { apiVersion: resources.Lease.apiVersion, kind: resources.Lease.kind, metadata: { name, namespace }, spec: record(undefined, now) },
        signal,
      });
      held = created;
      lastRenewAt = now;
      return 'acquired';
    }
    const spec = lease.spec ?? {};
    // A leader that finds another holder has lost the Lease at some point, expired or not: step down.
    if (leading && spec.holderIdentity && spec.holderIdentity !== identity) return 'held-by-other';
    if (heldByOther(spec, now)) return 'held-by-other';
    held = await update(lease, record(spec, now), signal);
    lastRenewAt = now;
    return 'acquired';
  }

  /** One attempt bounded by `timeoutMs`, so a hung request cannot outlive the renew deadline. */
  async function attempt(signal: AbortSignal, timeoutMs: number): Promise<Attempt> {
    try {
      return await tryAcquireOrRenew(AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, timeoutMs))]));
    } catch (err) {
      if (signal.aborted) return 'failed';
      if (isConflict(err)) logger.debug('leader election: lost a race for the Lease', fields);
      else logger.warn('leader election: could not acquire or renew the Lease', { ...fields, ...errorFields(err) });
      return 'failed';
    }
  }

  async function startLeading(): Promise<void> {
    leading = true;
    logger.info('leader election: became leader', { ...fields, leaseTransitions: held?.spec?.leaseTransitions ?? 0 });
    try {
      await options.onStartedLeading();
    } catch (err) {
      logger.error('leader election: onStartedLeading failed', { ...fields, ...errorFields(err) });
    }
  }

  async function stopLeading(reason: StepDownReason): Promise<void> {
    leading = false;
    held = undefined;
    const log = reason === 'lost' ? logger.warn.bind(logger) : logger.info.bind(logger);
    log('leader election: stopped leading', { ...fields, reason });
    try {
      await options.onStoppedLeading(reason);
    } catch (err) {
      logger.error('leader election: onStoppedLeading failed', { ...fields, ...errorFields(err) });
    }
  }

  async function loop(state: RunState): Promise<void> {
    const { signal } = state.abort;
    logger.info('leader election: campaigning', fields);
    for (;;) {
      if (signal.aborted) return;
      if ((await attempt(signal, renewDeadlineMs)) === 'acquired') break;
      if (signal.aborted) return;
      // Jitter keeps candidates from retrying in lockstep; kept small so takeover stays near leaseDuration + retryPeriod.
      await clock.sleep(retryMs * (1 + 0.2 * random()), signal);
    }
    void startLeading();
    let reason: StepDownReason = 'lost';
    for (;;) {
      const untilDeadline = renewDeadlineMs - (clock.now() - lastRenewAt);
      await clock.sleep(Math.max(0, Math.min(retryMs, untilDeadline)), signal);
      if (signal.aborted) {
        reason = state.reason ?? 'stopped';
        break;
      }
      const remaining = renewDeadlineMs - (clock.now() - lastRenewAt);
      if (remaining <= 0) {
        logger.warn('leader election: no successful renewal within the renew deadline', { ...fields, renewDeadlineSeconds: timings.renewDeadlineSeconds });
        break;
      }
      const outcome = await attempt(signal, remaining);
      if (signal.aborted) {
        reason = state.reason ?? 'stopped';
        break;
      }
      if (outcome === 'held-by-other') {
        logger.warn('leader election: the Lease has another holder', fields);
        break;
      }
    }
    await stopLeading(reason);
  }

  async function release(): Promise<void> {
    if (current) {
      current.reason = 'released';
      current.abort.abort();
      await current.done;
    }
    // A few tries: a 409 here means the Lease changed under us (perhaps a renewal in flight when we aborted).
    for (let tries = 0; tries < 3; tries += 1) {
      try {
        const signal = AbortSignal.timeout(renewDeadlineMs);
        const lease = await getLease(signal);
        if (!lease?.spec || lease.spec.holderIdentity !== identity) return;
        const now = clock.now();
        // As client-go: no holder, a one-second duration, times set to now; the transition count is kept.
        await update(lease, { leaseDurationSeconds: 1, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: lease.spec.leaseTransitions ?? 0 }, signal);
        logger.info('leader election: released the Lease', fields);
        return;
      } catch (err) {
        if (isConflict(err)) continue;
        logger.warn('leader election: could not release the Lease; a successor waits for it to expire', { ...fields, ...errorFields(err) });
        return;
      }
    }
  }

  return {
    identity,
    run() {
      if (current) return Promise.reject(new Error(`leader election for ${fields.lease} is already running`));
      const state: RunState = { abort: new AbortController() };
      current = state;
      state.done = loop(state).finally(() => {
        if (current === state) current = undefined;
      });
      return state.done;
    },
    isLeader: () => leading && clock.now() - lastRenewAt < renewDeadlineMs,
    release,
    stop() {
      if (!current) return;
      current.reason ??= 'stopped';
      current.abort.abort();
    },
  };
}
