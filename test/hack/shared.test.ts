// One control plane per test process for the suites that share it.
import { expect } from 'chai';
import { isAlive } from '../../hack/cluster/process.js';
import { sharedControlPlane, stopSharedControlPlane } from '../../hack/cluster/shared.js';

describe('hack/cluster sharedControlPlane', function () {
  this.timeout(180_000);

  after(() => stopSharedControlPlane());

  it('hands every caller the same running control plane', async () => {
    const [a, b] = await Promise.all([sharedControlPlane(), sharedControlPlane()]);
    expect(a).to.equal(b);
    expect(a.components().map((c) => c.pid).every(isAlive)).to.equal(true);
  });

  it('stops it on stopSharedControlPlane(), and starts a new one on the next call', async () => {
    const first = await sharedControlPlane();
    const pids = first.components().map((c) => c.pid);
    await stopSharedControlPlane();
    expect(pids.filter(isAlive)).to.deep.equal([]);
    const second = await sharedControlPlane();
    expect(second).to.not.equal(first);
    expect(second.server).to.not.equal(first.server);
  });
});
