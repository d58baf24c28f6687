/**
 * Baseline child: the floor of any Express 5 app for `GET /api/auth/me` — one
 * route around answerMe (me-verifier.ts), no middleware, the same work as the
 * bare server. The distance between the two is what Express itself costs per
 * request, before the service adds anything. Reports its port over IPC.
 */
import { createServer } from 'node:http';
import express from 'express';
import { answerMe } from './me-verifier.js';
import { serveBaseline } from './serve.js';

const app = express();
app.disable('x-powered-by');
app.set('etag', false); // as the service
app.get('/api/auth/me', (req, res) => {
  const { status, body } = answerMe(req.get('authorization'));
  res.status(status).type('application/json').send(body);
});
serveBaseline(createServer(app));
