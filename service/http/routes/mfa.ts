/** The TOTP second factor under /api/auth/mfa: enroll, confirm, disable, new recovery codes, and the second step of a login. */
import { Router } from 'express';
import { authenticate } from '../../auth/authenticate.js';
import type { AuthDeps } from '../../auth/deps.js';
import { confirmTotp, disableTotp, enrollTotp } from '../../auth/mfa.js';
import { verifyMfa } from '../../auth/mfa-login.js';
import { regenerateRecoveryCodes } from '../../auth/mfa-recovery-codes.js';
import { measurer } from '../measure.js';
import { parseBody, schemas } from '../validate.js';
import { clientInfo } from '../client.js';

export function mfaRoutes(deps: AuthDeps): Router {
  const router = Router();
  const measured = measurer(deps.metrics);

  router.post('/mfa/totp/enroll', async (req, res) => {
    res.json(await measured('mfa_enroll', async () => enrollTotp(deps, await authenticate(deps, req.get('authorization')), clientInfo(req))));
  });

  router.post('/mfa/totp/confirm', async (req, res) => {
    const codes = await measured('mfa_confirm', async () =>
      confirmTotp(deps, await authenticate(deps, req.get('authorization')), parseBody(req, schemas.totpEnable), clientInfo(req)));
    res.json({ recovery_codes: codes });
  });

  router.post('/mfa/totp/disable', async (req, res) => {
    await measured('mfa_disable', async () =>
      disableTotp(deps, await authenticate(deps, req.get('authorization')), parseBody(req, schemas.totpDisable).password, clientInfo(req)));
    res.status(204).end();
  });

  router.post('/mfa/recovery-codes', async (req, res) => {
    // The same {code} body as confirm; only a current TOTP code is accepted (see regenerateRecoveryCodes).
    const codes = await measured('mfa_recovery_codes', async () =>
      regenerateRecoveryCodes(deps, await authenticate(deps, req.get('authorization')), parseBody(req, schemas.totpConfirm).code, clientInfo(req)));
    res.json({ recovery_codes: codes });
  });

  router.post('/mfa/verify', async (req, res) => {
    res.json(await measured('mfa_verify', () => verifyMfa(deps, parseBody(req, schemas.mfaVerify), clientInfo(req))));
  });

  return router;
}
