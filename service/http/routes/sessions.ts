/** The caller's sessions under /api/auth/sessions: list them, sign one out. */
import { Router } from 'express';
import { authenticate } from '../../auth/authenticate.js';
import type { AuthDeps } from '../../auth/deps.js';
import { listSessions, revokeSession } from '../../auth/sessions.js';
import { measurer } from '../measure.js';
import { clientInfo } from '../client.js';

export function sessionRoutes(deps: AuthDeps): Router {
  const router = Router();
  const measured = measurer(deps.metrics);

  router.get('/sessions', async (req, res) => {
    const sessions = await measured('list_sessions', async () => listSessions(deps, await authenticate(deps, req.get('authorization'))));
    res.json({ sessions });
  });

  router.delete('/sessions/:id', async (req, res) => {
    const id = req.params['id'] ?? '';
    await measured('revoke_session', async () => revokeSession(deps, await authenticate(deps, req.get('authorization')), id, clientInfo(req)));
    res.status(204).end();
  });

  return router;
}
