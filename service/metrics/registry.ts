/**
 * The one metrics registry of the auth workload, with the guide's metric names
 * and buckets. Labels never carry emails, ids or tokens: only bounded sets.
 */
import client from 'prom-client';
import { withTimeout } from '../util/timeout.js';
import { Counter, Histogram } from './series.js';

// The guide's buckets for auth_request_duration_seconds and database_query_duration_seconds.
const guideBuckets = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0];

export interface Metrics {
  registry: client.Registry;
  // The series every request updates are series.ts's, which a hot path can bind once.
  authRequests: Counter<'operation' | 'result'>;
  authRequestDuration: Histogram<'operation'>;
  activeSessions: client.Gauge;
  databaseConnectionsActive: client.Gauge;
  databaseQueryDuration: client.Histogram<'operation'>;
  cacheHits: Counter<'level'>;
  cacheMisses: Counter<'level'>;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  /** Delivery outcomes per template: sent, retried (one failed attempt), failed (gave up), dropped (queue full). */
  emailsSent: client.Counter<'template' | 'result'>;
  /** Notices waiting in PostgreSQL for the SMTP server, all replicas together. */
  emailOutboxDepth: client.Gauge;
  /** Rows the retention purge deleted, per table. */
  retentionDeletedRows: client.Counter<'table'>;
  /** When this process last finished a purge run (Unix seconds): the max over replicas says when one last did. */
  retentionLastSuccess: client.Gauge;
}

export interface MetricsSources {
  /** Count of live sessions; called on scrape. */
  activeSessions?: () => Promise<number>;
  /** Connections the pool holds open to PostgreSQL, lent out or idle; called on scrape. */
  activeConnections?: () => number;
  /** Notices waiting in the durable outbox; called on scrape. */
  emailOutboxDepth?: () => Promise<number>;
}

export function createMetrics(sources: MetricsSources = {}): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const cacheHits = new Counter({ name: 'cache_hits_total', help: 'Total cache hits', labelNames: ['level'], registers });
  const cacheMisses = new Counter({ name: 'cache_misses_total', help: 'Total cache misses', labelNames: ['level'], registers });
  // Series appear at 0 from the start: a labelled counter never incremented is absent from
  // /metrics, and a hit-rate query over an absent series has no answer (Prometheus docs,
  // "Instrumentation: avoid missing metrics").
  for (const level of ['memory', 'redis']) {
    cacheHits.inc({ level }, 0);
    cacheMisses.inc({ level }, 0);
  }
  return {
    registry,
    authRequests: new Counter({
      name: 'auth_requests_total',
      help: 'Total authentication requests',
      labelNames: ['operation', 'result'],
      registers,
    }),
    authRequestDuration: new Histogram({
      name: 'auth_request_duration_seconds',
      help: 'Authentication request duration',
      labelNames: ['operation'],
      buckets: guideBuckets,
      registers,
    }),
    activeSessions: new client.Gauge({
      name: 'active_sessions_total',
      help: 'Currently active user sessions',
      registers,
      collect: collectFrom(() => sources.activeSessions),
    }),
    databaseConnectionsActive: new client.Gauge({
      name: 'database_connections_active',
      help: 'Database connections open in the pool (in use or idle)',
      registers,
      collect() {
        if (sources.activeConnections) this.set(sources.activeConnections());
      },
    }),
    databaseQueryDuration: new client.Histogram({
      name: 'database_query_duration_seconds',
      help: 'Database query duration',
      labelNames: ['operation'],
      buckets: guideBuckets,
      registers,
    }),
    cacheHits,
    cacheMisses,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    emailsSent: new client.Counter({
      name: 'emails_sent_total',
      help: 'Email delivery outcomes by template: sent, retried, failed, dropped',
      labelNames: ['template', 'result'],
      registers,
    }),
    emailOutboxDepth: new client.Gauge({
      name: 'email_outbox_depth',
      help: 'Notices waiting in PostgreSQL for the SMTP server (all replicas)',
      registers,
      collect: collectFrom(() => sources.emailOutboxDepth),
    }),
    retentionDeletedRows: new client.Counter({
      name: 'retention_deleted_rows_total',
      help: 'Rows deleted by the retention purge, by table',
      labelNames: ['table'],
      registers,
    }),
    retentionLastSuccess: new client.Gauge({
      name: 'retention_last_success_timestamp_seconds',
      help: 'When this process last finished a retention purge run (Unix time); max over replicas for the service',
      registers,
    }),
  };
}

/**
 * How long a scrape waits for a database-backed gauge: well inside Prometheus's scrape timeout
 * (10 s by default), so a database that stops answering costs these gauges one fresh value, not
 * the whole scrape, every other series included.
 */
const gaugeReadTimeoutMs = 2000;

/** A gauge's collect() reading a database-backed source on scrape. */
function collectFrom(source: () => (() => Promise<number>) | undefined): (this: client.Gauge) => Promise<void> {
  return async function collect(this: client.Gauge) {
    const read = source();
    if (!read) return;
    // A scrape while the database is down keeps the last value rather than failing /metrics.
    try {
      this.set(await withTimeout(read(), gaugeReadTimeoutMs, 'the database'));
    } catch {
      /* keep the previous value */
    }
  };
}
