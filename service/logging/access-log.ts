/**
 * The access log: one line per answered request. The lines are those winston writes for every
 * other message (JSON, keys in sorted order, `service` and `timestamp` added), but they are put
 * together here and written in batches. Through winston a line cost about 10 µs of CPU, where
 * answering `me` from memory takes under 30 µs all told, and these lines need none of its work:
 * their keys are fixed and none of them can hold a secret.
 */
export type AccessLevel = 'info' | 'debug';

export interface AccessEntry {
  requestId: string;
  method: string;
  route: string;
  status: number;
  durationMs: number;
}

/** What the requests of one kind share: all of a line but its duration, request id and timestamp. */
export interface AccessKind {
  level: AccessLevel;
  message: string;
  method: string;
  route: string;
  status: number;
}

/** Starts a timer that calls `callback` after `ms`; the function it returns cancels it. */
export type StartTimer = (callback: () => void, ms: number) => () => void;

export interface AccessLog {
  write(level: AccessLevel, message: string, entry: AccessEntry): void;
  /** A writer for requests of one kind, for a caller that logs one on every request (fast-me.ts): the line's fixed parts made once. */
  bind(kind: AccessKind): (requestId: string, durationMs: number) => void;
  /** Writes what is buffered now, as shutdown does before the process exits. */
  flush(): void;
}

export interface AccessLogOptions {
  stream: NodeJS.WritableStream;
  service: string;
  /** Read on every line, so a level changed at run time applies at once (winston's isLevelEnabled). */
  enabled: (level: AccessLevel) => boolean;
  /** Milliseconds since the epoch, for the timestamps; Date.now unless a test pins it. */
  clock?: () => number;
  /** Lines are written once this many characters wait… */
  batchChars?: number;
  /** …or this long after the first of them was logged, whichever comes first. */
  delayMs?: number;
  /** The timer for delayMs; an unref'd setTimeout unless a test drives it. */
  startTimer?: StartTimer;
}

// Unref'd: a batch waiting must not keep a finished process alive; the exit hook (flushAtExit in
// logger.ts) writes it.
const unrefTimer: StartTimer = (callback, ms) => {
  const timer = setTimeout(callback, ms).unref();
  return () => clearTimeout(timer);
};

// 16 KiB is about 80 lines: at 25,000 requests a second, one write every 3 ms instead of one per
// turn of the event loop (a turn answers one or two requests then), and small enough that a batch
// rarely lives through a scavenge of the young generation. 100 ms is as late as a line may be on a
// quiet replica: nobody tailing a log notices it.
const defaultBatchChars = 16 * 1024;
const defaultDelayMs = 100;

// Printable ASCII but `"` and `\`: exactly what JSON.stringify writes unchanged between quotes.
// Request ids, methods, routes, levels and timestamps always are; testing for it here skips a call
// into V8's C++ JSON code per value, which was 2 µs for the seven values of a line.
const plain = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const quoted = (text: string): string => (plain.test(text) ? `"${text}"` : JSON.stringify(text));

/** A line around its three varying values, made once per kind of request (AccessLog.bind). */
class LineParts {
  readonly level: AccessLevel;
  private readonly beforeId: string;
  private readonly afterId: string;

  constructor(kind: AccessKind, service: string) {
    this.level = kind.level;
    this.beforeId = `,"level":${quoted(kind.level)},"message":${quoted(kind.message)},"method":${quoted(kind.method)},"request_id":`;
    this.afterId = `,"route":${quoted(kind.route)},"service":${quoted(service)},"status":${kind.status},"timestamp":`;
  }

  // Few pieces, since a batch is flattened into one string when it is written, piece by piece.
  line(durationMs: number, requestId: string, quotedTimestamp: string): string {
    return `{"duration_ms":${durationMs}${this.beforeId}${quoted(requestId)}${this.afterId}${quotedTimestamp}}\n`;
  }
}

/** The line winston's JSON format writes for the same message and fields: keys sorted, as safe-stable-stringify does. */
export function accessLine(request: AccessKind & AccessEntry, service: string, timestamp: string): string {
  return new LineParts(request, service).line(request.durationMs, request.requestId, quoted(timestamp));
}

/** ISO 8601 timestamps as JSON strings, made once per millisecond: at thousands of lines a second most share one. */
function timestamps(clock: () => number): () => string {
  let lastMs = NaN;
  let last = '';
  return () => {
    const ms = clock();
    if (ms !== lastMs) {
      lastMs = ms;
      last = quoted(new Date(ms).toISOString());
    }
    return last;
  };
}

export function createAccessLog(options: AccessLogOptions): AccessLog {
  const now = timestamps(options.clock ?? Date.now);
  const batchChars = options.batchChars ?? defaultBatchChars;
  const delayMs = options.delayMs ?? defaultDelayMs;
  const startTimer = options.startTimer ?? unrefTimer;
  let pending = '';
  let cancelTimer: (() => void) | undefined;
  const flush = (): void => {
    cancelTimer?.();
    cancelTimer = undefined;
    if (pending === '') return;
    const lines = pending;
    pending = '';
    options.stream.write(lines);
  };
  // A write is a system call on stdout (synchronous for files and pipes on Linux): batched, and
  // written out at the latest by the timer, by the next winston line (logger.ts), at shutdown and
  // at exit.
  const add = (parts: LineParts, requestId: string, durationMs: number): void => {
    if (!options.enabled(parts.level)) return;
    if (pending === '') cancelTimer = startTimer(flush, delayMs);
    pending += parts.line(durationMs, requestId, now());
    if (pending.length >= batchChars) flush();
  };
  return {
    write(level, message, entry) {
      // Probes and scrapes go at debug: usually nothing to build.
      if (!options.enabled(level)) return;
      add(new LineParts({ level, message, method: entry.method, route: entry.route, status: entry.status }, options.service), entry.requestId, entry.durationMs);
    },
    bind(kind) {
      const parts = new LineParts(kind, options.service);
      return (requestId, durationMs) => add(parts, requestId, durationMs);
    },
    flush,
  };
}
