import { expect } from 'chai';
import { backoffDelay, createWorkQueue } from '../../../operator/controller/queue.js';

describe('operator/controller/queue', () => {
  it('hands out a key once however often it was added while waiting', async () => {
    const queue = createWorkQueue();
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/b');
    expect(queue.depth).to.equal(2);
    expect(await queue.get()).to.equal('ns/a');
    expect(await queue.get()).to.equal('ns/b');
  });

  it('never gives a key being processed to a second worker, and processes it again if it changed meanwhile', async () => {
    const queue = createWorkQueue();
    queue.add('ns/a');
    const key = await queue.get();
    queue.add('ns/a');
    expect(queue.depth).to.equal(0);
    let second: string | undefined;
    void queue.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).to.equal(undefined);
    queue.done(key!);
    await Promise.resolve();
    expect(second).to.equal('ns/a');
  });

  it('backs off exponentially per key, capped, with jitter within ±20 %', () => {
    const mid = () => 0.5;
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 1000, 5000, mid))).to.deep.equal([1000, 2000, 4000, 5000]);
    expect(backoffDelay(1, 1000, 5000, () => 0)).to.equal(800);
    expect(backoffDelay(1, 1000, 5000, () => 1)).to.equal(1200);
  });

  it('re-adds a failed key after its backoff delay and forgets the count after a success', () => {
    const timers: Array<{ fn: () => void; ms: number }> = [];
    const queue = createWorkQueue({ baseDelayMs: 100, random: () => 0.5, setTimer: (fn, ms) => (timers.push({ fn, ms }), { cancel() {} }) });
    queue.addRateLimited('ns/a');
    queue.addRateLimited('ns/b');
    expect(timers.map((t) => t.ms)).to.deep.equal([100, 100]);
    expect(queue.failures('ns/a')).to.equal(1);
    timers[0]!.fn();
    expect(queue.depth).to.equal(1);
    queue.forget('ns/a');
    expect(queue.failures('ns/a')).to.equal(0);
  });

  it('keeps the earlier of two delayed adds of one key', () => {
    const timers: Array<{ ms: number; cancelled: boolean }> = [];
    const queue = createWorkQueue({
      setTimer: (_fn, ms) => {
        const t = { ms, cancelled: false };
        timers.push(t);
        return { cancel: () => (t.cancelled = true) };
      },
    });
    queue.addAfter('ns/a', 5000);
    queue.addAfter('ns/a', 1000);
    queue.addAfter('ns/a', 3000);
    expect(timers.map((t) => [t.ms, t.cancelled])).to.deep.equal([[5000, true], [1000, false]]);
  });

  it('releases waiting workers with undefined on shutdown', async () => {
    const queue = createWorkQueue();
    const pending = queue.get();
    queue.shutDown();
    expect(await pending).to.equal(undefined);
  });
});
