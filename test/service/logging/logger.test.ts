import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createLogger } from '../../../service/logging/logger.js';
import type { AccessEntry } from '../../../service/logging/access-log.js';

const entry: AccessEntry = { requestId: 'req-1', method: 'GET', route: '/api/auth/me', status: 200, durationMs: 0.4 };
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const logger = fileURLToPath(new URL('../../../service/logging/logger.ts', import.meta.url));

/** What a test reads back: each line's request_id, or its message when it has none. */
const names = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      return parsed['request_id'] ?? parsed['message'];
    });

/** A stream like a pipe under load: it takes each write at once and calls back a tick later. */
function slowToCallBack(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString('utf8');
      process.nextTick(callback);
    },
  });
  return { stream, text: () => text };
}

describe('the logger (service/logging/logger)', () => {
  it('writes lines in the order they were logged: queued access lines go out before a later winston line', async () => {
    const { stream, text } = slowToCallBack();
    const log = createLogger({ level: 'info', stream });
    log.access.write('info', 'request', { ...entry, requestId: 'access-1' });
    log.info('winston-1');
    log.info('winston-2');
    log.access.write('info', 'request', { ...entry, requestId: 'access-2' });
    log.info('winston-3');
    log.access.write('info', 'request', { ...entry, requestId: 'access-3' });
    log.access.flush();
    await turn();
    expect(names(text())).to.deep.equal(['access-1', 'winston-1', 'winston-2', 'access-2', 'winston-3', 'access-3']);
  });

  it('writes every line, access lines included, when the process exits in the middle of a turn', () => {
    // process.exit() right after logging: no later turn writes the queued access line.
    const script = `
      import { createLogger, flushAtExit } from ${JSON.stringify(logger)};
      const log = createLogger({ level: 'info' });
      flushAtExit(log);
      log.info('winston-1');
      log.access.write('info', 'request', { requestId: 'access-1', method: 'GET', route: '/api/auth/me', status: 200, durationMs: 1 });
      log.error('winston-2');
      log.access.write('info', 'request', { requestId: 'access-2', method: 'GET', route: '/api/auth/me', status: 200, durationMs: 1 });
      process.exit(3);
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(child.status, child.stderr).to.equal(3);
    expect(names(child.stdout)).to.deep.equal(['winston-1', 'access-1', 'winston-2', 'access-2']);
  });
});
