/**
 * A TCP proxy on a loopback port that a test can cut and restore, for
 * partitioning one client from a server while others keep reaching it (one
 * service instance losing Redis while the other does not), or stall, for a
 * server that stops answering without closing anything.
 */
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from '../../service/util/free-port.js';

export interface TcpProxy {
  port: number;
  /** Drops every connection and refuses new ones, as a broken link would. */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  /**
   * Stops forwarding without closing anything, as a server gone without a reset (a lost node)
   * looks to its clients: open connections stay open and their bytes go nowhere; new ones are
   * accepted and never answered.
   */
  stall(): void;
  /** Forwards new connections again; those stalled stay dead, as a failed-over server's do. */
  unstall(): void;
  stop(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  let server: Server | undefined;
  let stalled = false;

  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const listen = async (): Promise<void> => {
    server = createServer((client) => {
      track(client);
      if (stalled) return;
      const upstream = connect(targetPort, targetHost);
      track(upstream);
      const pair: [Socket, Socket] = [client, upstream];
      pairs.add(pair);
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => {
        pairs.delete(pair);
        client.destroy();
      });
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
  };
  const cut = async (): Promise<void> => {
    if (!server) return;
    const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
    server = undefined;
  };

  const stall = (): void => {
    stalled = true;
    for (const [client, upstream] of pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      // Paused and unread, as if the bytes were lost on the way.
      client.pause();
      upstream.pause();
    }
    pairs.clear();
  };

  await listen();
  return { port, cut, restore: listen, stop: cut, stall, unstall: () => void (stalled = false) };
}
