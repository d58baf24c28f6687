import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { openLoop } from '../../bench/support/open-loop.js';

describe('bench openLoop: a source with nothing to send does not hide a stall', function () {
  this.timeout(20_000);
  let server: Server;
  before(async () => {
    // Each answer takes 50 ms: with two tokens, at most 40 answers a second.
    server = createServer((_req, res) => void setTimeout(() => res.end('{}'), 50));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  it('sends a request due while every token is out as soon as one comes back, timed from when it was due', async () => {
    const free = ['a', 'b'];
    const result = await openLoop({
      title: 'stalled',
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      rate: 100,
      durationSeconds: 1,
      warmupSeconds: 0,
      maxSockets: 8,
      progress: () => undefined,
      next: () => {
        const token = free.shift();
        return token === undefined ? undefined : { method: 'GET', path: '/', headers: {}, onResponse: () => void free.push(token) };
      },
    });
    // 100 due in a second, 40 a second answered: every one sent, the last ones waiting about 1.5 s.
    expect({ ok: result.ok, starved: result.starved }).to.deep.equal({ ok: 100, starved: 0 });
    expect(result.latencyMs.p99, 'p99, ms').to.be.above(1000);
    // The slowest were the last due: they waited for every answer before them.
    expect(result.slowestDue?.from).to.be.within(0.9, 1);
    expect(result.slowestDue?.to).to.be.within(result.slowestDue?.from ?? 0, 1);
  });
});
