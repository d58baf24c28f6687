/**
 * Password login. An unknown email, a wrong password and a locked account get
 * the same status, body and time: a dummy bcrypt verification runs whenever no
 * real one does, so neither the answer nor its latency says which it was.
 */
import { AppError } from '../errors.js';
import type { AuthDeps, ClientInfo } from './deps.js';
import { startSession, type StartedSession } from './session-start.js';

export interface Credentials {
  email: string;
  password: string;
}

export async function login(deps: AuthDeps, input: Credentials, client: ClientInfo): Promise<StartedSession> {
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

  await deps.lockout.succeed(input.email);
  const { sessionId, response } = await deps.db.transaction('auth.login', async (tx) => {
    const started = await startSession(deps, tx, account.user, client);
    await deps.events.record({ type: 'login_succeeded', userId: account.user.id, sessionId: started.sessionId, ip: client.ip }, tx);
    return started;
  });
  // Written through so the `me` that follows a login is a cache hit.
  await deps.cache.set(`user:${account.user.id}`, account.user);
  deps.logger.debug('session started', { user_id: account.user.id, session_id: sessionId });
  return response;
}
