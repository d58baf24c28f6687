/** Who is calling, from the request: the IP as `trust proxy` resolves it, the user agent, and the request id. */
import { isIP } from 'node:net';
import type { Request } from 'express';
import type { ClientInfo } from '../auth/deps.js';
import { addressBlock } from './address-block.js';

// With TRUST_PROXY set, req.ip comes from X-Forwarded-For, which proxy-addr does not check:
// a client that reaches the pod directly can put anything there. Only an address is kept
// (it lands in inet columns and limiter keys); otherwise the socket's peer is the truth. A zone
// ("fe80::1%eth0", which Node gives a link-local peer) is dropped: PostgreSQL's inet refuses it.
const address = (ip: string | undefined): string | undefined => {
  const bare = ip?.split('%')[0];
  return bare !== undefined && isIP(bare) !== 0 ? bare : undefined;
};
const clientIp = (req: Request): string | undefined => address(req.ip) ?? address(req.socket.remoteAddress);

export const clientInfo = (req: Request): ClientInfo => {
  const requestId: unknown = req.res?.locals['requestId'];
  const ip = clientIp(req);
  return { ip, addressBlock: ip && addressBlock(ip), userAgent: req.get('user-agent'), requestId: typeof requestId === 'string' ? requestId : undefined };
};
