/**
 * Runs the real `keyward-service` CLI as a child process, the way `npm start`
 * and a container do, and reads back what it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { knownVariables } from '../../../service/config/env.js';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  /** Every stdout line so far, in order. */
  stdout: string[];
  stderr(): string;
  /** The stdout lines that are JSON log lines, parsed. */
  logs(): Record<string, unknown>[];
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits until a stdout line satisfies `match`. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
  /** SIGTERM, then SIGKILL if it is still running after `graceMs`; a no-op once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `node --import tsx service/cli.ts <args>` with `env` on top of this
 * process's environment minus every variable the service reads, so settings of
 * the shell running the tests never leak in.
 */
export function spawnCli(env: Record<string, string>, args: string[] = ['serve'], options: { underTsxCli?: boolean } = {}): CliProcess {
  const base: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !(knownVariables as readonly string[]).includes(name) && !name.startsWith('KEYWARD_')) base[name] = value;
  }
  // underTsxCli: as `npm start` runs it, the tsx command in front, which relays signals to its child.
  const runner = options.underTsxCli ? [createRequire(import.meta.url).resolve('tsx/cli')] : ['--import', 'tsx'];
  const child = spawn(process.execPath, [...runner, 'service/cli.ts', ...args], {
    cwd: repositoryRoot,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  let pending = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    stdout.push(...lines);
    for (const wake of waiters) wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit').then(([code, signal]) => {
    if (pending) stdout.push(pending);
    for (const wake of waiters) wake();
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  const running = (): boolean => child.exitCode === null && child.signalCode === null;

  return {
    child,
    stdout,
    stderr: () => stderr,
    logs: () => stdout.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>),
    exited,
    waitForLine(match, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = stdout.find(match);
          if (found !== undefined) return done(() => resolve(found));
          if (!running()) return done(() => reject(new Error(`the process exited before printing the line; stderr: ${stderr}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`no such line within ${timeoutMs} ms; stdout so far:\n${stdout.join('\n')}`))), timeoutMs);
        const done = (settle: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    async stop(graceMs = 15_000) {
      if (!running()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => running() && child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `url` until it answers 200; fails after `timeoutMs` or when the process exits first. */
export async function waitUntilOk(cli: CliProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (cli.child.exitCode !== null || cli.child.signalCode !== null) {
      throw new Error(`the service exited (${cli.child.exitCode ?? cli.child.signalCode}) before ${url} answered; stderr: ${cli.stderr()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms; stdout:\n${cli.stdout.join('\n')}\nstderr: ${cli.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
