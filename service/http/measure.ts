/**
 * Counts and times an auth operation under the guide's metric names (auth_requests_total,
 * auth_request_duration_seconds). Handlers parse the body and authenticate inside `work`, so a
 * request refused for its body or its token counts too, with the error code as its result.
 */
import { isAppError } from '../errors.js';
import type { Metrics } from '../metrics/registry.js';

export type Measure = <T>(operation: string, work: () => Promise<T>) => Promise<T>;

export function measurer(metrics: Pick<Metrics, 'authRequests' | 'authRequestDuration'>): Measure {
  return async (operation, work) => {
    const end = metrics.authRequestDuration.startTimer({ operation });
    try {
      const result = await work();
      metrics.authRequests.inc({ operation, result: 'success' });
      return result;
    } catch (err) {
      metrics.authRequests.inc({ operation, result: isAppError(err) ? err.code : 'error' });
      throw err;
    } finally {
      end();
    }
  };
}
