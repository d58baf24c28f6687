import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { startTestService } from '../../support/service.js';

describe('start-up warnings', () => {
  const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const production = { NODE_ENV: 'production', JWT_SIGNING_KEY: signingKey, SMTP_URL: 'smtp://127.0.0.1:2525' };
  const warned = (logs: Array<Record<string, unknown>>): unknown[] => logs.filter((l) => l['level'] === 'warn' && String(l['message']).startsWith('APP_URL is not set'));

  it('warns that mailed links point to localhost when SMTP_URL is set and APP_URL is not', async () => {
    const service = await startTestService(production);
    try {
      expect(warned(service.logs)).to.have.length(1);
    } finally {
      await service.stop();
    }
  });

  it('names the setting a mistyped variable was probably meant to be', async () => {
    const service = await startTestService({ REQUIRE_EMAIL_VERIFICATON: 'true' });
    try {
      const lines = service.logs.filter((l) => l['level'] === 'warn' && String(l['message']).startsWith('REQUIRE_EMAIL_VERIFICATON is not a setting'));
      expect(lines.map((l) => l['message'])).to.deep.equal(['REQUIRE_EMAIL_VERIFICATON is not a setting; did you mean REQUIRE_EMAIL_VERIFICATION? REQUIRE_EMAIL_VERIFICATION keeps its default']);
    } finally {
      await service.stop();
    }
  });

  it('says nothing of it once APP_URL is set', async () => {
    const service = await startTestService({ ...production, APP_URL: 'https://app.example.com' });
    try {
      expect(warned(service.logs)).to.deep.equal([]);
    } finally {
      await service.stop();
    }
  });
});
