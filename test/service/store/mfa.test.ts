import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import pg from 'pg';
import { migrate } from '../../../service/db/migrations.js';
import { createDatabase } from '../../../service/db/pool.js';
import { totpKeyRing } from '../../../service/mfa/encryption-keys.js';
import { newTotpSecret } from '../../../service/mfa/totp.js';
import { createMetrics } from '../../../service/metrics/registry.js';
import { createMfaStore, type MfaStore } from '../../../service/store/mfa.js';
import { createTestDatabase } from '../../support/postgres.js';

describe('the TOTP factor store, against PostgreSQL', () => {
  let pool: pg.Pool;
  let store: MfaStore;
  let userId: string;

  beforeEach(async () => {
    pool = new pg.Pool({ connectionString: await createTestDatabase('mfa-store') });
    await migrate(pool);
    store = createMfaStore(createDatabase(pool, createMetrics(), { queryTimeoutMs: 10_000 }), totpKeyRing(randomBytes(32)));
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO users (email, password_hash, first_name, last_name) VALUES ('ada@example.com', 'x', 'Ada', 'Lovelace') RETURNING id`,
    );
    userId = rows[0]!.id;
  });

  afterEach(async () => {
    await pool.end();
  });

  it('confirms the pending secret the code was checked against, not one a racing enrolment put in its place', async () => {
    expect(await store.savePending(userId, newTotpSecret())).to.equal(true);
    const checked = (await store.open(userId))!;
    // A second enrolment (another tab) replaces the pending secret between the check and the confirm.
    expect(await store.savePending(userId, newTotpSecret())).to.equal(true);
    expect(await store.confirm(pool, userId, checked, 1)).to.equal(false);
    expect((await store.find(userId))?.confirmed).to.equal(false);

    const current = (await store.open(userId))!;
    expect(await store.confirm(pool, userId, current, 1)).to.equal(true);
    expect((await store.find(userId))?.confirmed).to.equal(true);
  });
});
