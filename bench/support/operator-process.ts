/**
 * keyward-operator as a child process (`node <cli> run`: the compiled
 * operator/cli.js, or operator/cli.ts under tsx), so its memory is its own and
 * readable from /proc/<pid>/status, and the bench's own watches and
 * bookkeeping never share an event loop with the controller whose latency
 * they measure. Its log (one JSON line each) goes to a file the bench keeps
 * next to its results.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { OPERATOR_NODE_OPTIONS } from '../../operator/node-options.js';
import { spawnNode, tailOf } from './children.js';

export interface OperatorProcess {
  readonly pid: number;
  readonly logFile: string;
  /** Its /metrics, on the port it logged when it started. */
  readonly metricsUrl: string;
  running(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** Parsed JSON lines of its log so far (lines that are not JSON are skipped). */
  logLines(): Array<Record<string, unknown>>;
  tail(lines?: number): string;
}

export interface OperatorOptions {
  repo: string;
  /** Arguments to `node` that start the CLI (script first). */
  cli: string[];
  kubeconfig: string;
  namespace: string;
  /** More flags for `run` (--workers, --service-url-map, …). */
  flags: string[];
  logFile: string;
  readyTimeoutMs: number;
}

function logLinesOf(file: string): Array<Record<string, unknown>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((line) => {
    try {
      const parsed: unknown = JSON.parse(line);
      return parsed !== null && typeof parsed === 'object' ? [parsed as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

/** Starts the operator and resolves once it is ready; stop every one left with signalAll (children.ts). */
export async function startOperator(options: OperatorOptions): Promise<OperatorProcess> {
  const child = spawnNode({
    name: 'keyward-operator',
    args: [
      ...options.cli, 'run',
      '--kubeconfig', options.kubeconfig,
      '--namespace', options.namespace,
      // 0: any free port; the operator logs the one it got.
      '--metrics-port', '0',
      ...options.flags,
    ],
    cwd: options.repo,
    // As the image runs it: Dockerfile.operator sets the same NODE_OPTIONS (added to any the bench has, such as a loader).
    env: { ...process.env, NODE_ENV: 'production', NODE_OPTIONS: [process.env['NODE_OPTIONS'], OPERATOR_NODE_OPTIONS].filter(Boolean).join(' ') },
    logFile: options.logFile,
  });
  const operator = {
    pid: child.pid,
    logFile: options.logFile,
    running: () => child.running(),
    stop: (graceMs?: number) => child.stop(graceMs),
    logLines: () => logLinesOf(options.logFile),
    tail: (lines = 20) => tailOf(options.logFile, lines) || '(no output)',
  };

  // Ready = every informer has listed (/readyz, operator/cli.ts), on the port its first log line names.
  const deadline = Date.now() + options.readyTimeoutMs;
  let port: number | undefined;
  for (;;) {
    if (!child.running()) throw new Error(`keyward-operator exited (${await child.exited}) before it was ready:\n${operator.tail()}`);
    port ??= operator.logLines().map((l) => l['metrics_port']).find((p): p is number => typeof p === 'number');
    if (port !== undefined) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return { ...operator, metricsUrl: `http://127.0.0.1:${port}/metrics` };
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > deadline) {
      await operator.stop();
      throw new Error(`keyward-operator not ready after ${options.readyTimeoutMs / 1000} s:\n${operator.tail()}`);
    }
    await sleep(100);
  }
}
