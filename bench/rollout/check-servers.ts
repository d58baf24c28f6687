/**
 * What the operator's analysis checks reach instead of a colour's Service
 * (its --service-url-map points there): node:http on loopback, one answering
 * 200 `{"status":"healthy"}`, one answering 503. Each remembers when it
 * answered, so the bench knows when the operator saw the failure.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CheckRequest {
  /** Date.now() when the answer was sent. */
  at: number;
  path: string;
  status: number;
}

export interface CheckServer {
  readonly url: string;
  readonly requests: readonly CheckRequest[];
  close(): Promise<void>;
}

export async function startCheckServer(status: 200 | 503): Promise<CheckServer> {
  const requests: CheckRequest[] = [];
  const body = JSON.stringify({ status: status === 200 ? 'healthy' : 'unhealthy' });
  const server: Server = createServer((req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    requests.push({ at: Date.now(), path: req.url ?? '', status });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
