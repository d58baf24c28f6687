/**
 * keyward-operator as a child process, `node --import tsx operator/cli.ts run`,
 * so the bench's own watches and bookkeeping never share an event loop with
 * the controller whose latency they measure. Its log (one JSON line each) goes
 * to a file the bench keeps next to its results.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface OperatorProcess {
  readonly pid: number;
  readonly logFile: string;
  running(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** Parsed JSON lines of its log so far (lines that are not JSON are skipped). */
  logLines(): Array<Record<string, unknown>>;
  tail(lines?: number): string;
}

export interface OperatorOptions {
  repo: string;
  kubeconfig: string;
  namespace: string;
  /** JSON file {"namespace/service": "http://127.0.0.1:port"} for analysis. */
  serviceUrlMap: string;
  logFile: string;
  readyTimeoutMs: number;
}

const live = new Set<ChildProcess>();

/** SIGKILL to every operator still running; synchronous, for exit handlers. */
export function killOperatorsSync(): void {
  for (const child of live) child.kill('SIGKILL');
}

export async function startOperator(options: OperatorOptions): Promise<OperatorProcess> {
  const log = openSync(options.logFile, 'a');
  const child = spawn(
    process.execPath,
    [
      '--import', 'tsx', 'operator/cli.ts', 'run',
      '--kubeconfig', options.kubeconfig,
      '--namespace', options.namespace,
      // 0: any free port; the operator logs the one it got.
      '--metrics-port', '0',
      '--service-url-map', options.serviceUrlMap,
    ],
    { cwd: options.repo, stdio: ['ignore', log, log], env: { ...process.env, NODE_ENV: 'production' } },
  );
  closeSync(log);
  if (child.pid === undefined) throw new Error('could not start keyward-operator');
  live.add(child);
  let ended: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      ended = signal ? `signal ${signal}` : `code ${code}`;
      live.delete(child);
      resolve();
    });
  });
  const text = (): string => {
    try {
      return readFileSync(options.logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const operator: OperatorProcess = {
    pid: child.pid,
    logFile: options.logFile,
    running: () => ended === undefined,
    async stop(graceMs = 10_000) {
      if (ended !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    logLines: () =>
      text().split('\n').flatMap((line) => {
        try {
          const parsed: unknown = JSON.parse(line);
          return parsed !== null && typeof parsed === 'object' ? [parsed as Record<string, unknown>] : [];
        } catch {
          return [];
        }
      }),
    tail: (lines = 20) => text().trimEnd().split('\n').slice(-lines).join('\n') || '(no output)',
  };

  // Ready = every informer has listed (/readyz, operator/cli.ts), on the port its first log line names.
  const deadline = Date.now() + options.readyTimeoutMs;
  let port: number | undefined;
  for (;;) {
    if (ended !== undefined) throw new Error(`keyward-operator exited (${ended}) before it was ready:\n${operator.tail()}`);
    port ??= operator.logLines().map((l) => l['metrics_port']).find((p): p is number => typeof p === 'number');
    if (port !== undefined) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return operator;
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
