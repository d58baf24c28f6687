/**
 * Analysis measurements, run beside the reconcile passes instead of inside them. A measurement is
 * an HTTP check and perhaps a Prometheus query, each allowed its timeoutSeconds (up to 300 s):
 * awaited in a pass, it held one of the few workers that long, and every other AuthService's
 * flips, rollbacks and scale-downs waited in the queue behind it. Now a pass starts the
 * measurement and ends; the result is kept for the engine, and the AuthService queued again.
 */
import type { MeasurementResult } from '../rollout/index.js';
import type { Measurement } from './analysis-runner.js';

export interface Measurements {
  /** The latest result for an AuthService key, handed to the engine on each pass until the next. */
  latest(key: string): MeasurementResult | undefined;
  /**
   * Starts `run`, the measurement the engine named `measurementKey`, unless one is still running
   * for `key` (the passes in between ask for it again). Answers whether it started.
   */
  start(key: string, measurementKey: string, run: () => Promise<Measurement>): boolean;
  /** Forgets the AuthService's result (it is gone); a measurement still running ends unheard. */
  forget(key: string): void;
}

/** `measured(key)` is called with each result kept: queue the AuthService, so a pass hands it on. */
export function createMeasurements(measured: (key: string) => void): Measurements {
  const results = new Map<string, MeasurementResult>();
  // The measurement running per key, by the token its start took: forget() ends its claim.
  const inFlight = new Map<string, symbol>();
  return {
    latest: (key) => results.get(key),
    start(key, measurementKey, run) {
      if (inFlight.has(key)) return false;
      const token = Symbol(measurementKey);
      inFlight.set(key, token);
      void run()
        // measure() reports failures as failed measurements; a throw is a bug, and counts as one too.
        .catch((err: unknown): Measurement => ({ ok: false, message: `the measurement failed: ${err instanceof Error ? err.message : String(err)}` }))
        .then((result) => {
          if (inFlight.get(key) !== token) return;
          inFlight.delete(key);
          results.set(key, { key: measurementKey, ok: result.ok, message: result.message });
          measured(key);
        });
      return true;
    },
    forget(key) {
      results.delete(key);
      inFlight.delete(key);
    },
  };
}
