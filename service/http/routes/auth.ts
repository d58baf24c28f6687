/** The account API under /api/auth: thin handlers that parse, call the flow, and answer. */
import { Router, type Request } from 'express';
import { authenticate } from '../../auth/authenticate.js';
import type { AuthDeps, ClientInfo } from '../../auth/deps.js';
import { login } from '../../auth/login.js';
import { logout, logoutAll } from '../../auth/logout.js';
import { profile } from '../../auth/profile.js';
import { refresh } from '../../auth/refresh.js';
import { register } from '../../auth/register.js';
import { isAppError } from '../../errors.js';
import { parseBody, schemas } from '../validate.js';

const clientInfo = (req: Request): ClientInfo => ({ ip: req.ip, userAgent: req.get('user-agent') });

export function authRoutes(deps: AuthDeps): Router {
  const router = Router();

  /** Counts and times an auth operation under the guide's metric names. */
  const measured = async <T>(operation: string, work: () => Promise<T>): Promise<T> => {
    const end = deps.metrics.authRequestDuration.startTimer({ operation });
    try {
      const result = await work();
      deps.metrics.authRequests.inc({ operation, result: 'success' });
      return result;
    } catch (err) {
      deps.metrics.authRequests.inc({ operation, result: isAppError(err) ? err.code : 'error' });
      throw err;
    } finally {
      end();
    }
  };

  router.post('/register', async (req, res) => {
    const input = parseBody(req, schemas.register);
    res.status(201).json(await measured('register', () => register(deps, input, clientInfo(req))));
  });

  router.post('/login', async (req, res) => {
    const input = parseBody(req, schemas.login);
    res.json(await measured('login', () => login(deps, input, clientInfo(req))));
  });

  router.post('/refresh', async (req, res) => {
    const input = parseBody(req, schemas.refresh);
    res.json(await measured('refresh', () => refresh(deps, input.refresh_token, clientInfo(req))));
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
