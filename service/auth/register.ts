/** Account registration: validate, hash, create the user and its first session in one transaction. */
import { checkPassword } from '../passwords/policy.js';
import type { AuthDeps, ClientInfo } from './deps.js';
import { startSession, type StartedSession } from './session-start.js';

export interface Registration {
  email: string;
  password: string;
  first_name: string;
  last_name: string;
}

export async function register(deps: AuthDeps, input: Registration, client: ClientInfo): Promise<StartedSession> {
  if (client.ip) await deps.limits.register.consume(client.ip);
  checkPassword(input.password);
  const passwordHash = await deps.passwords.hash(input.password);
  const { user, sessionId, response } = await deps.db.transaction('auth.register', async (tx) => {
    const user = await deps.users.create(tx, {
      email: input.email,
      passwordHash,
      firstName: input.first_name,
      lastName: input.last_name,
    });
    const started = await startSession(deps, tx, user, client);
    await deps.events.record({ type: 'user_registered', userId: user.id, sessionId: started.sessionId, ip: client.ip }, tx);
    return { user, ...started };
  });
  await deps.cache.set(`user:${user.id}`, user);
  deps.logger.debug('session started', { user_id: user.id, session_id: sessionId });
  return response;
}
