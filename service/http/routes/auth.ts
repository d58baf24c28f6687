/** The core account API under /api/auth: thin handlers that parse, call the flow, and answer. */
import { Router } from 'express';
import { authenticate } from '../../auth/authenticate.js';
import type { AuthDeps } from '../../auth/deps.js';
import { login } from '../../auth/login.js';
import { logout, logoutAll } from '../../auth/logout.js';
import { profile } from '../../auth/profile.js';
import { refresh } from '../../auth/refresh.js';
import { register } from '../../auth/register.js';
import { clientInfo } from '../client.js';
import { measurer } from '../measure.js';
import { parseBody, schemas } from '../validate.js';

export function authRoutes(deps: AuthDeps): Router {
  const router = Router();
  const measured = measurer(deps.metrics);

  router.post('/register', async (req, res) => {
    const result = await measured('register', () => register(deps, parseBody(req, schemas.register), clientInfo(req)));
    res.status(result.status).json(result.body);
  });

  router.post('/login', async (req, res) => {
    res.json(await measured('login', () => login(deps, parseBody(req, schemas.login), clientInfo(req))));
  });

  router.post('/refresh', async (req, res) => {
    res.json(await measured('refresh', () => refresh(deps, parseBody(req, schemas.refresh).refresh_token, clientInfo(req))));
  });

  router.get('/me', async (req, res) => {
    const user = await measured('me', async () => profile(deps, (await authenticate(deps, req.get('authorization'))).userId));
    res.json({ user });
  });

  router.post('/logout', async (req, res) => {
    await measured('logout', async () => logout(deps, await authenticate(deps, req.get('authorization')), clientInfo(req)));
    res.status(204).end();
  });

  router.post('/logout-all', async (req, res) => {
    await measured('logout_all', async () => logoutAll(deps, await authenticate(deps, req.get('authorization')), clientInfo(req)));
    res.status(204).end();
  });

  return router;
}
