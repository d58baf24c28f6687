/**
 * The one logger factory: winston, one JSON object per line, and secrets removed
 * by key name before anything is written. Lines about a request carry its id as
 * `request_id`, passed by the caller (ClientInfo.requestId): see requestId in
 * http/middleware.ts for why it is not taken from an AsyncLocalStorage.
 */
import { Writable } from 'node:stream';
import winston from 'winston';
import type { LogLevel } from '../config/env.js';
import { createAccessLog, type AccessLog, type AccessLogOptions } from './access-log.js';

/** winston's logger, and beside it the access log, which writes to the same stream (access-log.ts). */
export type Logger = winston.Logger & { access: AccessLog };

// Matched against keys at any depth; the value is replaced, never logged.
const secretKey = /pass(word)?|secret|token|authorization|cookie|private|^key$|signing|credential|otp|code_verifier/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    // Keep what diagnoses the failure: the driver's code (a PostgreSQL SQLSTATE) and the wrapped cause.
    const code = (value as { code?: unknown }).code;
    return {
      name: value.name,
      message: value.message,
      stack: value.stack,
      ...(code !== undefined ? { code } : {}),
      ...(value.cause !== undefined ? { cause: redact(value.cause, depth + 1) } : {}),
    };
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = secretKey.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level' || key === 'message') continue;
    info[key] = secretKey.test(key) ? '[redacted]' : redact(info[key]);
  }
  return info;
});

export interface LoggerOptions {
  level: LogLevel;
  service?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read lines back. */
  stream?: NodeJS.WritableStream;
  silent?: boolean;
  /** How the access log batches its lines (access-log.ts has the defaults). */
  access?: Pick<AccessLogOptions, 'batchChars' | 'delayMs'>;
}

export function createLogger(options: LoggerOptions): Logger {
  const stream = options.stream ?? process.stdout;
  const service = options.service ?? 'keyward-service';
  const access = createAccessLog({ ...options.access, stream, service, enabled: (level) => !logger.silent && logger.isLevelEnabled(level) });
  // Access lines wait in a batch (access-log.ts); a winston line first writes out those queued
  // before it, so the stream holds every line in the order it was logged. The line is passed on
  // at once and `done` called without waiting for the stream: a line held here would be
  // overtaken by later access lines and lost at process.exit(). The stream's own buffer keeps the
  // order, and its errors stay its own, as when winston wrote to it directly.
  const inOrder = new Writable({
    decodeStrings: false,
    // Only winston writes here, and it writes strings, which decodeStrings: false passes as they are.
    write(chunk: string, encoding, done) {
      access.flush();
      stream.write(chunk, encoding);
      done();
    },
  });
  const logger = winston.createLogger({
    level: options.level,
    silent: options.silent ?? false,
    defaultMeta: { service },
    format: winston.format.combine(redactFormat(), winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Stream({ stream: inOrder })],
  });
  return Object.assign(logger, { access });
}

/**
 * Writes the access lines still batched when the process ends on process.exit() (after a failed
 * shutdown) or an uncaught exception: no timer fires after those. Writes to a file or a pipe are
 * synchronous on Linux, so they are out before the process is. What nothing can write: the batch
 * of a process killed outright (SIGKILL, the OOM killer) or dying inside V8 (a fatal out-of-memory
 * error), at most 16 KiB or 0.1 s of access lines.
 */
export function flushAtExit(logger: Logger): void {
  process.once('exit', () => logger.access.flush());
}
