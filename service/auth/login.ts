/**
 * Password login. An unknown email, a wrong password and a locked account get
 * the same status, body and time: a dummy bcrypt verification runs whenever no
 * real one does, so neither the answer nor its latency says which it was.
 * Only after the right password may the answer differ: an unverified address
 * (when verification is required) or a second factor to present.
 */
import { AppError, isAppError } from '../errors.js';
import { releasingOnError } from '../security/limits.js';
import type { UserWithHash } from '../store/users.js';
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
  if (client.addressBlock) await deps.limits.login.consume(client.addressBlock);
  const reservation = await deps.lockout.reserve(input.email);
  // Until a password is judged wrong, a failure (PostgreSQL down, a bug) is no guess: the
  // reservation goes back, or an outage of LOCKOUT_THRESHOLD requests would lock the account.
  const { account, ok } = await releasingOnError(deps.lockout, input.email, async () => {
    const account = await deps.users.findByEmail(input.email);
    const ok = reservation.allowed && account
      ? await deps.passwords.verify(input.password, account.passwordHash)
      : await deps.passwords.verifyAgainstDummy(input.password);
    return { account, ok };
  });

  if (!ok || !account || !reservation.allowed) {
    const reason = !reservation.allowed ? 'locked' : account ? 'wrong_password' : 'unknown_user';
    // Counted before the audit write: a database failure there must not make the guess free.
    // Unknown addresses lock exactly like real ones, or the lockout itself would reveal which exist.
    const lockedFor = reservation.allowed ? await deps.lockout.fail(input.email, reservation.lastChance) : undefined;
    // One statement either way: the extra row of a failure that locks an existing account must
    // not cost a round trip that an unknown address's failure does not.
    await deps.events.recordAll([
      { type: 'login_failed', userId: account?.user.id, client, details: { reason, email: input.email } },
      ...(account && lockedFor !== undefined ? [{ type: 'account_locked' as const, userId: account.user.id, client, details: { seconds: lockedFor } }] : []),
    ]);
    throw new AppError('invalid_credentials');
  }
  // The password was right: nothing that fails from here on was a guess either.
  upgradeHash(deps, account, input.password, client);
  return releasingOnError(deps.lockout, input.email, () => afterRightPassword(deps, account, client));
}

async function afterRightPassword(deps: AuthDeps, account: UserWithHash, client: ClientInfo): Promise<StartedSession | MfaChallenge> {
  const { user } = account;
  if (deps.account.requireEmailVerification && !user.email_verified) {
    // The password was right: the count of wrong guesses starts over, but no session opens.
    await deps.lockout.succeed(user.email);
    await deps.events.record({ type: 'login_refused_unverified', userId: user.id, client });
    throw new AppError('email_not_verified');
  }

  try {
    const factor = await deps.mfa.find(user.id);
    if (factor?.confirmed) {
      const mfaToken = await deps.db.transaction('auth.mfa_challenge', async (tx) => {
        passwordUnchanged(account, await deps.users.lockForSignIn(tx, user.id));
        const token = await deps.oneTimeTokens.issue(tx, user.id, 'mfa_login', deps.account.mfaTokenTtlSeconds);
        await deps.events.record({ type: 'mfa_challenge_issued', userId: user.id, client }, tx);
        return token;
      });
      // The lockout is not cleared: earlier failures stand, and each code is an attempt of its own,
      // so knowing the password buys no extra guesses at the code. But this attempt was no guess and
      // goes back. Kept, it let anyone's failures fill the count up to the last attempt with the
      // owner's right password, and every code after it, the right one too, was refused until the
      // 15-minute window ran out: a lock nobody was told of, renewable with as many wrong passwords.
      await deps.lockout.release(user.email).catch((err: unknown) => {
        deps.logger.warn('giving back the password\'s lockout attempt failed; it stays counted', { error: err instanceof Error ? err.message : String(err), request_id: client.requestId });
      });
      return { mfa_required: true, mfa_token: mfaToken, expires_in: deps.account.mfaTokenTtlSeconds };
    }
    return await completeSignIn(deps, user, client, 'password', async (_tx, current) => passwordUnchanged(account, current));
  } catch (err) {
    // Only passwordUnchanged answers invalid_credentials past the password check.
    if (isAppError(err) && err.code === 'invalid_credentials') {
      await deps.events.record({ type: 'login_failed', userId: user.id, client, details: { reason: 'password_changed', email: user.email } });
    }
    throw err;
  }
}

/**
 * Re-hashes the password at the configured cost once BCRYPT_COST has changed, so raising it reaches
 * every account that signs in. In the background: the login does not wait for a second bcrypt. The
 * hash is replaced only if it is still the one verified; a password changed meanwhile stays.
 */
function upgradeHash(deps: AuthDeps, account: UserWithHash, password: string, client: ClientInfo): void {
  if (!deps.passwords.needsRehash(account.passwordHash)) return;
  deps.background.run('password re-hash', client.requestId, async () => {
    if (await deps.users.upgradeHash(account.user.id, account.passwordHash, await deps.passwords.hash(password))) {
      deps.logger.info('password re-hashed at the configured bcrypt cost', { user_id: account.user.id, request_id: client.requestId });
    }
  });
}

/**
 * Refuses when the password verified at the start of the login is no longer the account's: a change
 * or reset committed since, and nothing the old password opens may outlive it. The version is
 * compared, not the hash: a re-hash at a new cost (upgradeHash) is the same password. The answer is
 * a wrong password's, which is what the password now is. `current` is read with the row lock
 * that the change's own UPDATE takes (lockForSignIn), so one of the two always comes second.
 */
function passwordUnchanged(verified: UserWithHash, current: UserWithHash | undefined): void {
  if (current?.passwordVersion !== verified.passwordVersion) throw new AppError('invalid_credentials');
}
