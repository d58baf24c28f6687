/**
 * Runs the real auth service in-process against real PostgreSQL (and Redis when
 * asked), configured through the same environment loader as production.
 */
import { loadConfig } from '../../service/config/env.js';
import { startService, type RunningService } from '../../service/server.js';
import { capturingLogger } from './logs.js';
import { createTestDatabase } from './postgres.js';
import { startSmtpServer, type TestSmtp } from './smtp.js';

export interface TestService extends RunningService {
  databaseUrl: string;
  /** Every log line the service wrote, parsed; reading it first writes out the access lines still batched. */
  readonly logs: Record<string, unknown>[];
  /** Calls the API; JSON bodies are serialised and parsed. */
  request(method: string, path: string, options?: { body?: unknown; token?: string; headers?: Record<string, string>; raw?: string }): Promise<TestResponse>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  // Response bodies are whatever JSON the API returned; tests assert on their shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

export async function startTestService(env: Record<string, string> = {}): Promise<TestService> {
  const databaseUrl = env['DATABASE_URL'] ?? (await createTestDatabase());
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    BCRYPT_COST: '4',
    LOG_LEVEL: 'debug',
    KEYWARD_DATA_DIR: '.keyward/test-data',
    SHUTDOWN_TIMEOUT_SECONDS: '5',
    ...env,
    DATABASE_URL: databaseUrl,
  });
  const { logger, lines: logs } = capturingLogger(config.logLevel);
  const service = await startService(config, { logger });
  return {
    ...service,
    databaseUrl,
    get logs() {
      logger.access.flush();
      return logs;
    },
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      let body: string | undefined = options.raw;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      if (options.token) headers['authorization'] = `Bearer ${options.token}`;
      const res = await fetch(`http://127.0.0.1:${service.port}${path}`, { method, headers, body });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
  };
}

export interface MailingService {
  /** Available from the suite's `before` hook on. */
  readonly service: TestService;
  /** The SMTP server the service mails through: tests read what it was sent. */
  readonly smtp: TestSmtp;
}

/**
 * Registers the calling suite's `before` and `after` hooks: a test SMTP server,
 * and the service mailing through it with `env` on top. Call it in a `describe`
 * body; read `.service` and `.smtp` inside tests.
 */
export function serviceWithSmtp(env: Record<string, string> = {}): MailingService {
  let service: TestService | undefined;
  let smtp: TestSmtp | undefined;
  before(async () => {
    smtp = await startSmtpServer();
    service = await startTestService({ SMTP_URL: smtp.url, ...env });
  });
  after(async () => {
    await service?.stop();
    await smtp?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('serviceWithSmtp: read .service and .smtp inside tests or hooks, after the suite\'s before hook');
    return value;
  };
  return {
    get service() {
      return started(service);
    },
    get smtp() {
      return started(smtp);
    },
  };
}

export interface Registration {
  email: string;
  password: string;
  first_name: string;
  last_name: string;
}

let counter = 0;
/** A unique, valid registration body. */
export function newAccount(overrides: Partial<Registration> = {}): Registration {
  counter += 1;
  return { email: `user${counter}.${Date.now()}@example.com`, password: 'correct horse battery staple', first_name: 'Ada', last_name: 'Lovelace', ...overrides };
}
