/**
 * Keeps one of Node's tick objects (what process.nextTick queues) alive for the life of the
 * process, against a deoptimisation that otherwise slows every nextTick five-fold for good.
 *
 * Node 20 makes its tick objects with an object literal with computed symbol keys
 * (lib/internal/process/task_queues.js). V8's optimised nextTick depends weakly on their maps, and
 * maps live only while an object has them. A full collection that runs while no tick is queued (a
 * replica between requests) frees them and throws nextTick's optimised code away; the feedback it
 * is optimised from next has seen two generations of maps, and the code it gets then builds each
 * tick object through V8's runtime: 0.28 µs a call instead of 0.06 in isolation, and a tenth of the
 * CPU of `me` answered from memory, which queues several ticks inside Node's HTTP code
 * (bench/README.md). A tick object held here keeps those maps, so the collection frees nothing
 * nextTick depends on. Measured on Node 20.20; the container images run Node 24, where it was not
 * measured, and where holding one small object costs nothing if the deoptimisation is gone.
 * test/service/util/tick-objects.test.ts shows both sides on the Node that runs it, and reports
 * it as skipped on one that no longer deoptimises nextTick this way.
 */
import { executionAsyncResource } from 'node:async_hooks';

let held: object | undefined;

/** Resolves once a tick object is held; later calls hold nothing more. */
export function holdTickObject(): Promise<void> {
  if (held !== undefined) return Promise.resolve();
  return new Promise((resolve) => {
    process.nextTick(() => {
      // Inside a nextTick callback the current async resource is the tick object itself.
      held = executionAsyncResource();
      resolve();
    });
  });
}
