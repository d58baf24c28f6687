import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const module = fileURLToPath(new URL('../../../service/util/tick-objects.ts', import.meta.url));

/**
 * A process that makes nextTick hot, lets every tick object go, runs full collections, and
 * reports through V8's --trace-deopt whether nextTick's optimised code was thrown away for maps
 * that died ("weak objects"). Not a timing: the deoptimisation itself is what slows nextTick.
 */
function nextTickDeoptimisedByCollection(hold: boolean): { deoptimised: boolean; output: string } {
  const script = `
    import { holdTickObject } from ${JSON.stringify(module)};
    if (${hold}) await holdTickObject();
    const noop = () => {};
    const burst = () => new Promise((resolve) => {
      let left = 200;
      const step = () => { for (let i = 0; i < 1000; i++) process.nextTick(noop, i); if (--left > 0) setImmediate(step); else setImmediate(resolve); };
      step();
    });
    await burst();
    for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((resolve) => setTimeout(resolve, 50)); }
    await burst();
  `;
  const child = spawnSync(process.execPath, ['--expose-gc', '--trace-deopt', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect(child.status, child.stderr).to.equal(0);
  return { deoptimised: /SharedFunctionInfo nextTick>.*reason: weak objects/.test(child.stdout), output: child.stdout };
}

describe('the tick object held for the life of the process (service/util/tick-objects)', function () {
  this.timeout(120_000);

  it('is still needed: without it, a full collection with no tick queued throws nextTick\'s optimised code away', () => {
    const { deoptimised } = nextTickDeoptimisedByCollection(false);
    expect(deoptimised, `Node ${process.version} no longer deoptimises nextTick when its tick objects' maps die: holdTickObject() can go`).to.equal(true);
  });

  it('keeps nextTick\'s optimised code through full collections', () => {
    const { deoptimised, output } = nextTickDeoptimisedByCollection(true);
    expect(deoptimised, output.split('\n').filter((line) => line.includes('nextTick')).join('\n')).to.equal(false);
  });
});
