import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { expect } from 'chai';
import { ConnectionPool, type Exchange } from '../../bench/support/connection-pool.js';

/** A loopback server answering with `handle`, counting the connections it was opened and the requests it held at once. */
async function server(handle: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<{ port: number; connections: () => number; mostAtOnce: () => number; close: () => Promise<void> }> {
  let connections = 0;
  let now = 0;
  let most = 0;
  const s: Server = createServer((req, res) => {
    now++;
    most = Math.max(most, now);
    res.once('close', () => now--); // after 'finish', or alone when the connection went first
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => handle(req, body, res));
  });
  s.on('connection', () => connections++);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return {
    port: (s.address() as AddressInfo).port,
    connections: () => connections,
    mostAtOnce: () => most,
    close: () => new Promise((resolve) => (s.closeAllConnections(), s.close(() => resolve()))),
  };
}

const send = (pool: ConnectionPool, exchange: Exchange): Promise<{ status: number; body: string }> =>
  new Promise((resolve) => pool.send(exchange, (status, body) => resolve({ status, body })));

describe('bench ConnectionPool: the open-loop generator\'s HTTP client', function () {
  this.timeout(20_000);

  it('answers each request with its own status and body, over at most maxSockets keep-alive connections', async () => {
    // Each answer after 10 ms, so that requests overlap and wait for a free connection.
    const echo = await server((req, body, res) =>
      setTimeout(() => {
        res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, url: req.url, auth: req.headers['authorization'], body }));
      }, 10),
    );
    const pool = new ConnectionPool({ host: '127.0.0.1', port: echo.port, maxSockets: 3, timeoutMs: 5000 });
    try {
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          send(pool, i % 2 ? { method: 'POST', path: `/p/${i}`, headers: { 'content-type': 'application/json' }, body: `{"n":${i},"é":"ü"}` } : { method: 'GET', path: i === 10 ? '/missing' : `/g/${i}`, headers: { authorization: `Bearer t${i}` } }),
        ),
      );
      answers.forEach(({ status, body }, i) => {
        const parsed = JSON.parse(body) as Record<string, unknown>;
        expect(status, `request ${i}`).to.equal(i === 10 ? 404 : 200);
        if (i % 2) expect(parsed).to.include({ method: 'POST', url: `/p/${i}`, body: `{"n":${i},"é":"ü"}` });
        else expect(parsed).to.include({ method: 'GET', auth: `Bearer t${i}` });
      });
      expect(echo.connections()).to.equal(3);
      expect(echo.mostAtOnce()).to.equal(3);
    } finally {
      pool.close();
      await echo.close();
    }
  });

  it('fails with status 0 a request whose connection the server drops, and carries on with new connections', async () => {
    const flaky = await server((req, _body, res) => (req.url === '/drop' ? res.socket?.destroy() : res.end('ok')));
    const pool = new ConnectionPool({ host: '127.0.0.1', port: flaky.port, maxSockets: 1, timeoutMs: 5000 });
    try {
      const [dropped, after] = await Promise.all([send(pool, { method: 'GET', path: '/drop', headers: {} }), send(pool, { method: 'GET', path: '/fine', headers: {} })]);
      expect(dropped).to.deep.equal({ status: 0, body: '' });
      expect(after).to.deep.equal({ status: 200, body: 'ok' });
      expect(flaky.connections()).to.equal(2);
    } finally {
      pool.close();
      await flaky.close();
    }
  });

  it('opens a new connection after a response that closes its own (Connection: close)', async () => {
    const closing = await server((_req, _body, res) => res.writeHead(200, { connection: 'close' }).end('bye'));
    const pool = new ConnectionPool({ host: '127.0.0.1', port: closing.port, maxSockets: 1, timeoutMs: 5000 });
    try {
      for (let i = 0; i < 3; i++) expect(await send(pool, { method: 'GET', path: '/', headers: {} })).to.deep.equal({ status: 200, body: 'bye' });
      expect(closing.connections()).to.equal(3);
    } finally {
      pool.close();
      await closing.close();
    }
  });

  it('reads an answer whose body ends with the connection, as Node sends its refusals (400 with Connection: close)', async () => {
    const raw = createTcpServer((socket) => socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\nno length')));
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const pool = new ConnectionPool({ host: '127.0.0.1', port: (raw.address() as AddressInfo).port, maxSockets: 1, timeoutMs: 5000 });
    try {
      expect(await send(pool, { method: 'GET', path: '/', headers: {} })).to.deep.equal({ status: 400, body: 'no length' });
    } finally {
      pool.close();
      await new Promise((resolve) => raw.close(resolve));
    }
  });

  it('settles every request in flight or waiting before close() returns', async () => {
    const silent = await server(() => undefined);
    const pool = new ConnectionPool({ host: '127.0.0.1', port: silent.port, maxSockets: 1, timeoutMs: 5000 });
    const settled: string[] = [];
    try {
      pool.send({ method: 'GET', path: '/', headers: {} }, (status) => settled.push(`in flight ${status}`));
      pool.send({ method: 'GET', path: '/', headers: {} }, (status) => settled.push(`waiting ${status}`));
      await new Promise((resolve) => setTimeout(resolve, 50)); // the first one reaches the server
      pool.close();
      expect(settled).to.deep.equal(['in flight 0', 'waiting 0']);
      pool.send({ method: 'GET', path: '/', headers: {} }, (status) => settled.push(`after ${status}`));
      expect(settled.at(-1)).to.equal('after 0');
    } finally {
      pool.close();
      await silent.close();
    }
  });

  it('fails a request its connection has been silent on for timeoutMs, and on close() every request still waiting', async () => {
    const silent = await server(() => undefined);
    const pool = new ConnectionPool({ host: '127.0.0.1', port: silent.port, maxSockets: 1, timeoutMs: 200 });
    try {
      const timedOut = send(pool, { method: 'GET', path: '/', headers: {} });
      const queued = send(pool, { method: 'GET', path: '/', headers: {} });
      expect(await timedOut).to.deep.equal({ status: 0, body: '' });
      pool.close();
      expect(await queued).to.deep.equal({ status: 0, body: '' });
    } finally {
      pool.close();
      await silent.close();
    }
  });
});
