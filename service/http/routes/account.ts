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
    const input = parseBody(req, schemas.verifyEmail);
    const user = await measured('verify_email', () => verifyEmail(deps, input.token, clientInfo(req)));
    res.json({ user });
  });

  router.post('/resend-verification', async (req, res) => {
    const input = parseBody(req, schemas.email);
    await measured('resend_verification', () => resendVerification(deps, input.email, clientInfo(req)));
    res.status(202).json(accepted);
  });

  router.post('/forgot-password', async (req, res) => {
    const input = parseBody(req, schemas.email);
    await measured('forgot_password', () => forgotPassword(deps, input.email, clientInfo(req)));
    res.status(202).json(accepted);
  });

  router.post('/reset-password', async (req, res) => {
    const input = parseBody(req, schemas.resetPassword);
    await measured('reset_password', () => resetPassword(deps, input, clientInfo(req)));
    res.status(204).end();
  });

  router.post('/change-password', async (req, res) => {
    const principal = await authenticate(deps, req.get('authorization'));
    const input = parseBody(req, schemas.changePassword);
    const revoked = await measured('change_password', () => changePassword(deps, principal, input, clientInfo(req)));
    res.json({ other_sessions_revoked: revoked });
  });

  return router;
}
