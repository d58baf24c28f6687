/**
 * Runs one analysis measurement against a colour: an HTTP GET through the
 * colour's own Service (and, when configured, a Prometheus query). The engine
 * in operator/rollout decides when to measure and what the results mean; this
 * file only performs the request and says what it saw.
 */
import type { Analysis } from '../api/types.js';

/** Where a colour's Service answers. In the cluster: its DNS name; outside (development, tests): a mapped URL. */
export type ServiceUrlResolver = (namespace: string, service: string, port: number) => string;

export const inClusterUrl: ServiceUrlResolver = (namespace, service, port) => `http://${service}.${namespace}.svc:${port}`;

/**
 * Resolves `namespace/service` through `map` first (the `--service-url-map`
 * file of `keyward-operator run`), falling back to the in-cluster name.
 */
export function mappedUrls(map: Readonly<Record<string, string>>, fallback: ServiceUrlResolver = inClusterUrl): ServiceUrlResolver {
  return (namespace, service, port) => map[`${namespace}/${service}`]?.replace(/\/$/, '') ?? fallback(namespace, service, port);
}

export interface Measurement {
  ok: boolean;
  message: string;
}

export interface MeasureTarget {
  namespace: string;
  service: string;
}

type Fetch = typeof fetch;

function fieldAt(body: unknown, path: string): unknown {
  let value = body;
  for (const key of path.split('.')) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

const conditionPattern = /^\s*result\s*(<=|>=|==|!=|<|>)\s*(-?[0-9.eE+-]+)\s*$/;

/** Evaluates a success condition such as "result < 0.01" for a number. */
export function conditionHolds(condition: string, result: number): boolean {
  const match = conditionPattern.exec(condition);
  if (!match) throw new Error(`unsupported success condition ${JSON.stringify(condition)}: expected "result <op> <number>"`);
  const bound = Number(match[2]);
  switch (match[1]) {
    case '<': return result < bound;
    case '<=': return result <= bound;
    case '>': return result > bound;
    case '>=': return result >= bound;
    case '==': return result === bound;
    default: return result !== bound;
  }
}

async function httpCheck(check: Analysis, target: MeasureTarget, resolve: ServiceUrlResolver, fetchFn: Fetch): Promise<Measurement> {
  const { path, port, expectedStatus, jsonField } = check.httpGet;
  const url = `${resolve(target.namespace, target.service, port)}${path}`;
  const res = await fetchFn(url, { signal: AbortSignal.timeout(check.timeoutSeconds * 1000), headers: { accept: 'application/json' } });
  const text = await res.text();
  const seen = `GET ${path} on ${target.service} → ${res.status}`;
  if (res.status !== expectedStatus) return { ok: false, message: `${seen}, expected ${expectedStatus}` };
  if (!jsonField) return { ok: true, message: seen };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, message: `${seen}, but the body is not JSON` };
  }
  const value = fieldAt(body, jsonField.path);
  return String(value) === jsonField.equals
    ? { ok: true, message: `${seen}, ${jsonField.path} = ${jsonField.equals}` }
    : { ok: false, message: `${seen}, ${jsonField.path} = ${JSON.stringify(value)}, expected ${JSON.stringify(jsonField.equals)}` };
}

async function prometheusCheck(check: NonNullable<Analysis['prometheus']>, timeoutSeconds: number, fetchFn: Fetch): Promise<Measurement> {
  const url = `${check.address.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(check.query)}`;
  const res = await fetchFn(url, { signal: AbortSignal.timeout(timeoutSeconds * 1000) });
  if (!res.ok) return { ok: false, message: `Prometheus answered ${res.status}` };
  const body = (await res.json()) as { data?: { result?: Array<{ value?: [number, string] }> } };
  const raw = body.data?.result?.[0]?.value?.[1];
  if (raw === undefined) return { ok: false, message: `the query returned no sample: ${check.query}` };
  const result = Number(raw);
  const ok = conditionHolds(check.successCondition, result);
  return { ok, message: `${check.query} = ${result} (${ok ? 'meets' : 'fails'} ${check.successCondition})` };
}

/** One measurement; network failures and timeouts are failed measurements, not errors. */
export async function measure(check: Analysis, target: MeasureTarget, resolve: ServiceUrlResolver, fetchFn: Fetch = fetch): Promise<Measurement> {
  try {
    const http = await httpCheck(check, target, resolve, fetchFn);
    if (!http.ok || !check.prometheus) return http;
    const prom = await prometheusCheck(check.prometheus, check.timeoutSeconds, fetchFn);
    return { ok: prom.ok, message: `${http.message}; ${prom.message}` };
  } catch (err) {
    const reason = err instanceof Error ? (err.name === 'TimeoutError' ? `no answer within ${check.timeoutSeconds} s` : err.message) : String(err);
    return { ok: false, message: `GET ${check.httpGet.path} on ${target.service} failed: ${reason}` };
  }
}
