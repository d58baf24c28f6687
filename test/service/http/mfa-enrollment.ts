/** Turns the TOTP second factor on for a signed-in account, as a user would: enroll, then confirm with a code and the password. */
import { expect } from 'chai';
import { totp } from '../../../service/mfa/totp.js';
import { query } from '../../support/db.js';
import type { TestService } from '../../support/service.js';

/**
 * Marks the signed-in account's address verified, as following the mailed link does (the service
 * enrolls a second factor only then). For suites about something else, whose service mails
 * nowhere; the link itself is tested in verification.test.ts and mfa.test.ts.
 */
export async function proveAddress(service: TestService, accessToken: string): Promise<void> {
  const me = await service.request('GET', '/api/auth/me', { token: accessToken });
  expect(me.status).to.equal(200);
  await query(service.databaseUrl, 'UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1', [me.body.user.id]);
}

export interface EnrolledFactor {
  secret: string;
  recoveryCodes: string[];
}

export async function enrollTotp(service: TestService, accessToken: string, password: string): Promise<EnrolledFactor> {
  await proveAddress(service, accessToken);
  const enroll = await service.request('POST', '/api/auth/mfa/totp/enroll', { token: accessToken });
  expect(enroll.status).to.equal(200);
  const confirm = await service.request('POST', '/api/auth/mfa/totp/confirm', { token: accessToken, body: { code: totp(enroll.body.secret, Date.now()), password } });
  expect(confirm.status).to.equal(200);
  return { secret: enroll.body.secret, recoveryCodes: confirm.body.recovery_codes };
}
