/**
 * Account registration: validate, hash, create the user (and, unless email
 * verification is required, its first session) in one transaction, and mail a
 * verification link.
 *
 * With REQUIRE_EMAIL_VERIFICATION the answer is 202 "check your mail" whether
 * the address is new or taken, after the same work (a bcrypt hash and an insert
 * attempt), and the owner of a taken address is mailed instead: the endpoint
 * cannot be used to learn which addresses have accounts. Either mail counts
 * toward the address's mail budget (limits.emailAddress), so what is left of it
 * for forgot-password does not tell them apart either. Without it a taken
 * address answers 409 email_taken, as most sign-up forms expect.
 */
import { isAppError } from '../errors.js';
import { checkPassword } from '../passwords/policy.js';
import type { AuthDeps, ClientInfo } from './deps.js';
import { startSession, type StartedSession } from './session-start.js';
import { issueVerification } from './verification.js';
import { profileKey } from './profile.js';

export interface Registration {
  email: string;
  password: string;
  first_name: string;
  last_name: string;
}

export interface VerificationPending {
  verification_required: true;
  email: string;
}

export type RegistrationResult = { status: 201; body: StartedSession } | { status: 202; body: VerificationPending };

export async function register(deps: AuthDeps, input: Registration, client: ClientInfo): Promise<RegistrationResult> {
  if (client.addressBlock) await deps.limits.register.consume(client.addressBlock);
  checkPassword(input.password);
  const passwordHash = await deps.passwords.hash(input.password);
  const required = deps.account.requireEmailVerification;
  try {
    const { user, session, response, message } = await deps.db.transaction('auth.register', async (tx) => {
      const user = await deps.users.create(tx, { email: input.email, passwordHash, firstName: input.first_name, lastName: input.last_name });
      const started = required ? undefined : await startSession(deps, tx, user, client);
      await deps.events.record({ type: 'user_registered', userId: user.id, sessionId: started?.sessionId, client }, tx);
      const message = await issueVerification(deps, tx, user, client);
      return { user, session: started && { id: started.sessionId, expiresAt: started.expiresAt }, response: started?.response, message };
    });
    deps.outbox.enqueue(user.email, message, client.requestId);
    if (required) {
      // Spent as a taken address's notice spends it. Sent even over budget: an address registers
      // once, so this mail cannot be repeated into a flood, and the account needs it.
      await withinAddressBudget(deps, user.email, client);
    }
    if (!response || !session) return { status: 202, body: { verification_required: true, email: user.email } };
    await deps.sessions.remember(session.id, { userId: user.id, expiresAt: session.expiresAt });
    // Filled, never overwritten: the link mailed above may already have verified the address.
    await deps.cache.add(profileKey(user.id), user);
    deps.logger.debug('session started', { user_id: user.id, session_id: session.id, request_id: client.requestId });
    return { status: 201, body: response };
  } catch (err) {
    if (!(required && isAppError(err) && err.code === 'email_taken')) throw err;
    const notified = await withinAddressBudget(deps, input.email, client);
    await deps.events.record({ type: 'registration_repeated', client, details: { email: input.email, notified } });
    if (notified) deps.outbox.enqueue(input.email, { name: 'account_exists', forgotPasswordLink: `${deps.account.appUrl}/forgot-password` }, client.requestId);
    return { status: 202, body: { verification_required: true, email: input.email } };
  }
}

/**
 * Each sign-up with a taken address mails its owner: without the per-address budget that
 * reset and verification mail share, anyone could flood a stranger's inbox through this form.
 * Over budget the notice is dropped, never answered 429: a new address gets no 429, so
 * that answer would tell which addresses have accounts. A limiter that fails (its store
 * unreachable) counts as over budget, logged: the answer stays the same 202 on both paths.
 */
async function withinAddressBudget(deps: AuthDeps, email: string, client: ClientInfo): Promise<boolean> {
  try {
    await deps.limits.emailAddress.consume(email);
    return true;
  } catch (err) {
    if (!(isAppError(err) && err.code === 'rate_limited')) {
      deps.logger.warn('could not count a registration toward the address\'s mail budget', { error: err, request_id: client.requestId });
    }
    return false;
  }
}
