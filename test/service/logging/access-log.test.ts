import { expect } from 'chai';
import { Writable } from 'node:stream';
import { accessLine, createAccessLog, type AccessEntry } from '../../../service/logging/access-log.js';
import { createLogger } from '../../../service/logging/logger.js';
import { capturingLogger } from '../../support/logs.js';

const entry: AccessEntry = { requestId: 'req-1', method: 'GET', route: '/api/auth/me', status: 200, durationMs: 0.4 };
const at = new Date('2026-11-28T12:00:00.123Z');

/** A stream that keeps each write() as one chunk, to count the writes. */
function chunks(): { stream: Writable; written: string[] } {
  const written: string[] = [];
  return { stream: new Writable({ write: (chunk: Buffer, _e, cb) => (written.push(chunk.toString('utf8')), cb()) }), written };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('the access log (service/logging/access-log)', () => {
  it('writes the line winston writes for the same message and fields, byte for byte but the timestamp', async () => {
    const { stream, written } = chunks();
    // The same fields through winston, as every other log line goes.
    createLogger({ level: 'info', stream }).info('request', { request_id: 'req-1', method: 'GET', route: '/api/auth/me', status: 200, duration_ms: 0.4 });
    await turn();
    const fromWinston = written.join('');
    const timestamp = new Date(String((JSON.parse(fromWinston) as Record<string, unknown>)['timestamp']));
    expect(accessLine('info', 'request', entry, 'keyward-service', timestamp)).to.equal(fromWinston);
  });

  it('escapes what it is given as JSON strings, so no value can break the line', () => {
    const line = accessLine('info', 'request', { ...entry, route: 'a"b\n\\c' }, 'svc', at);
    expect(line.split('\n')).to.have.length(2);
    expect(JSON.parse(line)['route']).to.equal('a"b\n\\c');
  });

  it('writes the lines of one turn of the event loop in one write', async () => {
    const { stream, written } = chunks();
    const log = createAccessLog({ stream, service: 'svc', enabled: () => true, now: () => at });
    for (let i = 0; i < 5; i++) log.write('info', 'request', { ...entry, requestId: `r${i}` });
    expect(written, 'nothing before the turn ends').to.deep.equal([]);
    await turn();
    expect(written).to.have.length(1);
    expect(written[0]!.trimEnd().split('\n').map((l) => JSON.parse(l)['request_id'])).to.deep.equal(['r0', 'r1', 'r2', 'r3', 'r4']);
    log.write('info', 'request', entry);
    await turn();
    expect(written).to.have.length(2);
  });

  it('writes what is buffered at once on flush(), and nothing twice', async () => {
    const { stream, written } = chunks();
    const log = createAccessLog({ stream, service: 'svc', enabled: () => true, now: () => at });
    log.write('info', 'request', entry);
    log.flush();
    expect(written).to.have.length(1);
    await turn();
    expect(written).to.have.length(1);
  });

  it('asks for the level on every line, so a level changed at run time applies at once', async () => {
    const { stream, written } = chunks();
    let level: 'info' | 'debug' = 'info';
    const log = createAccessLog({ stream, service: 'svc', enabled: (l) => l === 'info' || level === 'debug', now: () => at });
    log.write('debug', 'request', { ...entry, route: '/health/ready' });
    level = 'debug';
    log.write('debug', 'request', { ...entry, route: '/health/live' });
    await turn();
    expect(written.join('').trimEnd().split('\n').map((l) => JSON.parse(l)['route'])).to.deep.equal(['/health/live']);
  });

  it('follows its winston logger: its level and silent', async () => {
    const { logger, lines } = capturingLogger('info');
    logger.access.write('debug', 'request', { ...entry, requestId: 'probe' });
    logger.access.write('info', 'request', { ...entry, requestId: 'call' });
    logger.silent = true;
    logger.access.write('info', 'request', { ...entry, requestId: 'silenced' });
    await turn();
    expect(lines.map((l) => l['request_id'])).to.deep.equal(['call']);
  });
});
