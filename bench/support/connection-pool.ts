/**
 * The open-loop generator's HTTP/1.1 client: keep-alive TCP connections, one request at a time on
 * each, requests written as one string and responses read with http-parser-js (the parser
 * autocannon's own client uses). node:http's Agent cost the generator so much CPU per request that
 * at half of what `me` reaches (18,000 req/s) the bench process ran at 99 % of its core, and its
 * own queue became the p99 (372 ms, where the service's histogram put its p99 at ≤ 5 ms).
 */
import { connect, type Socket } from 'node:net';
import { HTTPParser } from 'http-parser-js';

export interface Exchange {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** The response's status and body; status 0 when the connection failed or timed out first. */
export type Settle = (status: number, body: string) => void;

interface Connection {
  socket: Socket;
  parser: InstanceType<typeof HTTPParser>;
  /** Who waits for the response in progress; undefined while the connection is idle. */
  settle: Settle | undefined;
  status: number;
  keepAlive: boolean;
  chunks: Buffer[];
}

export interface ConnectionPoolOptions {
  host: string;
  port: number;
  /** Connections open at most; a request with none free waits for one. */
  maxSockets: number;
  /** A connection silent this long with a request on it fails the request. */
  timeoutMs: number;
}

export class ConnectionPool {
  private readonly idle: Connection[] = [];
  private readonly queue: { exchange: Exchange; settle: Settle }[] = [];
  private readonly all = new Set<Connection>();
  private closed = false;

  constructor(private readonly options: ConnectionPoolOptions) {}

  /** Sends on an idle connection, a new one, or, with `maxSockets` busy, once one is free. */
  send(exchange: Exchange, settle: Settle): void {
    if (this.closed) return settle(0, '');
    const connection = this.idle.pop() ?? (this.all.size < this.options.maxSockets ? this.open() : undefined);
    if (connection) this.write(connection, exchange, settle);
    else this.queue.push({ exchange, settle });
  }

  /** Closes every connection; requests still waiting or in flight settle with status 0, before it returns. */
  close(): void {
    this.closed = true;
    const unsettled = [...this.all].flatMap((connection) => {
      const settle = connection.settle;
      connection.settle = undefined;
      connection.socket.destroy();
      return settle ? [settle] : [];
    });
    for (const settle of [...unsettled, ...this.queue.splice(0).map((waiting) => waiting.settle)]) settle(0, '');
  }

  private open(): Connection {
    const socket = connect({ host: this.options.host, port: this.options.port, noDelay: true });
    const parser = new HTTPParser(HTTPParser.RESPONSE);
    const connection: Connection = { socket, parser, settle: undefined, status: 0, keepAlive: true, chunks: [] };
    parser[HTTPParser.kOnHeadersComplete] = (info) => {
      connection.status = info.statusCode;
      connection.keepAlive = info.shouldKeepAlive;
    };
    parser[HTTPParser.kOnBody] = (chunk, offset, length) => void connection.chunks.push(chunk.subarray(offset, offset + length));
    parser[HTTPParser.kOnMessageComplete] = () => this.complete(connection);
    socket.setTimeout(this.options.timeoutMs);
    socket.on('data', (data: Buffer) => {
      const parsed = parser.execute(data);
      if (parsed instanceof Error) socket.destroy(parsed);
    });
    // A body without a length ends with the connection (how Node answers a request it refuses
    // outright: 400, 408, 431 with Connection: close); finish() completes it.
    socket.on('end', () => {
      const finished = parser.finish();
      if (finished instanceof Error) socket.destroy(finished);
    });
    socket.on('timeout', () => socket.destroy(new Error('timeout')));
    socket.on('error', () => undefined); // 'close' follows and fails the request in flight
    socket.on('close', () => this.lost(connection));
    this.all.add(connection);
    return connection;
  }

  private write(connection: Connection, exchange: Exchange, settle: Settle): void {
    connection.settle = settle;
    connection.status = 0;
    connection.chunks = [];
    let head = `${exchange.method} ${exchange.path} HTTP/1.1\r\nHost: ${this.options.host}:${this.options.port}\r\n`;
    for (const [name, value] of Object.entries(exchange.headers)) head += `${name}: ${value}\r\n`;
    if (exchange.body !== undefined) head += `Content-Length: ${Buffer.byteLength(exchange.body)}\r\n`;
    connection.socket.write(`${head}\r\n${exchange.body ?? ''}`);
  }

  private complete(connection: Connection): void {
    const settle = connection.settle;
    if (!settle) return void connection.socket.destroy(new Error('a response nobody asked for'));
    const { status, chunks } = connection;
    connection.settle = undefined;
    // Free (or closed, when the server said so) before the caller hears: it may send again at once.
    if (!connection.keepAlive) connection.socket.destroy();
    else this.release(connection);
    settle(status, chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
  }

  private release(connection: Connection): void {
    const next = this.queue.shift();
    if (next) this.write(connection, next.exchange, next.settle);
    else this.idle.push(connection);
  }

  private lost(connection: Connection): void {
    if (!this.all.delete(connection)) return;
    const index = this.idle.indexOf(connection);
    if (index >= 0) this.idle.splice(index, 1);
    const settle = connection.settle;
    connection.settle = undefined;
    // A request waiting for a connection gets a new one in place of the lost one.
    if (!this.closed && this.queue.length > 0) {
      const next = this.queue.shift()!;
      this.write(this.open(), next.exchange, next.settle);
    }
    settle?.(0, '');
  }
}
