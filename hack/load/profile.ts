/**
 * The subset of Artillery's script format that hack/load/profile.yaml uses,
 * read into plain data: phases (arrivalRate, optional rampTo), weighted
 * scenarios whose flows are get/post steps with json bodies, headers and
 * `capture: [{json: "$.field", as: name}]`, `{{ variable }}` and
 * `{{ $randomString() }}` templates, and a payload's field names. Anything
 * else is refused by name rather than silently ignored.
 */
import { parse } from 'yaml';

export interface Phase {
  name: string;
  durationSeconds: number;
  arrivalRate: number;
  /** Linear ramp from arrivalRate to this over the phase. */
  rampTo?: number;
}

export interface Step {
  method: 'GET' | 'POST';
  url: string;
  json?: unknown;
  headers: Record<string, string>;
  /** Variable name ← top-level field of the JSON answer. */
  capture: { field: string; as: string }[];
}

export interface Scenario {
  name: string;
  weight: number;
  flow: Step[];
}

export interface Profile {
  target: string;
  timeoutSeconds: number;
  phases: Phase[];
  payloadFields: string[];
  scenarios: Scenario[];
}

type Json = Record<string, unknown>;

function fail(where: string, message: string): never {
  throw new Error(`load profile: ${where}: ${message}`);
}

function only(where: string, object: Json, allowed: string[]): void {
  const unknown = Object.keys(object).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) fail(where, `${unknown.join(', ')} not supported (supported: ${allowed.join(', ')})`);
}

function positive(where: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0)) fail(where, `expected a positive number, got ${JSON.stringify(value)}`);
  return value;
}

function step(where: string, raw: Json): Step {
  const [verb, ...more] = Object.keys(raw);
  if (more.length > 0 || (verb !== 'get' && verb !== 'post')) fail(where, `expected one "get" or "post", got ${Object.keys(raw).join(', ')}`);
  const body = raw[verb] as Json;
  only(where, body, ['url', 'json', 'headers', 'capture']);
  if (typeof body.url !== 'string' || !body.url.startsWith('/')) fail(where, 'url must be a path starting with /');
  const capture = ((body.capture ?? []) as Json[]).map((c, i) => {
    only(`${where}.capture[${i}]`, c, ['json', 'as']);
    const match = typeof c.json === 'string' ? /^\$\.(\w+)$/.exec(c.json) : null;
    if (!match?.[1] || typeof c.as !== 'string') fail(`${where}.capture[${i}]`, 'expected {json: "$.field", as: name}');
    return { field: match[1], as: c.as };
  });
  return {
    method: verb === 'get' ? 'GET' : 'POST',
    url: body.url,
    ...(body.json !== undefined ? { json: body.json } : {}),
    headers: (body.headers ?? {}) as Record<string, string>,
    capture,
  };
}

export function parseProfile(text: string): Profile {
  const doc = parse(text) as Json;
  only('top level', doc, ['config', 'scenarios']);
  const config = doc.config as Json;
  only('config', config, ['target', 'http', 'phases', 'payload']);
  const phases = (config.phases as Json[]).map((p, i): Phase => {
    const where = `config.phases[${i}]`;
    only(where, p, ['duration', 'arrivalRate', 'rampTo', 'name']);
    return {
      name: typeof p.name === 'string' ? p.name : `phase ${i + 1}`,
      durationSeconds: positive(`${where}.duration`, p.duration),
      arrivalRate: positive(`${where}.arrivalRate`, p.arrivalRate),
      ...(p.rampTo !== undefined ? { rampTo: positive(`${where}.rampTo`, p.rampTo) } : {}),
    };
  });
  const scenarios = (doc.scenarios as Json[]).map((s, i): Scenario => {
    only(`scenarios[${i}]`, s, ['name', 'weight', 'flow']);
    return {
      name: typeof s.name === 'string' ? s.name : `scenario ${i + 1}`,
      weight: positive(`scenarios[${i}].weight`, s.weight ?? 1),
      flow: (s.flow as Json[]).map((f, j) => step(`scenarios[${i}].flow[${j}]`, f)),
    };
  });
  const http = (config.http ?? {}) as Json;
  return {
    target: String(config.target),
    timeoutSeconds: http.timeout === undefined ? 10 : positive('config.http.timeout', http.timeout),
    phases,
    payloadFields: (((config.payload ?? {}) as Json).fields ?? []) as string[],
    scenarios,
  };
}

/** The profile with every duration × timeScale and every rate × rateScale (for a shorter or lighter run). */
export function scaleProfile(profile: Profile, timeScale: number, rateScale: number): Profile {
  return {
    ...profile,
    phases: profile.phases.map((p) => ({
      ...p,
      durationSeconds: p.durationSeconds * timeScale,
      arrivalRate: p.arrivalRate * rateScale,
      ...(p.rampTo !== undefined ? { rampTo: p.rampTo * rateScale } : {}),
    })),
  };
}

/**
 * Arrivals due by `t` seconds into a phase: the integral of the (ramping) rate,
 * as Artillery spreads them. Arrival i is sent when this first reaches i + 1.
 */
export function arrivalsBy(phase: Phase, t: number): number {
  const end = phase.rampTo ?? phase.arrivalRate;
  const clamped = Math.min(Math.max(t, 0), phase.durationSeconds);
  return phase.arrivalRate * clamped + ((end - phase.arrivalRate) * clamped * clamped) / (2 * phase.durationSeconds);
}

/** Fills `{{ name }}` from vars and `{{ $randomString() }}` with a fresh string, in strings nested anywhere in value. */
export function fillTemplate<T>(value: T, vars: Readonly<Record<string, string>>, randomString: () => string): T {
  if (typeof value === 'string') {
    return value.replace(/\{\{\s*(\$randomString\(\)|[\w]+)\s*\}\}/g, (_, name: string) => {
      if (name === '$randomString()') return randomString();
      const v = vars[name];
      if (v === undefined) throw new Error(`load profile: {{ ${name} }} is not set at this point of the flow`);
      return v;
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v: unknown) => fillTemplate(v, vars, randomString)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillTemplate(v, vars, randomString)])) as T;
  }
  return value;
}
