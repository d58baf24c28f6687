/**
 * Password login. An unknown email, a wrong password and a locked account get
 * the same status, body and time: a dummy bcrypt verification runs whenever no
 * real one does, so neither the answer nor its latency says which it was.
 * Only after the right password may the answer differ: an unverified address
 * (when verification is required) or a second factor to present.
 */
import { AppError } from '../errors.js';
import type { AuthDeps, ClientInfo } from './deps.js';
import type { StartedSession } from './session-start.js';
import { completeSignIn } from './sign-in.js';

export interface Credentials {
  email: string;
  password: string;
}

export interface MfaChallenge {
  mfa_required: true;
  mfa_token: string;
  expires_in: number;
}

export async function login(deps: AuthDeps, input: Credentials, client: ClientInfo): Promise<StartedSession | MfaChallenge> {
  if (client.ip) await deps.limits.login.consume(client.ip);
  const reservation = await deps.lockout.reserve(input.email);
  const account = await deps.users.findByEmail(input.email);
  const ok = reservation.allowed && account
    ? await deps.passwords.verify(input.password, account.passwordHash)
    : await deps.passwords.verifyAgainstDummy(input.password);

  if (!ok || !account || !reservation.allowed) {
    const reason = !reservation.allowed ? 'locked' : account ? 'wrong_password' : 'unknown_user';
    await deps.events.record({ type: 'login_failed', userId: account?.user.id, ip: client.ip, details: { reason, email: input.email } });
    if (reservation.allowed && account) {
      const lockedFor = await deps.lockout.fail(input.email, reservation.lastChance);
      if (lockedFor !== undefined) {
        await deps.events.record({ type: 'account_locked', userId: account.user.id, ip: client.ip, details: { seconds: lockedFor } });
      }
    } else if (reservation.allowed) {
      // Unknown addresses lock exactly like real ones, or the lockout itself would reveal which exist.
      await deps.lockout.fail(input.email, reservation.lastChance);
    }
    throw new AppError('invalid_credentials');
  }

  const { user } = account;
  if (deps.account.requireEmailVerification && !user.email_verified) {
    // The password was right: the count of wrong guesses starts over, but no session opens.
    await deps.lockout.succeed(input.email);
    await deps.events.record({ type: 'login_refused_unverified', userId: user.id, ip: client.ip });
    throw new AppError('email_not_verified');
  }

  const factor = await deps.mfa.find(user.id);
  if (factor?.confirmed) {
    // The lockout is not cleared yet: a right password followed by wrong codes keeps counting,
    // so knowing the password does not buy unlimited guesses at the code.
    const mfaToken = await deps.db.transaction('auth.mfa_challenge', async (tx) => {
      const token = await deps.oneTimeTokens.issue(tx, user.id, 'mfa_login', deps.account.mfaTokenTtlSeconds);
      await deps.events.record({ type: 'mfa_challenge_issued', userId: user.id, ip: client.ip }, tx);
      return token;
    });
    return { mfa_required: true, mfa_token: mfaToken, expires_in: deps.account.mfaTokenTtlSeconds };
  }
  return completeSignIn(deps, user, client, 'password');
}
