/**
 * Carries out a load profile the way Artillery does: an open model. Each phase
 * sends new virtual users at its arrival rate (ramping linearly with rampTo),
 * whether or not earlier ones have finished; each virtual user runs one
 * scenario, picked by weight, step after step, capturing values for the next
 * step. A slow service therefore meets a growing crowd, not a politely
 * waiting client (autocannon's closed loop), which is what the guide's
 * phases describe.
 *
 * Bounded: a phase sends exactly the arrivals its rate adds up to and no
 * more, every request has the profile's timeout, and at most maxInFlight
 * virtual users run at once (arrivals beyond that are counted as dropped).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Phase, type Profile, arrivalsBy, fillTemplate } from './profile.js';

export interface RequestRecord {
  phase: number;
  scenario: number;
  /** HTTP status; 0 when the request failed without an answer (timeout, refused). */
  status: number;
  ms: number;
}

export interface PhaseOutcome {
  phase: Phase;
  /** Virtual users started. */
  arrivals: number;
  /** Arrivals not started because maxInFlight were already running. */
  dropped: number;
  /** Flows stopped early: no answer, or a value to capture was missing. */
  failedFlows: number;
  /** Per scenario index. */
  scenarios: number[];
  /** How late the generator sent arrivals (send time − due time), ms: high values mean the generator, not the service, was slow. */
  maxLagMs: number;
}

export interface LoadResult {
  phases: PhaseOutcome[];
  records: RequestRecord[];
}

export interface LoadOptions {
  profile: Profile;
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  /** Payload rows (e.g. {email, password}); one is picked at random per virtual user. */
  payload: Record<string, string>[];
  /** In [0, 1); seeded for repeatable scenario choices. */
  random: () => number;
  maxInFlight: number;
  fetch?: typeof fetch;
  now?: () => number;
  onPhase?: (phase: Phase, index: number) => void;
}

/** Seconds into the phase at which arrival i (from 0) is due: the inverse of arrivalsBy. */
export function arrivalTime(phase: Phase, i: number): number {
  const a = phase.arrivalRate;
  const slope = ((phase.rampTo ?? a) - a) / phase.durationSeconds;
  if (Math.abs(slope) < 1e-12) return i / a;
  return (-a + Math.sqrt(a * a + 2 * slope * i)) / slope;
}

/** mulberry32: a small seeded PRNG, so a run's scenario mix can be repeated. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { profile, baseUrl, payload, random, maxInFlight } = options;
  const fetchFn = options.fetch ?? fetch;
  const now = options.now ?? (() => performance.now());
  const totalWeight = profile.scenarios.reduce((sum, s) => sum + s.weight, 0);
  const randomString = () => Math.floor(random() * 2 ** 52).toString(36) + Math.floor(random() * 2 ** 52).toString(36);
  const records: RequestRecord[] = [];
  const running = new Set<Promise<void>>();
  const outcomes: PhaseOutcome[] = [];

  const virtualUser = async (phaseIndex: number, scenarioIndex: number, outcome: PhaseOutcome): Promise<void> => {
    const scenario = profile.scenarios[scenarioIndex];
    if (!scenario) return;
    const vars: Record<string, string> = { ...(payload.length > 0 ? payload[Math.floor(random() * payload.length)] : {}) };
    for (const step of scenario.flow) {
      const headers: Record<string, string> = { ...fillTemplate(step.headers, vars, randomString) };
      let body: string | undefined;
      if (step.json !== undefined) {
        body = JSON.stringify(fillTemplate(step.json, vars, randomString));
        headers['content-type'] = 'application/json';
      }
      const started = now();
      let status = 0;
      let answer: unknown;
      try {
        const res = await fetchFn(`${baseUrl}${fillTemplate(step.url, vars, randomString)}`, {
          method: step.method,
          headers,
          body,
          signal: AbortSignal.timeout(profile.timeoutSeconds * 1000),
        });
        const text = await res.text();
        status = res.status;
        if (step.capture.length > 0) answer = JSON.parse(text);
      } catch {
        // Timeout, refused connection or a body that is not JSON: status 0 unless an answer came.
      }
      records.push({ phase: phaseIndex, scenario: scenarioIndex, status, ms: now() - started });
      for (const { field, as } of step.capture) {
        const value = answer !== null && typeof answer === 'object' ? (answer as Record<string, unknown>)[field] : undefined;
        if (typeof value === 'string') vars[as] = value;
      }
      // Artillery stops a virtual user whose capture failed; so does a request without an answer.
      if (status === 0 || step.capture.some(({ as }) => vars[as] === undefined)) {
        outcome.failedFlows++;
        return;
      }
    }
  };

  for (const [phaseIndex, phase] of profile.phases.entries()) {
    options.onPhase?.(phase, phaseIndex);
    const outcome: PhaseOutcome = { phase, arrivals: 0, dropped: 0, failedFlows: 0, scenarios: profile.scenarios.map(() => 0), maxLagMs: 0 };
    outcomes.push(outcome);
    const total = Math.round(arrivalsBy(phase, phase.durationSeconds));
    const start = now();
    for (let i = 0; i < total; i++) {
      const due = start + arrivalTime(phase, i) * 1000;
      const wait = due - now();
      if (wait > 1) await sleep(wait);
      outcome.maxLagMs = Math.max(outcome.maxLagMs, now() - due);
      if (running.size >= maxInFlight) {
        outcome.dropped++;
        continue;
      }
      let pick = random() * totalWeight;
      const scenarioIndex = Math.max(0, profile.scenarios.findIndex((s) => (pick -= s.weight) < 0));
      outcome.arrivals++;
      outcome.scenarios[scenarioIndex] = (outcome.scenarios[scenarioIndex] ?? 0) + 1;
      const vu: Promise<void> = virtualUser(phaseIndex, scenarioIndex, outcome).finally(() => running.delete(vu));
      running.add(vu);
    }
    // The phase lasts its whole duration even when the last arrival came early.
    const rest = start + phase.durationSeconds * 1000 - now();
    if (rest > 1) await sleep(rest);
  }
  // Every request has a timeout, so this ends.
  await Promise.all(running);
  return { phases: outcomes, records };
}
