/**
 * Baseline child: the least a server can do for `GET /api/auth/me` — a bare
 * node:http server around answerMe (me-verifier.ts). Reports its port over IPC.
 */
import { createServer } from 'node:http';
import { answerMe } from './me-verifier.js';
import { serveBaseline } from './serve.js';

serveBaseline(
  createServer((req, res) => {
    const { status, body } = req.method === 'GET' && req.url === '/api/auth/me' ? answerMe(req.headers.authorization) : { status: 404, body: '{}' };
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }),
);
