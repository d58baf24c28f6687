import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createLockout, releasingOnError, type Lockout } from '../../../service/security/limits.js';
import { startRedis, type TestRedis } from '../../support/redis.js';

/** How many of `n` further reservations are allowed. */
async function allowedOf(lockout: Lockout, account: string, n: number): Promise<number> {
  let allowed = 0;
  for (let i = 0; i < n; i++) if ((await lockout.reserve(account)).allowed) allowed += 1;
  return allowed;
}

const lockoutBehaviour = (name: string, redisOf: () => Redis | undefined): void => {
  describe(`the account lockout's release (${name})`, () => {
    let lockout: Lockout;
    let n = 0;
    let account: string;
    beforeEach(() => {
      const client = redisOf();
      lockout = createLockout({ threshold: 3, baseSeconds: 60, maxSeconds: 900, redis: client && { client, prefix: 'keyward:' } });
      n += 1;
      account = `release-${n}-${Date.now()}@example.com`;
    });

    it('gives a reservation back: an attempt that failed for another reason costs no guess', async () => {
      await lockout.reserve(account);
      await lockout.release(account);
      expect(await allowedOf(lockout, account, 4)).to.equal(3);
    });

    it('gives back the last chance too, so it locks nothing', async () => {
      expect(await allowedOf(lockout, account, 3)).to.equal(3);
      await lockout.release(account);
      const again = await lockout.reserve(account);
      expect(again).to.deep.equal({ allowed: true, lastChance: true });
    });

    it('grants no extra guess after a success cleared the count', async () => {
      await lockout.reserve(account);
      await lockout.succeed(account);
      await lockout.release(account);
      expect(await allowedOf(lockout, account, 4)).to.equal(3);
    });

    it('does not unlock a locked account, however many attempts give their reservation back', async () => {
      for (let i = 0; i < 3; i++) {
        const reservation = await lockout.reserve(account);
        if (reservation.allowed) await lockout.fail(account, reservation.lastChance);
      }
      // Several requests in flight at the lock, each failing for another reason (a database outage).
      for (let i = 0; i < 4; i++) await lockout.release(account);
      const after = await lockout.reserve(account);
      expect(after.allowed).to.equal(false);
      expect(after.allowed === false && after.retryAfterSeconds, 'seconds until it may try again').to.be.above(0);
    });

    it('releasingOnError gives the reservation back and rethrows the first error', async () => {
      await lockout.reserve(account);
      const outage = new Error('connect ECONNREFUSED');
      let thrown: unknown;
      try {
        await releasingOnError(lockout, account, async () => {
          throw outage;
        });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).to.equal(outage);
      expect(await allowedOf(lockout, account, 4)).to.equal(3);
    });
  });
};

lockoutBehaviour('in process', () => undefined);

describe('shared through Redis', () => {
  let server: TestRedis;
  let redis: Redis | undefined;
  before(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
    // Not ready yet, the limiter would quietly use its in-process insurance instead.
    await redis.ping();
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });
  lockoutBehaviour('Redis', () => redis);

  it('is one count for every replica: a lock taken through one lockout refuses through another', async () => {
    const replica = (): Lockout => createLockout({ threshold: 3, baseSeconds: 60, maxSeconds: 900, redis: { client: redis!, prefix: 'keyward:' } });
    const [first, second] = [replica(), replica()];
    const account = `shared-${Date.now()}@example.com`;
    for (let i = 0; i < 3; i++) {
      const reservation = await first.reserve(account);
      if (reservation.allowed) await first.fail(account, reservation.lastChance);
    }
    expect((await second.reserve(account)).allowed).to.equal(false);
    expect(await redis!.exists(`keyward:lock:attempts:${account}`), 'the count, in Redis').to.equal(1);
  });
});
