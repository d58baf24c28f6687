/** A real winston logger (createLogger) whose JSON lines a test reads back, parsed. */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../service/logging/logger.js';
import type { LogLevel } from '../../service/config/env.js';

export function capturingLogger(level: LogLevel = 'debug'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: createLogger({ level, stream }), lines };
}
