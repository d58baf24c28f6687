/** Assembles the Express application from its routes and middleware; no I/O happens here. */
import express, { type Express } from 'express';
import type { AuthDeps } from '../auth/deps.js';
import { methodNotAllowed } from './method-not-allowed.js';
import { errorHandler, notFound, observe, rememberMountPath, requestId } from './middleware.js';
import { accountRoutes } from './routes/account.js';
import { authRoutes } from './routes/auth.js';
import { mfaRoutes } from './routes/mfa.js';
import { operationsRoutes, type OperationsDeps } from './routes/operations.js';
import { sessionRoutes } from './routes/sessions.js';
import { setSecurityHeaders } from './security-headers.js';

export interface AppOptions {
  auth: AuthDeps;
  operations: OperationsDeps;
  trustProxy: number | string | false;
}

// Every request body this API takes is a few hundred bytes; 16 KiB leaves room and caps abuse.
const bodyLimit = '16kb';

export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy);
  app.set('etag', false);

  app.use(requestId);
  app.use(observe(options.auth.metrics, options.auth.logger));
  app.use(setSecurityHeaders);
  app.use(express.json({ limit: bodyLimit, strict: true }));

  app.use(operationsRoutes(options.operations));
  app.use('/api/auth', rememberMountPath, authRoutes(options.auth), accountRoutes(options.auth), sessionRoutes(options.auth), mfaRoutes(options.auth));

  app.use(methodNotAllowed(options.operations.openapi));
  app.use(notFound);
  app.use(errorHandler(options.auth.logger));
  return app;
}
