import { expect } from 'chai';
import { AppError } from '../../../service/errors.js';
import { createPasswordHasher, roundsOf } from '../../../service/passwords/hash.js';

/** The median time of `runs` calls of `fn`, in ns: timing tests compare two of these, never an absolute. */
async function median(fn: () => Promise<boolean>, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - start));
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)] ?? 0;
}

describe('service/passwords/hash', () => {
  const hasher = createPasswordHasher({ cost: 4 });

  it('verifies a password against its own hash and refuses another password', async () => {
    const hash = await hasher.hash('correct horse battery staple');
    expect(hash).to.match(/^\$2b\$04\$/);
    expect(await hasher.verify('correct horse battery staple', hash)).to.equal(true);
    expect(await hasher.verify('correct horse battery stapler', hash)).to.equal(false);
  });

  it('salts every hash', async () => {
    expect(await hasher.hash('same password')).to.not.equal(await hasher.hash('same password'));
  });

  it('hashes multibyte passwords up to exactly 72 bytes', async () => {
    const password = '€'.repeat(24);
    expect(await hasher.verify(password, await hasher.hash(password))).to.equal(true);
  });

  it('refuses to hash more than 72 bytes instead of truncating', async () => {
    const err = await hasher.hash('€'.repeat(24) + 'a').then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(AppError).and.include({ code: 'password_too_long', status: 400 });
  });

  it('does not accept a longer password whose first 72 bytes match', async () => {
    const password = 'x'.repeat(72);
    const hash = await hasher.hash(password);
    expect(await hasher.verify(password + 'anything', hash)).to.equal(false);
  });

  it('answers false from the dummy hash, whatever the password', async () => {
    for (const password of ['', 'password', 'correct horse battery staple']) {
      expect(await hasher.verifyAgainstDummy(password)).to.equal(false);
    }
  });

  it('takes about as long for an unknown user (dummy) as for a wrong password', async function () {
    this.timeout(60_000);
    // Cost 10 makes one comparison ~50 ms, well above timer and scheduling noise.
    const slow = createPasswordHasher({ cost: 10 });
    const hash = await slow.hash('the real password');
    await slow.verifyAgainstDummy('warm-up'); // the dummy hash is computed at creation
    const wrong = await median(() => slow.verify('a wrong password', hash), 7);
    const unknown = await median(() => slow.verifyAgainstDummy('a wrong password'), 7);
    expect(unknown / wrong).to.be.within(0.5, 2);
  });

  it('wants a re-hash only for a bcrypt hash of another cost', async () => {
    const at6 = createPasswordHasher({ cost: 6 });
    expect(at6.needsRehash(await at6.hash('same cost'))).to.equal(false);
    expect(at6.needsRehash(await hasher.hash('made before the cost was raised'))).to.equal(true);
    expect(at6.needsRehash(await createPasswordHasher({ cost: 7 }).hash('made before the cost was lowered'))).to.equal(true);
    expect(at6.needsRehash('not a bcrypt hash')).to.equal(false);
    expect(roundsOf('$2b$12$abcdefghijklmnopqrstuu')).to.equal(12);
    expect(roundsOf('$2a$04$abcdefghijklmnopqrstuu')).to.equal(4);
    expect(roundsOf('plain text')).to.equal(undefined);
  });

  it('takes as long for a wrong password against a hash from before the cost was raised as against one at the cost', async function () {
    this.timeout(60_000);
    // Cost 10 against 6: without topping up, the old hash answers 16 times faster, and that
    // difference would tell an old account from an unknown email (which verifies at 10).
    const slow = createPasswordHasher({ cost: 10 });
    const current = await slow.hash('the real password');
    const old = await createPasswordHasher({ cost: 6 }).hash('the real password');
    const againstCurrent = await median(() => slow.verify('a wrong password', current), 5);
    const againstOld = await median(() => slow.verify('a wrong password', old), 5);
    expect(againstOld / againstCurrent).to.be.within(0.5, 2);
    // The right password is not topped up: the sign-in it opens re-hashes at the new cost.
    expect(await slow.verify('the real password', old)).to.equal(true);
  });

  it('refuses a cost outside bcrypt\'s 4..31', () => {
    expect(() => createPasswordHasher({ cost: 3 })).to.throw(RangeError);
    expect(() => createPasswordHasher({ cost: 32 })).to.throw(RangeError);
    expect(() => createPasswordHasher({ cost: 10.5 })).to.throw(RangeError);
  });
});
