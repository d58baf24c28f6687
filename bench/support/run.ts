/**
 * The life of an operator bench run (bench:operator, bench:rollout): what it
 * started is undone in reverse order on success, failure and Ctrl-C alike; a
 * second Ctrl-C kills the children at once.
 */
import { signalAll } from './children.js';

/** Thrown by checkInterrupted() once the run was interrupted: not a failure. */
export class Interrupted extends Error {}

export interface RunOptions {
  /** `bench:operator`: names the run in its failure message. */
  name: string;
  main: () => Promise<void>;
  /** An error that is no failure (a usage error): prints it and returns the exit code; undefined for a failure. */
  handled?: (err: unknown) => number | undefined;
  /** After a failure is printed, before the clean-up (keep logs). */
  onFailure?: () => void;
}

export function benchRun(say: (line: string) => void) {
  /** Undone in reverse order by cleanUp(). */
  const cleanups: Array<() => unknown> = [];
  let cleaning: Promise<void> | undefined;
  let interrupted = false;

  function cleanUp(): Promise<void> {
    cleaning ??= (async () => {
      for (const step of cleanups.reverse()) {
        try {
          await step();
        } catch (err) {
          say(`clean-up step failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    })();
    return cleaning;
  }

  const checkInterrupted = (): void => {
    if (interrupted) throw new Interrupted();
  };

  /** Runs `main`, then cleans up; SIGINT and SIGTERM clean up and exit 130. */
  function run(options: RunOptions): void {
    // Synchronous, for the exit hook and a second signal: SIGKILL to every child still running.
    const killChildren = (): void => signalAll('SIGKILL');
    process.on('exit', killChildren);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (interrupted) {
          killChildren();
          process.exit(130);
        }
        interrupted = true;
        say(`${signal}: stopping the operator and the control plane`);
        void cleanUp().finally(() => process.exit(130));
      });
    }

    options.main()
      .then(() => cleanUp())
      .then(() => say('done; everything started was stopped'))
      .catch(async (err: unknown) => {
        if (err instanceof Interrupted) return;
        const code = options.handled?.(err);
        if (code !== undefined) {
          process.exitCode = code;
          return;
        }
        process.stderr.write(`\n${options.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        options.onFailure?.();
        await cleanUp();
        process.exitCode = 1;
      });
  }

  return { cleanups, checkInterrupted, run };
}
