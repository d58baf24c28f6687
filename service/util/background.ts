/**
 * Work a request starts but does not wait for: the part of forgot-password and
 * resend-verification that depends on whether the account exists runs here,
 * after the answer, so the answer and its timing are the same either way.
 * A task that fails is logged with the id of the request that started it, and
 * shutdown waits for tasks before closing the pool.
 */
import type { Logger } from '../logging/logger.js';

export interface Background {
  run(task: string, requestId: string | undefined, work: () => Promise<void>): void;
  /** Resolves once every task started so far has finished, or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void>;
}

export function createBackground(logger: Logger): Background {
  const running = new Set<Promise<void>>();
  return {
    run(task, requestId, work) {
      const done = Promise.resolve()
        .then(work)
        .catch((err: unknown) => void logger.error('background task failed', { task, request_id: requestId, error: err }))
        .finally(() => running.delete(done));
      running.add(done);
    },
    async drain(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); });
      await Promise.race([Promise.allSettled([...running]), deadline]);
      clearTimeout(timer);
    },
  };
}
