/**
 * The second half of a login with the TOTP factor on: the `mfa_token` from the
 * password step plus a code from the app, or one of the recovery codes. A TOTP
 * code works once (its time step is stored); a wrong code counts toward the
 * account's lockout like a wrong password, and leaves the mfa_token usable
 * until it expires, so a typo does not mean starting over.
 */
import { AppError } from '../errors.js';
import { hashRecoveryCode, normalizeRecoveryCode } from '../mfa/recovery-codes.js';
import { matchTotp } from '../mfa/totp.js';
import type { AuthDeps, ClientInfo } from './deps.js';
import { attemptMfaCode } from './mfa-attempt.js';
import type { StartedSession } from './session-start.js';
import { completeSignIn, type SignInMethod } from './sign-in.js';

export interface MfaVerification {
  mfa_token: string;
  code: string;
}

export async function verifyMfa(deps: AuthDeps, input: MfaVerification, client: ClientInfo): Promise<StartedSession> {
  if (client.addressBlock) await deps.limits.login.consume(client.addressBlock);
  const userId = await deps.oneTimeTokens.peek(input.mfa_token, 'mfa_login');
  const account = userId === undefined ? undefined : await deps.users.findById(userId);
  // Decrypted before any code is checked: a secret no key opens answers 503 and costs no attempt.
  const factor = account && (await deps.mfa.open(account.id));
  // The factor may have been turned off since the password step: start over.
  if (!account || !factor?.confirmed) throw new AppError('invalid_mfa_token');

  const code = input.code.trim();
  let remaining: number | undefined;
  const { session, method } = await attemptMfaCode(deps, {
    user: account,
    client,
    check: async () => {
      const step = matchTotp(factor.secret, code, deps.now());
      const recovery = step === undefined ? normalizeRecoveryCode(code) : undefined;
      if (step === undefined && recovery === undefined) throw new AppError('invalid_mfa_code');
      const method: SignInMethod = step !== undefined ? 'totp' : 'recovery_code';
      const session = await completeSignIn(deps, account, client, method, async (tx) => {
        if ((await deps.oneTimeTokens.consume(tx, input.mfa_token, 'mfa_login')) === undefined) throw new AppError('invalid_mfa_token');
        if (step !== undefined) {
          // Refused when this step, or a later one, was used already: the same code twice is a replay.
          if (!(await deps.mfa.useStep(tx, account.id, step))) throw new AppError('invalid_mfa_code');
          await deps.mfa.reseal(tx, account.id, factor);
          return;
        }
        if (!(await deps.mfa.useRecoveryCode(tx, account.id, hashRecoveryCode(recovery!)))) throw new AppError('invalid_mfa_code');
        // The secret was opened either way: a stale one is sealed under the current key now too.
        await deps.mfa.reseal(tx, account.id, factor);
        remaining = await deps.mfa.remainingRecoveryCodes(tx, account.id);
        await deps.events.record({ type: 'recovery_code_used', userId: account.id, client, details: { remaining } }, tx);
      });
      return { session, method };
    },
  });
  if (method === 'recovery_code') {
    deps.outbox.enqueue(account.email, { name: 'mfa_changed', change: 'recovery_code_used', remainingRecoveryCodes: remaining }, client.requestId);
  }
  return session;
}
