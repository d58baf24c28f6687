/** Who is calling, from the request: the IP as `trust proxy` resolves it, and the user agent. */
import type { Request } from 'express';
import type { ClientInfo } from '../auth/deps.js';

export const clientInfo = (req: Request): ClientInfo => ({ ip: req.ip, userAgent: req.get('user-agent') });
