import { expect } from 'chai';
import { createUnsynced, namespaceOf } from '../../../service/cache/unsynced.js';

describe('unsynced keys (writes Redis missed)', () => {
  it('names a namespace by the text up to the first colon', () => {
    expect(namespaceOf('session:4b1c')).to.equal('session:');
    expect(namespaceOf('user:7:profile')).to.equal('user:');
    expect(namespaceOf('plain')).to.equal('plain');
  });

  it('remembers marked keys until a repair that covered them settles', () => {
    const unsynced = createUnsynced(10);
    expect(unsynced.empty()).to.equal(true);
    unsynced.mark('session:a');
    unsynced.mark('user:b');
    expect(unsynced.has('session:a')).to.equal(true);
    expect(unsynced.has('session:c')).to.equal(false);
    const repair = unsynced.snapshot();
    unsynced.settle(repair);
    expect(unsynced.empty()).to.equal(true);
  });

  it('keeps a key marked again while its repair ran: that write may have missed Redis after the repair', () => {
    const unsynced = createUnsynced(10);
    unsynced.mark('session:a');
    unsynced.mark('session:b');
    const repair = unsynced.snapshot();
    unsynced.mark('session:a');
    unsynced.mark('session:c');
    unsynced.settle(repair);
    expect(unsynced.has('session:a')).to.equal(true);
    expect(unsynced.has('session:b')).to.equal(false);
    expect(unsynced.has('session:c')).to.equal(true);
  });

  it('past its limit, tracks the whole namespace instead of more keys, and forgets that namespace\'s keys', () => {
    const unsynced = createUnsynced(2);
    unsynced.mark('session:a');
    unsynced.mark('user:x');
    unsynced.mark('session:b');
    const repair = unsynced.snapshot();
    expect([...repair.keys.keys()]).to.deep.equal(['user:x']);
    expect([...repair.namespaces.keys()]).to.deep.equal(['session:']);
    expect(unsynced.has('session:never-written')).to.equal(true);
    expect(unsynced.has('user:y')).to.equal(false);
    unsynced.settle(repair);
    expect(unsynced.empty()).to.equal(true);
  });

  it('keeps a namespace whose key was marked again during its repair', () => {
    const unsynced = createUnsynced(0);
    unsynced.mark('session:a');
    const repair = unsynced.snapshot();
    unsynced.mark('session:b');
    unsynced.settle(repair);
    expect(unsynced.has('session:a')).to.equal(true);
  });
});
