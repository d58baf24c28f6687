/**
 * Latency at a set rate, open loop: request i is due at start + i/rate,
 * whatever happened to the ones before it, and its latency is measured from
 * that due time, so a stall counts against every request it delayed (no
 * coordinated omission).
 *
 * Not autocannon's `overallRate`/`connectionRate`: autocannon gives each
 * connection a budget of `rate` requests per one-second window and sends them
 * back to back as soon as the window opens, so the load arrives as a burst at
 * full speed followed by idle time, and its coordinated-omission correction
 * assumes an expected interval of Math.ceil(1 / rate) = 1 ms (seconds taken
 * for milliseconds, lib/run.js), which back-fills every response slower than
 * 1 ms. Its p99 at "half the maximum" is therefore the p99 of the burst.
 *
 * The first `warmupSeconds` are paced the same way but not counted: they open the
 * connections and warm the generator's own HTTP client. Counted, they dominated the p99 at
 * 10,000 req/s even against the bare node:http baseline (p99 60-260 ms, every slow request
 * due in the first 0.7 s, their time spent between sending and the response's headers).
 */
import { ConnectionPool } from './connection-pool.js';

export interface PacedRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Called with the response (or status 0 on a connection error). */
  onResponse?(status: number, body: string): void;
}

export interface OpenLoopOptions {
  title: string;
  host: string;
  port: number;
  /** Requests per second. */
  rate: number;
  durationSeconds: number;
  /** Upper bound on open connections; a request waits for a free one inside its measured latency. */
  maxSockets: number;
  /** Sent at the same pace before the measured run, and not counted (default 1). */
  warmupSeconds?: number;
  /** The next request to send, or undefined when none can be built yet: it goes once an answer frees one, timed from when it was due. */
  next(): PacedRequest | undefined;
  progress(line: string): void;
}

export interface OpenLoopResult {
  title: string;
  targetRate: number;
  /** 2xx responses per second over the run. */
  achievedRate: number;
  durationSeconds: number;
  sent: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** Due requests that could not be built (no refresh token free) before the run's end: never sent. */
  starved: number;
  /** Requests of the warm-up, not counted in any figure here. */
  warmup: number;
  /** Of 2xx responses, from the due time, ms. */
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /**
   * How late the generator itself wrote requests (write time − due time), ms:
   * when this is high, the bench process was starved and the latency above
   * is partly the generator's, not the service's.
   */
  sendLagMs: { p50: number; p99: number; max: number };
  /**
   * When the requests as slow as the p99 or slower were due, seconds into the measured run: a
   * narrow window is one event (a pause, a burst of other work), a wide one a steady state.
   */
  slowestDue: { from: number; to: number } | null;
}

let stopRequested = false;
/** Ends the run in progress early (an interrupt). */
export function stopOpenLoop(): void {
  stopRequested = true;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  stopRequested = false;
  const pool = new ConnectionPool({ host: options.host, port: options.port, maxSockets: options.maxSockets, timeoutMs: 30_000 });
  const warmupCount = Math.floor(options.rate * (options.warmupSeconds ?? 1));
  const total = Math.max(1, Math.floor(options.rate * options.durationSeconds));
  const interval = 1000 / options.rate;
  const latencies = new Float64Array(total);
  // When each of `latencies` was due, ms after t0.
  const dueAt = new Float64Array(total);
  const lags = new Float64Array(total);
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let starved = 0;
  let sent = 0;
  let warmup = 0;
  let inFlight = 0;
  let closing = false;
  let lastEnd = 0;
  const start = performance.now() + 5;
  // The measured run starts once the warm-up's requests are due; request i of it is due at t0 + i·interval.
  const t0 = start + warmupCount * interval;

  // Due requests the source had nothing for (every refresh token out): sent as soon as an answer
  // frees one, their latency still counted from when they were due. Dropped instead, a stall would
  // hide its own worst latencies (coordinated omission).
  const waiting: number[] = [];
  const fire = (due: number, counted: boolean): void => {
    const spec = options.next();
    if (!spec) {
      if (counted) waiting.push(due);
      return;
    }
    if (counted) lags[sent++] = performance.now() - due;
    else warmup++;
    inFlight++;
    const settle = (status: number, body: string): void => {
      inFlight--;
      spec.onResponse?.(status, body);
      if (waiting.length > 0 && !stopRequested && !closing) fire(waiting.shift()!, true);
      if (!counted) return;
      const end = performance.now();
      lastEnd = Math.max(lastEnd, end);
      if (status >= 200 && status < 300) {
        dueAt[ok] = due - t0;
        latencies[ok++] = end - due;
      } else if (status === 0) errors++;
      else non2xx++;
    };
    pool.send(spec, settle);
  };

  let reportedAt = t0;
  let reportedOk = 0;
  await new Promise<void>((resolve) => {
    // i counts from the first warm-up request; i − warmupCount is the index in the measured run.
    let i = 0;
    const last = warmupCount + total;
    const tick = (): void => {
      const now = performance.now();
      while (i < last && start + i * interval <= now && !stopRequested) {
        fire(start + i * interval, i >= warmupCount);
        i++;
      }
      if (now - reportedAt >= 5000) {
        options.progress(`${options.title}: ${((now - t0) / 1000).toFixed(0)}/${options.durationSeconds} s, ${(((ok - reportedOk) * 1000) / (now - reportedAt)).toFixed(0)} ok/s, ${inFlight} in flight`);
        reportedAt = now;
        reportedOk = ok;
      }
      if (i >= last || stopRequested) resolve();
      else setTimeout(tick, Math.max(0, start + i * interval - now - 0.5));
    };
    setTimeout(tick, 5);
  });
  // Let the stragglers finish: their latency is part of the result.
  const drainDeadline = performance.now() + 30_000;
  while ((inFlight > 0 || waiting.length > 0) && performance.now() < drainDeadline && !stopRequested) await new Promise((r) => setTimeout(r, 10));
  // Whatever is still out is settled as failed now, before the counts below; nothing is sent after.
  closing = true;
  pool.close();
  // Never sent: the source had nothing for them until the end.
  starved = waiting.length;

  const sorted = latencies.slice(0, ok).sort();
  const lagSorted = lags.slice(0, sent).sort();
  const sum = sorted.reduce((a, b) => a + b, 0);
  const p99 = percentile(sorted, 0.99);
  let [from, to] = [Infinity, -Infinity];
  for (let i = 0; i < ok; i++) {
    if (latencies[i]! < p99) continue;
    from = Math.min(from, dueAt[i]!);
    to = Math.max(to, dueAt[i]!);
  }
  const seconds = Math.max(0.001, (lastEnd - t0) / 1000);
  const r = (v: number): number => Math.round(v * 100) / 100;
  return {
    title: options.title,
    targetRate: options.rate,
    achievedRate: r(ok / seconds),
    durationSeconds: r(seconds),
    sent,
    ok,
    non2xx,
    errors,
    starved,
    warmup,
    latencyMs: {
      p50: r(percentile(sorted, 0.5)),
      p90: r(percentile(sorted, 0.9)),
      p99: r(p99),
      max: r(sorted[sorted.length - 1] ?? NaN),
      mean: r(ok ? sum / ok : NaN),
    },
    sendLagMs: { p50: r(percentile(lagSorted, 0.5)), p99: r(percentile(lagSorted, 0.99)), max: r(lagSorted[lagSorted.length - 1] ?? NaN) },
    slowestDue: ok === 0 ? null : { from: r(from / 1000), to: r(to / 1000) },
  };
}
