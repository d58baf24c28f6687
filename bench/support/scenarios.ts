/**
 * What the load sends: the request sequences for autocannon (one per
 * connection) and the request sources for the open-loop runs. Accounts are
 * seeded straight into PostgreSQL (see seedAccounts); everything else goes
 * through the API.
 */
import type autocannon from 'autocannon';
import type pg from 'pg';
import type { PacedRequest } from './open-loop.js';

export const PASSWORD = 'correct horse battery staple';
const json = { 'content-type': 'application/json' };

export interface Session {
  access: string;
  refresh: string;
}

export interface Tally {
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  /** performance.now() of every 2xx, so a run can be counted in a steady-state window. */
  okAt: number[];
}

export const newTally = (): Tally => ({ ok: 0, failed: 0, statuses: {}, okAt: [] });

function count(tally: Tally, status: number): void {
  if (status >= 200 && status < 300) {
    tally.ok++;
    tally.okAt.push(performance.now());
  } else {
    tally.failed++;
  }
  tally.statuses[status] = (tally.statuses[status] ?? 0) + 1;
}

function sessionOf(body: string): Session | undefined {
  try {
    const parsed = JSON.parse(body) as { access_token?: unknown; refresh_token?: unknown };
    if (typeof parsed.access_token === 'string' && typeof parsed.refresh_token === 'string') {
      return { access: parsed.access_token, refresh: parsed.refresh_token };
    }
  } catch {
    /* not JSON: counted by the caller's status */
  }
  return undefined;
}

export const accountEmail = (i: number): string => `bench-user-${i}@example.com`;

/**
 * Inserts `count` accounts sharing one bcrypt hash of PASSWORD at the run's cost.
 * Registering them through the API would spend `count` hashes (minutes at cost
 * 12) before the first measurement; a login costs the same whatever the hash.
 */
export async function seedAccounts(db: pg.Client, count: number, passwordHash: string): Promise<void> {
  await db.query(
    `INSERT INTO users (email, password_hash, first_name, last_name)
     SELECT 'bench-user-' || g || '@example.com', $1, 'Bench', 'User' FROM generate_series(0, $2 - 1) g`,
    [passwordHash, count],
  );
}

/** Round-robin over the seeded accounts, so concurrent logins never share an account (and its lockout counter). */
export class Accounts {
  private i = 0;
  constructor(readonly count: number) {}
  nextBody(): string {
    const email = accountEmail(this.i++ % this.count);
    return JSON.stringify({ email, password: PASSWORD });
  }
}

/** POST /api/auth/login with correct passwords; keeps up to `keep` of the sessions it opens. */
export function loginSequence(accounts: Accounts, sessions: Session[], keep: number) {
  return (): autocannon.Request[] => [
    {
      method: 'POST',
      path: '/api/auth/login',
      headers: json,
      setupRequest: (req) => ({ ...req, body: accounts.nextBody() }),
      onResponse: (status, body) => {
        if (status === 200 && sessions.length < keep) {
          const session = sessionOf(body);
          if (session) sessions.push(session);
        }
      },
    },
  ];
}

/** GET /api/auth/me, each connection with one session's access token (a static request: the cheapest to generate). */
export function meSequence(sessions: Session[]) {
  return (index: number): autocannon.Request[] => [
    { method: 'GET', path: '/api/auth/me', headers: { authorization: `Bearer ${sessions[index % sessions.length]!.access}` } },
  ];
}

/**
 * POST /api/auth/refresh. Every refresh consumes its token, so each connection
 * owns a pool of sessions' refresh tokens, uses them in turn and puts back the
 * successor from each answer; a token that fails is dropped.
 */
export function refreshSequence(pools: string[][], tally: Tally) {
  return (index: number): autocannon.Request[] => {
    const pool = pools[index]!;
    let slot = -1;
    return [
      {
        method: 'POST',
        path: '/api/auth/refresh',
        headers: json,
        setupRequest: (req) => {
          slot = pool.length === 0 ? -1 : (slot + 1) % pool.length;
          // An empty pool still has to send something (autocannon cannot skip): a token that is refused.
          return { ...req, body: JSON.stringify({ refresh_token: slot < 0 ? 'exhausted' : pool[slot] }) };
        },
        onResponse: (status, body) => {
          count(tally, status);
          if (slot < 0) return;
          const next = status === 200 ? sessionOf(body) : undefined;
          if (next) pool[slot] = next.refresh;
          else pool.splice(slot--, 1);
        },
      },
    ];
  };
}

export interface MixTallies {
  login: Tally;
  me: Tally;
  register: Tally;
}

/**
 * The guide's Artillery scenarios: 80 % "login, then me with the token it
 * returned", 20 % "register test+<random>@example.com". Deterministic instead
 * of random (every fifth scenario of a connection registers, staggered across
 * connections) so runs compare.
 */
export function mixSequence(accounts: Accounts, tallies: MixTallies, runId: string) {
  let registrations = 0;
  return (index: number): autocannon.Request[] => {
    let scenario = index;
    return [
      {
        method: 'POST',
        headers: json,
        setupRequest: (req, context) => {
          const ctx = context as { kind?: 'login' | 'register'; token?: string };
          ctx.kind = scenario++ % 5 === 4 ? 'register' : 'login';
          if (ctx.kind === 'login') return { ...req, path: '/api/auth/login', body: accounts.nextBody() };
          const email = `test+${runId}-${registrations++}@example.com`;
          const body = JSON.stringify({ email, password: 'TestPassword123!', first_name: 'Test', last_name: 'User' });
          return { ...req, path: '/api/auth/register', body };
        },
        onResponse: (status, body, context) => {
          const ctx = context as { kind?: 'login' | 'register'; token?: string };
          count(ctx.kind === 'register' ? tallies.register : tallies.login, status);
          if (ctx.kind === 'login' && status === 200) ctx.token = sessionOf(body)?.access;
        },
      },
      {
        method: 'GET',
        path: '/api/auth/me',
        // Falsy ends the scenario early: autocannon starts the next one from the first request.
        setupRequest: (req, context) => {
          const ctx = context as { kind?: 'login' | 'register'; token?: string };
          return ctx.kind === 'login' && ctx.token ? { ...req, headers: { authorization: `Bearer ${ctx.token}` } } : (null as unknown as autocannon.Request);
        },
        onResponse: (status) => count(tallies.me, status),
      },
    ];
  };
}

/** Open-loop source for `me`: the sessions' access tokens in turn. */
export function pacedMe(sessions: Session[]): () => PacedRequest {
  let i = 0;
  return () => ({ method: 'GET', path: '/api/auth/me', headers: { authorization: `Bearer ${sessions[i++ % sessions.length]!.access}` } });
}

/** Open-loop source for `refresh`: a free list of tokens; a token is back in it once its successor arrives. */
export function pacedRefresh(tokens: string[]): () => PacedRequest | undefined {
  const free = [...tokens];
  return () => {
    const token = free.shift();
    if (token === undefined) return undefined;
    return {
      method: 'POST',
      path: '/api/auth/refresh',
      headers: json,
      body: JSON.stringify({ refresh_token: token }),
      onResponse: (status, body) => {
        const next = status === 200 ? sessionOf(body) : undefined;
        if (next) free.push(next.refresh);
      },
    };
  };
}

export interface LoginManyOptions {
  baseUrl: string;
  accounts: Accounts;
  count: number;
  concurrency: number;
}

/** Opens `count` sessions through the API, `concurrency` at a time (to top up when the login runs kept too few). */
export async function loginMany({ baseUrl, accounts, count, concurrency }: LoginManyOptions): Promise<Session[]> {
  const sessions: Session[] = [];
  let remaining = count;
  const worker = async (): Promise<void> => {
    while (remaining-- > 0) {
      const res = await fetch(`${baseUrl}/api/auth/login`, { method: 'POST', headers: json, body: accounts.nextBody() });
      const session = sessionOf(await res.text());
      if (res.status !== 200 || !session) throw new Error(`login for the token pool answered ${res.status}`);
      sessions.push(session);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return sessions;
}
