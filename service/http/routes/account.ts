/** Email verification and passwords under /api/auth: verify, resend, forgot, reset, change. */
import { Router } from 'express';
import { authenticate } from '../../auth/authenticate.js';
import { changePassword } from '../../auth/change-password.js';
import type { AuthDeps } from '../../auth/deps.js';
import { forgotPassword, resetPassword } from '../../auth/password-reset.js';
import { resendVerification, verifyEmail } from '../../auth/verification.js';
import { measurer } from '../measure.js';
import { parseBody, schemas } from '../validate.js';
import { clientInfo } from '../client.js';

// The same body for every address, known or not.
const accepted = { status: 'accepted', message: 'If the address has an account, a message is on its way.' };

export function accountRoutes(deps: AuthDeps): Router {
  const router = Router();
  const measured = measurer(deps.metrics);

  router.post('/verify-email', async (req, res) => {
    const user = await measured('verify_email', () => verifyEmail(deps, parseBody(req, schemas.verifyEmail).token, clientInfo(req)));
    res.json({ user });
  });

  router.post('/resend-verification', async (req, res) => {
    await measured('resend_verification', () => resendVerification(deps, parseBody(req, schemas.email).email, clientInfo(req)));
    res.status(202).json(accepted);
  });

  router.post('/forgot-password', async (req, res) => {
    await measured('forgot_password', () => forgotPassword(deps, parseBody(req, schemas.email).email, clientInfo(req)));
    res.status(202).json(accepted);
  });

  router.post('/reset-password', async (req, res) => {
    await measured('reset_password', () => resetPassword(deps, parseBody(req, schemas.resetPassword), clientInfo(req)));
    res.status(204).end();
  });

  router.post('/change-password', async (req, res) => {
    const revoked = await measured('change_password', async () =>
      changePassword(deps, await authenticate(deps, req.get('authorization')), parseBody(req, schemas.changePassword), clientInfo(req)));
    res.json({ other_sessions_revoked: revoked });
  });

  return router;
}
