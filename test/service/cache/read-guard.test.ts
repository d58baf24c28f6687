import { expect } from 'chai';
import { createReadGuard } from '../../../service/cache/read-guard.js';

describe('the cache read guard', () => {
  it('lets a read keep its value when nothing changed the key meanwhile', () => {
    const guard = createReadGuard();
    const keep = guard.begin('session:a');
    guard.changed('session:b');
    guard.changedUnder('profile:');
    expect(keep()).to.equal(true);
  });

  it('refuses every read in flight when the key changes, and only those', () => {
    const guard = createReadGuard();
    const first = guard.begin('session:a');
    const second = guard.begin('session:a');
    guard.changed('session:a');
    const after = guard.begin('session:a');
    expect([first(), second(), after()]).to.deep.equal([false, false, true]);
  });

  it('refuses the reads under a changed namespace, and every read when everything changed', () => {
    const guard = createReadGuard();
    const profile = guard.begin('profile:u1');
    const session = guard.begin('session:s1');
    guard.changedUnder('profile:');
    expect([profile(), session()]).to.deep.equal([false, true]);
    const any = guard.begin('session:s2');
    guard.changedUnder('');
    expect(any()).to.equal(false);
  });

  it('answers a read once: a second call, as from a finally, says no and changes nothing', () => {
    const guard = createReadGuard();
    const keep = guard.begin('k');
    const other = guard.begin('k');
    expect(keep()).to.equal(true);
    expect(keep()).to.equal(false);
    expect(other()).to.equal(true);
  });
});
