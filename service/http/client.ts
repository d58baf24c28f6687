/** Who is calling, from the request: the IP as `trust proxy` resolves it, the user agent, and the request id. */
import { isIP } from 'node:net';
import type { Request } from 'express';
import type { ClientInfo } from '../auth/deps.js';

// With TRUST_PROXY set, req.ip comes from X-Forwarded-For, which proxy-addr does not check:
// a client that reaches the pod directly can put anything there. Only an address is kept
// (it lands in inet columns and limiter keys); otherwise the socket's peer is the truth.
const clientIp = (req: Request): string | undefined => (req.ip !== undefined && isIP(req.ip) !== 0 ? req.ip : req.socket.remoteAddress);

export const clientInfo = (req: Request): ClientInfo => {
  const requestId: unknown = req.res?.locals['requestId'];
  return { ip: clientIp(req), userAgent: req.get('user-agent'), requestId: typeof requestId === 'string' ? requestId : undefined };
};
