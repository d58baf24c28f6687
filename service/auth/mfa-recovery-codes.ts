/**
 * Ten new recovery codes for a signed-in user whose second factor is on,
 * replacing every earlier code in one transaction. It takes a current TOTP code,
 * never a recovery code: new codes are usually wanted because the old ones were
 * used up or exposed, and one exposed code must not be enough to mint ten more.
 * A wrong code counts toward the lockout as at sign-in; the change is audited
 * and mailed to the owner.
 */
import { AppError } from '../errors.js';
import { newRecoveryCodes, recoveryCodeHashes } from '../mfa/recovery-codes.js';
import { matchTotp } from '../mfa/totp.js';
import type { Principal } from './authenticate.js';
import type { AuthDeps, ClientInfo } from './deps.js';
import { attemptMfaCode } from './mfa-attempt.js';

export async function regenerateRecoveryCodes(deps: AuthDeps, principal: Principal, code: string, client: ClientInfo): Promise<string[]> {
  // A code guess, as at sign-in: out of the same per-IP budget as every other password or code check.
  if (client.addressBlock) await deps.limits.login.consume(client.addressBlock);
  const user = await deps.users.findById(principal.userId);
  if (!user) throw new AppError('session_revoked');
  const factor = await deps.mfa.open(user.id);
  if (!factor?.confirmed) throw new AppError('mfa_not_enabled');

  const codes = newRecoveryCodes();
  await attemptMfaCode(deps, {
    user,
    client,
    during: 'recovery_codes',
    check: async () => {
      const step = matchTotp(factor.secret, code.trim(), deps.now());
      if (step === undefined) throw new AppError('invalid_mfa_code');
      await deps.db.transaction('auth.recovery_codes_regenerate', async (tx) => {
        // The code is used up as at sign-in, so one read over a shoulder cannot do both.
        if (!(await deps.mfa.useStep(tx, user.id, step))) throw new AppError('invalid_mfa_code');
        await deps.mfa.reseal(tx, user.id, factor);
        await deps.mfa.replaceRecoveryCodes(tx, user.id, recoveryCodeHashes(codes));
        await deps.events.record({ type: 'recovery_codes_regenerated', userId: user.id, sessionId: principal.sessionId, client, details: { count: codes.length } }, tx);
      });
    },
  });
  // The right code releases the attempt reserved for it, as a right password does.
  await deps.lockout.succeed(user.email);
  deps.outbox.enqueue(user.email, { name: 'mfa_changed', change: 'recovery_codes_regenerated' }, client.requestId);
  return codes;
}
