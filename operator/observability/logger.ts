/**
 * The shape of logger the operator's modules take as an argument (STYLE.md §4).
 * A winston logger (service/logging/logger.ts `createLogger`) satisfies it;
 * tests pass a sink that keeps the lines.
 */
export interface Logger {
  error(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  debug(message: string, meta?: Record<string, unknown>): unknown;
}

/** Turns an unknown thrown value into fields a log line can carry. */
export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const status = (err as { status?: unknown }).status;
    return { error: err.message, ...(typeof status === 'number' ? { status } : {}) };
  }
  return { error: String(err) };
}
