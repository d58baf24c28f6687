// Starting, watching and stopping the control plane's component processes.
// Every stop is by PID: we only ever signal processes this harness started.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface StartedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: readonly string[];
  logFile: string;
  /**
   * Let the process outlive this Node process (`npm run cluster -- up`). Either
   * way it gets its own process group, so a Ctrl-C in the terminal reaches this
   * harness first and the components are stopped in order, not all at once.
   */
  detached: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Spawns a component with stdout and stderr appended to its log file. */
export function spawnComponent(options: SpawnOptions): Promise<StartedProcess> {
  const fd = openSync(options.logFile, 'a');
  try {
    const child = spawn(options.command, [...options.args], {
      stdio: ['ignore', fd, fd],
      detached: true,
      env: options.env ?? process.env,
    });
    return new Promise((resolve, reject) => {
      child.once('error', (err) => reject(new Error(`cannot start ${options.name} (${options.command}): ${err.message}`, { cause: err })));
      child.once('spawn', () => {
        const pid = child.pid;
        if (pid === undefined) {
          reject(new Error(`cannot start ${options.name}: no pid`));
          return;
        }
        const exited = new Promise<number | string>((done) => {
          child.once('exit', (code, signal) => done(code ?? signal ?? 'unknown'));
        });
        if (options.detached) child.unref();
        resolve({ name: options.name, pid, logFile: options.logFile, exited });
      });
    });
  } finally {
    closeSync(fd);
  }
}

/** True while `pid` names a live (not zombie) process. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3 is the state; the command name (field 2) may contain spaces, so
    // read after its closing parenthesis.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The command line of a live process, or undefined once it is gone. */
/**
 * Whether `pid` is still the process that was recorded: the same executable, and the same script
 * when one was recorded. A pid is reused once its process is gone, and for node the executable
 * alone would match any other node process that got it.
 */
export function isRecordedProcess(p: { pid: number; command: string; script?: string }): boolean {
  const argv = commandLine(p.pid);
  return argv?.[0] === p.command && (p.script === undefined || argv.includes(p.script));
}

export function commandLine(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s) => s !== '');
  } catch {
    return undefined;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * SIGTERM, then SIGKILL if the process is still alive after `graceMs`; resolves
 * once it has exited. The bound matters: kube-apiserver drains for a while on
 * SIGTERM and a test run must not wait on that.
 */
export async function stopPid(pid: number, graceMs = 5000): Promise<void> {
  if (!isAlive(pid)) return;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(25);
  if (!isAlive(pid)) return;
  signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5000;
  while (isAlive(pid) && Date.now() < killDeadline) await sleep(25);
  if (isAlive(pid)) throw new Error(`process ${pid} survived SIGKILL`);
}

/** Stops each recorded process that is still the one recorded (never a process that took its pid). */
export async function stopRecorded(processes: ReadonlyArray<{ name: string; pid: number; command: string; script?: string }>, log: (line: string) => void): Promise<void> {
  for (const p of processes) {
    if (!isRecordedProcess(p)) continue;
    log(`stopping ${p.name} (pid ${p.pid})`);
    await stopPid(p.pid);
  }
}

/** The last `lines` lines of a log file, for error messages. */
export function logTail(file: string, lines = 30): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd();
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// Processes to SIGKILL if this Node process exits without stopping them (a
// crashed or interrupted test run), so nothing is leaked.
const live = new Set<number>();
let hooksInstalled = false;

function killAllSync(): void {
  for (const pid of live) signal(pid, 'SIGKILL');
  live.clear();
}

function onSignal(sig: NodeJS.Signals): void {
  killAllSync();
  process.removeListener(sig, onSignal);
  // Keep the default behaviour (terminate) unless someone else handles it.
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

/** Registers `pid` to be killed when this Node process exits. */
export function killOnExit(pid: number): void {
  live.add(pid);
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
}

/** Forgets `pid` (it was stopped in order). */
export function forgetOnExit(pid: number): void {
  live.delete(pid);
}
