/**
 * Turning the TOTP second factor on and off. Enrolling hands out a secret and
 * its otpauth:// URI; the factor is on only once a code from the app confirms
 * it together with the password, and that answer carries ten recovery codes,
 * shown this once. Turning it off needs the password too: an access token alone
 * (a stolen one, say) can neither put a factor of its own on the account nor
 * take the owner's off. Each change is audited and mailed to the owner.
 */
import { AppError } from '../errors.js';
import { newRecoveryCodes, recoveryCodeHashes } from '../mfa/recovery-codes.js';
import { matchTotp, newTotpSecret, otpauthUri } from '../mfa/totp.js';
import type { Principal } from './authenticate.js';
import type { AuthDeps, ClientInfo } from './deps.js';
import { checkCurrentPassword, stillAllowed } from './password-check.js';

export interface TotpEnrollment {
  secret: string;
  otpauth_uri: string;
}

export async function enrollTotp(deps: AuthDeps, principal: Principal, client: ClientInfo): Promise<TotpEnrollment> {
  const user = await deps.users.findById(principal.userId);
  if (!user) throw new AppError('session_revoked');
  unprovenAddressRefused(user.email_verified);
  const secret = newTotpSecret();
  if (!(await deps.mfa.savePending(user.id, secret))) throw new AppError('mfa_already_enabled');
  await deps.events.record({ type: 'mfa_enrollment_started', userId: user.id, sessionId: principal.sessionId, client });
  return { secret, otpauth_uri: otpauthUri({ secret, issuer: deps.account.totpIssuer, account: user.email }) };
}

/**
 * A second factor goes only on an account whose address is proven. Anyone can register a
 * stranger's address (unless REQUIRE_EMAIL_VERIFICATION); with a factor of their own on it, the
 * owner's password reset, which proves the address and signs the squatter out, still left every
 * login of the owner asking for a code only the squatter has. A reset does not remove a factor: it
 * would make the mailbox alone enough to get past the second factor.
 */
function unprovenAddressRefused(emailVerified: boolean): void {
  if (!emailVerified) throw new AppError('email_not_verified');
}

export interface TotpConfirmation {
  code: string;
  password: string;
}

export async function confirmTotp(deps: AuthDeps, principal: Principal, input: TotpConfirmation, client: ClientInfo): Promise<string[]> {
  const account = await deps.users.findByIdWithHash(principal.userId);
  if (!account) throw new AppError('session_revoked');
  // Also here: a factor enrolled before this check existed may still wait to be confirmed.
  unprovenAddressRefused(account.user.email_verified);
  await checkCurrentPassword(deps, account, input.password, client, 'mfa_enable');
  const factor = await deps.mfa.open(principal.userId);
  if (!factor) throw new AppError('mfa_not_enrolled');
  if (factor.confirmed) throw new AppError('mfa_already_enabled');
  const step = matchTotp(factor.secret, input.code.trim(), deps.now());
  if (step === undefined) throw new AppError('invalid_mfa_code');
  const codes = newRecoveryCodes();
  const current = await deps.db.transaction('auth.mfa_enable', async (tx) => {
    const locked = await stillAllowed(deps, tx, principal, account);
    if (!(await deps.mfa.confirm(tx, principal.userId, factor, step))) throw new AppError('mfa_not_enrolled');
    await deps.mfa.reseal(tx, principal.userId, factor);
    await deps.mfa.replaceRecoveryCodes(tx, principal.userId, recoveryCodeHashes(codes));
    await deps.events.record({ type: 'mfa_enabled', userId: principal.userId, sessionId: principal.sessionId, client, details: { factor: 'totp' } }, tx);
    return locked;
  });
  deps.outbox.enqueue(current.user.email, { name: 'mfa_changed', change: 'enabled' }, client.requestId);
  return codes;
}

export async function disableTotp(deps: AuthDeps, principal: Principal, password: string, client: ClientInfo): Promise<void> {
  const account = await deps.users.findByIdWithHash(principal.userId);
  if (!account) throw new AppError('session_revoked');
  await checkCurrentPassword(deps, account, password, client, 'mfa_disable');
  await deps.db.transaction('auth.mfa_disable', async (tx) => {
    await stillAllowed(deps, tx, principal, account);
    if (!(await deps.mfa.remove(tx, principal.userId))) throw new AppError('mfa_not_enabled');
    await deps.events.record({ type: 'mfa_disabled', userId: principal.userId, sessionId: principal.sessionId, client, details: { factor: 'totp' } }, tx);
  });
  deps.outbox.enqueue(account.user.email, { name: 'mfa_changed', change: 'disabled' }, client.requestId);
}
