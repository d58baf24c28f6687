import { expect } from 'chai';
import { knownVariables } from '../../../service/config/env.js';
import { editDistance, nearMisses } from '../../../service/config/near-miss.js';

describe('settings that look mistyped', () => {
  it('names the setting a name one or two keystrokes away was meant to be', () => {
    expect(nearMisses({ REQUIRE_EMAIL_VERIFICATON: 'true', RATE_LIMIT_LOGIN_PER_MINUTES: '5', DATABSE_URL: 'postgres://db/auth' }, knownVariables)).to.deep.equal([
      { given: 'REQUIRE_EMAIL_VERIFICATON', meant: 'REQUIRE_EMAIL_VERIFICATION' },
      { given: 'RATE_LIMIT_LOGIN_PER_MINUTES', meant: 'RATE_LIMIT_LOGIN_PER_MINUTE' },
      { given: 'DATABSE_URL', meant: 'DATABASE_URL' },
    ]);
  });

  it('says nothing of the settings themselves, of the platform\'s variables, or of short names', () => {
    const env = { DATABASE_URL: 'x', PATH: '/usr/bin', HOSTNAME: 'login-blue-7d9', KUBERNETES_SERVICE_HOST: '10.0.0.1', NODE_OPTIONS: '--x', POD: 'p', npm_config_cache: '/tmp' };
    expect(nearMisses(env, knownVariables)).to.deep.equal([]);
  });

  it('counts a swap of neighbours as one edit, and stops counting at the limit', () => {
    expect(editDistance('VERIFICATOIN', 'VERIFICATION')).to.equal(1);
    expect(editDistance('kitten', 'sitting')).to.equal(3);
    expect(editDistance('ABCDEFGH', 'STUVWXYZ', 3)).to.equal(3);
  });
});
