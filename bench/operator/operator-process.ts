/**
 * keyward-operator as a child process (`node <compiled>/operator/cli.js run`,
 * or under tsx),
 * so its memory is its own and readable from /proc/<pid>/status, and its
 * counters come from its /metrics as Prometheus would see them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseOperatorMetrics, type OperatorCounters } from './metrics.js';

export interface OperatorProcess {
  readonly pid: number;
  readonly logFile: string;
  readonly metricsUrl: string;
  running(): boolean;
  counters(): Promise<OperatorCounters>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  tail(lines?: number): string;
}

export interface OperatorOptions {
  repo: string;
  /** Arguments to `node` that start the CLI (script first), from build.ts. */
  cli: string[];
  kubeconfig: string;
  namespace: string;
  workers: number;
  resyncSeconds: number;
  logFile: string;
}

const live = new Set<ChildProcess>();

/** Kills every operator still running; synchronous, for exit and signal handlers. */
export function killOperatorsSync(): void {
  for (const child of live) child.kill('SIGKILL');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startOperator(options: OperatorOptions, readyTimeoutMs: number): Promise<OperatorProcess> {
  const port = await freePort();
  const log = openSync(options.logFile, 'a');
  const child = spawn(
    process.execPath,
    [
      ...options.cli, 'run',
      '--kubeconfig', options.kubeconfig,
      '--namespace', options.namespace,
      '--metrics-port', String(port),
      '--workers', String(options.workers),
      '--resync-seconds', String(options.resyncSeconds),
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
  const tail = (lines = 20): string => {
    try {
      return readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no output)';
    }
  };
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  const operator: OperatorProcess = {
    pid: child.pid,
    logFile: options.logFile,
    metricsUrl,
    running: () => ended === undefined,
    async counters() {
      const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`${metricsUrl}: HTTP ${res.status}`);
      return parseOperatorMetrics(await res.text());
    },
    async stop(graceMs = 10_000) {
      if (ended !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    tail,
  };

  // Ready = every informer has listed (operator/cli.ts).
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (ended !== undefined) throw new Error(`keyward-operator exited (${ended}) before it was ready:\n${tail()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return operator;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await operator.stop();
      throw new Error(`keyward-operator not ready after ${readyTimeoutMs / 1000} s:\n${tail()}`);
    }
    await sleep(100);
  }
}
