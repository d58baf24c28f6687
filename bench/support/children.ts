/**
 * The benchmark's child processes: each one writes to its own log file, is
 * stopped with SIGTERM then SIGKILL, and all of them can be signalled at once,
 * synchronously, when the run is interrupted (an exit hook cannot await).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface Child {
  name: string;
  pid: number;
  process: ChildProcess;
  logFile: string;
  /** Resolves with how the process ended ("code 0", "signal SIGTERM"). */
  exited: Promise<string>;
  running(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines the child wrote, for error messages. */
  tail(lines?: number): string;
}

const live = new Set<Child>();

export interface SpawnOptions {
  name: string;
  /** Arguments to `node` (script first). */
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Working directory; the bench's own when unset. */
  cwd?: string;
  logFile: string;
  /** Open an IPC channel (our own baseline children report through it). */
  ipc?: boolean;
}

export function spawnNode(options: SpawnOptions): Child {
  const log = openSync(options.logFile, 'a');
  const stdio: ('ignore' | number | 'ipc')[] = ['ignore', log, log];
  if (options.ipc) stdio.push('ipc');
  const proc = spawn(process.execPath, options.args, { cwd: options.cwd, env: options.env, stdio });
  closeSync(log); // the child holds its own descriptor
  if (proc.pid === undefined) throw new Error(`could not start ${options.name}`);
  let ended = false;
  const exited = new Promise<string>((resolve) => {
    proc.once('exit', (code, signal) => {
      ended = true;
      live.delete(child);
      resolve(signal ? `signal ${signal}` : `code ${code}`);
    });
    proc.once('error', (err) => {
      ended = true;
      live.delete(child);
      resolve(`error ${err.message}`);
    });
  });
  const child: Child = {
    name: options.name,
    pid: proc.pid,
    process: proc,
    logFile: options.logFile,
    exited,
    running: () => !ended,
    async stop(graceMs = 10_000) {
      if (ended) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    tail: (lines = 20) => tailOf(options.logFile, lines),
  };
  live.add(child);
  return child;
}

export function tailOf(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

/** Sends `signal` to every child still running; synchronous, so it is safe in signal and exit handlers. */
export function signalAll(signal: NodeJS.Signals): void {
  for (const child of live) child.process.kill(signal);
}

/** Waits for a message of `type` on a child's IPC channel, or fails when the child exits first. */
export function messageFrom<T>(child: Child, type: string, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`${child.name} sent no "${type}" within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: unknown): void => {
      const m = message as { type?: string; value?: T };
      if (m?.type === type) done(undefined, m.value as T);
    };
    const onExit = (): void => done(new Error(`${child.name} exited before sending "${type}":\n${child.tail()}`));
    function done(err: Error | undefined, value?: T): void {
      clearTimeout(timer);
      child.process.off('message', onMessage);
      child.process.off('exit', onExit);
      if (err) reject(err);
      else resolve(value as T);
    }
    child.process.on('message', onMessage);
    child.process.once('exit', onExit);
  });
}
