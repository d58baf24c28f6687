/**
 * Baseline child: the least a server can do for `GET /api/auth/me` — a bare
 * node:http server that verifies the Bearer token with the service's own
 * verifier (createAccessTokens().verify, the same ES256 key ring, issuer and
 * audience) and answers a small JSON body. No framework, no session lookup,
 * no logging, no metrics. Reports its port over IPC.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAccessTokens } from '../../service/tokens/access.js';
import { loadKeyRing } from '../../service/tokens/keys.js';

const keyRing = loadKeyRing({ algorithm: 'ES256', signingKeyPem: process.env['JWT_SIGNING_KEY'] });
const tokens = createAccessTokens({
  keyRing,
  issuer: process.env['JWT_ISSUER'] ?? 'keyward',
  audience: process.env['JWT_AUDIENCE'] ?? 'keyward',
  ttlSeconds: 900,
});

const server = createServer((req, res) => {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  let status = 401;
  let body = '{"error":{"code":"invalid_token"}}';
  if (req.method === 'GET' && req.url === '/api/auth/me' && match) {
    try {
      const claims = tokens.verify(match[1]!);
      status = 200;
      body = JSON.stringify({ user: { id: claims.sub, session_id: claims.sid } });
    } catch {
      /* 401 */
    }
  }
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 65_000; // as the service
server.listen(0, '127.0.0.1', () => {
  process.send!({ type: 'listening', value: (server.address() as AddressInfo).port });
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
