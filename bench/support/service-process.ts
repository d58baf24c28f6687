/**
 * The auth service as a child process (`cli.js serve`, configured through its
 * environment like a container), so its RSS and CPU are its own and the load
 * generator's CPU is not counted against it.
 */
import { freePort } from '../../service/util/free-port.js';
import { spawnNode, type Child } from './children.js';

export interface ServiceProcess {
  url: string;
  host: string;
  port: number;
  child: Child;
  /** The Prometheus text of /metrics. */
  metrics(): Promise<string>;
}

export interface ServiceOptions {
  cli: string;
  logFile: string;
  /** Environment of the service: only these variables (plus PATH), nothing inherited that could change its behaviour. */
  env: Record<string, string>;
  /** Extra `node` flags, e.g. --cpu-prof. */
  nodeArgs?: string[];
}

export async function startServiceProcess(options: ServiceOptions): Promise<ServiceProcess> {
  const port = await freePort();
  const host = '127.0.0.1';
  const child = spawnNode({
    name: 'keyward-service',
    args: [...(options.nodeArgs ?? []), options.cli, 'serve'],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...options.env, HOST: host, PORT: String(port) },
    logFile: options.logFile,
  });
  const url = `http://${host}:${port}`;
  await waitReady(`${url}/health/ready`, child, 60_000);
  return {
    url,
    host,
    port,
    child,
    async metrics() {
      const res = await fetch(`${url}/metrics`);
      if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
      return res.text();
    },
  };
}

async function waitReady(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!child.running()) throw new Error(`the service exited during start-up (${await child.exited}):\n${child.tail()}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`the service was not ready within ${timeoutMs} ms:\n${child.tail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
