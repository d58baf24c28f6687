// A minimal JSON-over-HTTP(S) client for the harness's own needs: health
// probes and creating Node objects. Tests use @kubernetes/client-node.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpOptions {
  method?: string;
  /** PEM CA to trust; omit with `insecure` for components' self-signed endpoints. */
  ca?: string;
  insecure?: boolean;
  token?: string;
  body?: unknown;
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  body: string;
}

export function httpFetch(url: string, options: HttpOptions = {}): Promise<HttpResponse> {
  const u = new URL(url);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      u,
      {
        method: options.method ?? 'GET',
        headers,
        timeout: options.timeoutMs ?? 5000,
        ...(u.protocol === 'https:' ? { ca: options.ca, rejectUnauthorized: options.insecure !== true } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out: ${options.method ?? 'GET'} ${url}`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** True when `url` answers 200 within the timeout; never throws. */
export async function isHealthy(url: string, options: HttpOptions = {}): Promise<boolean> {
  try {
    return (await httpFetch(url, { timeoutMs: 2000, ...options })).status === 200;
  } catch {
    return false;
  }
}
