/** Turns the TOTP second factor on for a signed-in account, as a user would: enroll, then confirm with a code and the password. */
import { expect } from 'chai';
import { totp } from '../../../service/mfa/totp.js';
import type { TestService } from '../../support/service.js';

export interface EnrolledFactor {
  secret: string;
  recoveryCodes: string[];
}

export async function enrollTotp(service: TestService, accessToken: string, password: string): Promise<EnrolledFactor> {
  const enroll = await service.request('POST', '/api/auth/mfa/totp/enroll', { token: accessToken });
  expect(enroll.status).to.equal(200);
  const confirm = await service.request('POST', '/api/auth/mfa/totp/confirm', { token: accessToken, body: { code: totp(enroll.body.secret, Date.now()), password } });
  expect(confirm.status).to.equal(200);
  return { secret: enroll.body.secret, recoveryCodes: confirm.body.recovery_codes };
}
