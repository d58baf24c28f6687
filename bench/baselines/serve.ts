/** How a baseline child listens: loopback, a free port reported over IPC, keep-alive as the service, SIGTERM to stop. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export function serveBaseline(server: Server): void {
  server.keepAliveTimeout = 65_000; // as the service
  server.listen(0, '127.0.0.1', () => {
    process.send!({ type: 'listening', value: (server.address() as AddressInfo).port });
  });
  process.on('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
