/**
 * Maximum-throughput runs with autocannon's programmatic API: N keep-alive
 * connections, each sending its next request as soon as the previous answer
 * arrives. Every connection gets its own request sequence from `requestsFor`,
 * so closures can keep per-connection state (a refresh-token pool, the token
 * captured from a login for the `me` that follows).
 */
import autocannon from 'autocannon';

export interface ClosedLoopOptions {
  title: string;
  url: string;
  connections: number;
  durationSeconds: number;
  /** autocannon's own pacing (`--pacer autocannon`); see open-loop.ts for why it is not the default. */
  overallRate?: number;
  /** Called with every response's status and latency (ms), as it arrives. */
  onResponse?(status: number, latencyMs: number): void;
  /** The request sequence of connection `index`; autocannon loops over it. */
  requestsFor(index: number): autocannon.Request[];
  progress(line: string): void;
}

export interface ClosedLoopResult {
  title: string;
  connections: number;
  durationSeconds: number;
  /** Responses with a 2xx status. */
  ok: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  statusCodes: Record<string, number>;
  /** 2xx responses per second. */
  throughput: number;
  /** autocannon's latency of every response, ms. */
  latencyMs: { p50: number; p99: number; max: number; mean: number };
}

/** The run in progress, so an interrupt can stop it. */
let current: autocannon.Instance | undefined;

export function stopCurrentLoad(): void {
  current?.stop();
}

export async function closedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  let nextConnection = 0;
  let responses = 0;
  let finish!: (err: unknown, result: autocannon.Result) => void;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    finish = (err, result) => (err ? reject(err) : resolve(result));
  });
  const instance = autocannon(
    {
      url: options.url,
      connections: options.connections,
      duration: options.durationSeconds,
      timeout: 30,
      ...(options.overallRate === undefined ? {} : { overallRate: options.overallRate }),
      setupClient: (client) => client.setRequests(options.requestsFor(nextConnection++)),
    },
    (err, result) => finish(err, result),
  );
  current = instance;
  instance.on('response', (_client, status, _bytes, latencyMs) => {
    responses++;
    options.onResponse?.(status, latencyMs);
  });
  const started = performance.now();
  let reported = 0;
  const ticker = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    const rate = (responses - reported) / 5;
    reported = responses;
    options.progress(`${options.title}: ${elapsed.toFixed(0)}/${options.durationSeconds} s, ${rate.toFixed(rate < 100 ? 1 : 0)} responses/s`);
  }, 5000);

  try {
    const result = await finished;
    const statusCodes: Record<string, number> = {};
    for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0;
    const ok = result['2xx'];
    return {
      title: options.title,
      connections: options.connections,
      durationSeconds: result.duration,
      ok,
      non2xx: result.non2xx,
      errors: result.errors,
      statusCodes,
      throughput: ok / result.duration,
      latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max, mean: result.latency.mean },
    };
  } finally {
    clearInterval(ticker);
    current = undefined;
  }
}
