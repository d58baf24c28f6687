import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { accessLine, createAccessLog, type AccessEntry, type StartTimer } from '../../../service/logging/access-log.js';
import { createLogger } from '../../../service/logging/logger.js';
import { capturingLogger } from '../../support/logs.js';

const entry: AccessEntry = { requestId: 'req-1', method: 'GET', route: '/api/auth/me', status: 200, durationMs: 0.4 };
const at = Date.parse('2026-11-28T12:00:00.123Z');
const clock = (): number => at;

/** A stream that keeps each write() as one chunk, to count the writes. */
function chunks(): { stream: Writable; written: string[] } {
  const written: string[] = [];
  return { stream: new Writable({ write: (chunk: Buffer, _e, cb) => (written.push(chunk.toString('utf8')), cb()) }), written };
}

const logger = fileURLToPath(new URL('../../../service/logging/logger.ts', import.meta.url));
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const ids = (text: string): unknown[] => text.trimEnd().split('\n').map((l) => JSON.parse(l)['request_id']);

/** Timers a test fires by hand: no test waits on the clock. */
function drivenTimers(): { start: StartTimer; started: number[]; fire(): void; pending(): number } {
  const waiting = new Set<() => void>();
  const started: number[] = [];
  return {
    started,
    start(callback, ms) {
      started.push(ms);
      waiting.add(callback);
      return () => void waiting.delete(callback);
    },
    fire() {
      const due = [...waiting];
      waiting.clear();
      for (const callback of due) callback();
    },
    pending: () => waiting.size,
  };
}

describe('the access log (service/logging/access-log)', () => {
  it('writes the line winston writes for the same message and fields, byte for byte but the timestamp', async () => {
    const { stream, written } = chunks();
    // The same fields through winston, as every other log line goes.
    createLogger({ level: 'info', stream }).info('request', { request_id: 'req-1', method: 'GET', route: '/api/auth/me', status: 200, duration_ms: 0.4 });
    await turn();
    const fromWinston = written.join('');
    const timestamp = String((JSON.parse(fromWinston) as Record<string, unknown>)['timestamp']);
    expect(accessLine({ level: 'info', message: 'request', ...entry }, 'keyward-service', timestamp)).to.equal(fromWinston);
  });

  it('escapes what it is given as JSON strings, as JSON.stringify does, so no value can break the line', () => {
    const awkward = ['a"b', 'a\\b', 'line\nbreak', 'tab\there', 'nul\u0000', 'del\u007f', 'café', 'emoji 🙂', 'lone \ud800', ''];
    for (const route of awkward) {
      const line = accessLine({ level: 'info', message: 'request', ...entry, route }, 'svc', '2026-11-28T12:00:00.123Z');
      expect(line.split('\n'), JSON.stringify(route)).to.have.length(2);
      expect(line, JSON.stringify(route)).to.contain(`"route":${JSON.stringify(route)},`);
      expect(JSON.parse(line)['route']).to.equal(route);
    }
  });

  it('writes through bind() the line write() writes for the same request, and asks for the level on every line', () => {
    const { stream, written } = chunks();
    let enabled = true;
    const log = createAccessLog({ stream, service: 'svc', enabled: () => enabled, clock });
    const logMe = log.bind({ level: 'info', message: 'request', method: 'GET', route: '/api/auth/me', status: 200 });
    log.write('info', 'request', entry);
    logMe(entry.requestId, entry.durationMs);
    enabled = false;
    logMe('silenced', 1);
    log.flush();
    const [viaWrite, viaBind, ...rest] = written.join('').split('\n');
    expect(viaBind).to.equal(viaWrite);
    expect(rest).to.deep.equal(['']);
    enabled = true;
    log.bind({ level: 'info', message: 'request', method: 'GET', route: 'a"b', status: 200 })('id"1', 2);
    log.flush();
    expect(JSON.parse(written.at(-1)!)).to.include({ route: 'a"b', request_id: 'id"1', duration_ms: 2 });
  });

  it('stamps each line with the clock of its own millisecond', async () => {
    const { stream, written } = chunks();
    let ms = at;
    const log = createAccessLog({ stream, service: 'svc', enabled: () => true, clock: () => ms });
    log.write('info', 'request', entry);
    log.write('info', 'request', entry);
    ms += 1;
    log.write('info', 'request', entry);
    log.flush();
    const stamps = written.join('').trimEnd().split('\n').map((l) => JSON.parse(l)['timestamp']);
    expect(stamps).to.deep.equal(['2026-11-28T12:00:00.123Z', '2026-11-28T12:00:00.123Z', '2026-11-28T12:00:00.124Z']);
  });

  it('writes a batch in one write once it holds batchChars characters', () => {
    const { stream, written } = chunks();
    const line = accessLine({ level: 'info', message: 'request', ...entry, requestId: 'r0' }, 'svc', new Date(at).toISOString());
    const log = createAccessLog({ stream, service: 'svc', enabled: () => true, clock, batchChars: line.length * 3 });
    for (let i = 0; i < 7; i++) log.write('info', 'request', { ...entry, requestId: `r${i}` });
    expect(written.map(ids)).to.deep.equal([
      ['r0', 'r1', 'r2'],
      ['r3', 'r4', 'r5'],
    ]);
    log.flush();
    expect(written.map(ids)).to.deep.equal([['r0', 'r1', 'r2'], ['r3', 'r4', 'r5'], ['r6']]);
  });

  it('writes a smaller batch delayMs after its first line, and nothing before', () => {
    const { stream, written } = chunks();
    const timers = drivenTimers();
    const log = createAccessLog({ stream, service: 'svc', enabled: () => true, clock, delayMs: 50, startTimer: timers.start });
    log.write('info', 'request', { ...entry, requestId: 'r0' });
    log.write('info', 'request', { ...entry, requestId: 'r1' });
    expect(timers.started, 'one timer for the batch, from its first line').to.deep.equal([50]);
    expect(written).to.deep.equal([]);
    timers.fire();
    expect(written.map(ids), 'both lines, when the timer fires').to.deep.equal([['r0', 'r1']]);
    log.write('info', 'request', { ...entry, requestId: 'r2' });
    expect(timers.started, 'the next line starts a new wait').to.deep.equal([50, 50]);
    timers.fire();
    expect(written.map(ids)).to.deep.equal([['r0', 'r1'], ['r2']]);
  });

  it('writes what is buffered at once on flush(), cancels the batch\'s timer, and writes nothing twice', () => {
    const { stream, written } = chunks();
    const timers = drivenTimers();
    const log = createAccessLog({ stream, service: 'svc', enabled: () => true, clock, startTimer: timers.start });
    log.write('info', 'request', entry);
    log.flush();
    expect(written).to.have.length(1);
    expect(timers.pending(), 'the timer of the flushed batch').to.equal(0);
    log.flush();
    expect(written).to.have.length(1);
  });

  it('cancels the batch\'s timer when the batch fills first', () => {
    const { stream, written } = chunks();
    const timers = drivenTimers();
    const log = createAccessLog({ stream, service: 'svc', enabled: () => true, clock, batchChars: 1, startTimer: timers.start });
    log.write('info', 'request', entry);
    expect(written).to.have.length(1);
    expect(timers.pending()).to.equal(0);
  });

  it('asks for the level on every line, so a level changed at run time applies at once', () => {
    const { stream, written } = chunks();
    let level: 'info' | 'debug' = 'info';
    const log = createAccessLog({ stream, service: 'svc', enabled: (l) => l === 'info' || level === 'debug', clock });
    log.write('debug', 'request', { ...entry, route: '/health/ready' });
    level = 'debug';
    log.write('debug', 'request', { ...entry, route: '/health/live' });
    log.flush();
    expect(written.join('').trimEnd().split('\n').map((l) => JSON.parse(l)['route'])).to.deep.equal(['/health/live']);
  });

  it('follows its winston logger: its level and silent', () => {
    const { logger, lines } = capturingLogger('info');
    logger.access.write('debug', 'request', { ...entry, requestId: 'probe' });
    logger.access.write('info', 'request', { ...entry, requestId: 'call' });
    logger.silent = true;
    logger.access.write('info', 'request', { ...entry, requestId: 'silenced' });
    logger.access.flush();
    expect(lines.map((l) => l['request_id'])).to.deep.equal(['call']);
  });

  for (const ending of ['its work is done', 'it throws']) {
    it(`lets a process end when ${ending}, a batch still waiting, and the exit hook writes the batch`, function () {
      this.timeout(30_000);
      // The service's own wiring (cli.ts): its logger and flushAtExit. The batch's timer alone
      // would keep the process alive for a minute; it is unref'd.
      const script = `
        import { createLogger, flushAtExit } from ${JSON.stringify(logger)};
        const log = createLogger({ level: 'info', access: { delayMs: 60_000 } });
        flushAtExit(log);
        log.access.write('info', 'request', { requestId: 'waiting', method: 'GET', route: '/api/auth/me', status: 200, durationMs: 1 });
        ${ending === 'it throws' ? "setImmediate(() => { throw new Error('boom'); });" : ''}
      `;
      const started = performance.now();
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
      expect(child.status, child.stderr).to.equal(ending === 'it throws' ? 1 : 0);
      expect(performance.now() - started).to.be.below(15_000);
      expect(ids(child.stdout)).to.deep.equal(['waiting']);
    });
  }
});
