/** Endpoints for Kubernetes and Prometheus: health probes, metrics; and the JWKS and OpenAPI documents. */
import { Router } from 'express';
import { healthReport, checkTimeoutMs, type HealthSources } from '../../health/checks.js';
import type { Metrics } from '../../metrics/registry.js';
import type { Jwks } from '../../tokens/jwks.js';
import { errorMessage } from '../../util/error-message.js';

/** Lifecycle flags the server sequence flips: started after migrations, draining after SIGTERM. */
export interface Lifecycle {
  started: boolean;
  draining: boolean;
}

export interface OperationsDeps {
  health: HealthSources;
  lifecycle: Lifecycle;
  metrics: Metrics;
  jwks: Jwks;
  /** The OpenAPI document (http/openapi/document.ts). */
  openapi: object;
}

export function operationsRoutes(deps: OperationsDeps): Router {
  const router = Router();

  router.get('/health', async (_req, res) => {
    const report = await healthReport(deps.health);
    res.status(report.status === 'unhealthy' ? 503 : 200).json(report);
  });

  // Liveness says only "this process can answer": restarting it would not fix a database outage.
  router.get('/health/live', (_req, res) => {
    res.json({ status: 'alive' });
  });

  router.get('/health/ready', async (_req, res) => {
    if (deps.lifecycle.draining) return void res.status(503).json({ status: 'draining' });
    if (!deps.lifecycle.started) return void res.status(503).json({ status: 'starting' });
    try {
      await deps.health.pingDatabase(checkTimeoutMs);
      res.json({ status: 'ready' });
    } catch (err) {
      res.status(503).json({ status: 'database_unreachable', details: errorMessage(err) });
    }
  });

  router.get('/health/startup', (_req, res) => {
    res.status(deps.lifecycle.started ? 200 : 503).json({ status: deps.lifecycle.started ? 'started' : 'starting' });
  });

  router.get('/metrics', async (_req, res) => {
    res.set('Content-Type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  router.get('/.well-known/jwks.json', (_req, res) => {
    // Verifiers may cache keys briefly; a rotation adds the next key well before it signs.
    res.set('Cache-Control', 'public, max-age=300').json(deps.jwks);
  });

  router.get('/openapi.json', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300').json(deps.openapi);
  });

  return router;
}
