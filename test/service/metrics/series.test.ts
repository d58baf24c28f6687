import { expect } from 'chai';
import client from 'prom-client';
import { Counter, Histogram } from '../../../service/metrics/series.js';

const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const labelNames = ['method', 'route', 'status'] as const;

/** The same three metrics twice: prom-client's own classes in one registry, series.ts's in the other. */
function pair(): { theirs: client.Registry; ours: client.Registry; counters: [client.Counter<string>, Counter<string>]; histograms: [client.Histogram<string>, Histogram<string>]; single: [client.Counter<string>, Counter<string>] } {
  const theirs = new client.Registry();
  const ours = new client.Registry();
  const http = { name: 'http_requests_total', help: 'HTTP requests by method, route template and status code', labelNames };
  const duration = { name: 'http_request_duration_seconds', help: 'HTTP request duration', labelNames, buckets };
  const hits = { name: 'cache_hits_total', help: 'Total cache hits', labelNames: ['level'] as const };
  return {
    theirs,
    ours,
    counters: [new client.Counter({ ...http, labelNames: [...labelNames], registers: [theirs] }), new Counter({ ...http, registers: [ours] })],
    histograms: [new client.Histogram({ ...duration, labelNames: [...labelNames], registers: [theirs] }), new Histogram({ ...duration, registers: [ours] })],
    single: [new client.Counter({ ...hits, labelNames: ['level'], registers: [theirs] }), new Counter({ ...hits, registers: [ours] })],
  };
}

describe('bindable metric series (service/metrics/series)', () => {
  it('reads back as prom-client\'s Counter and Histogram do: the same /metrics text and JSON for the same updates', async () => {
    const { theirs, ours, counters, histograms, single } = pair();
    const me = { method: 'GET', route: '/api/auth/me', status: '200' };
    const login = { method: 'POST', route: '/api/auth/login', status: '401' };
    // Values on the bounds, between them, above them all, and zero; the label objects in another key order too.
    const observations: [typeof me, number][] = [
      [me, 0], [me, 0.005], [me, 0.0051], [login, 0.3], [me, 5], [login, 7.5], [me, 0.1], [{ status: '200', route: '/api/auth/me', method: 'GET' }, 0.02],
    ];
    for (const [labels, value] of observations) {
      counters[0].inc(labels);
      histograms[0].observe(labels, value);
    }
    const [boundCount, boundDuration] = [counters[1].bind(me), histograms[1].bind(me)];
    for (const [labels, value] of observations) {
      if (labels === me) {
        boundCount.inc();
        boundDuration.observe(value);
      } else {
        counters[1].inc(labels);
        histograms[1].observe(labels, value);
      }
    }
    // A label left out, as prom-client allows: its own series, without that label.
    const partial = { method: 'GET', route: '/api/auth/me' } as typeof me;
    counters[0].inc(partial, 3);
    counters[1].inc(partial, 3);
    histograms[0].observe(partial, 0.2);
    histograms[1].observe(partial, 0.2);
    single[0].inc({ level: 'memory' }, 0);
    single[1].inc({ level: 'memory' }, 0);
    single[0].inc({ level: 'redis' }, 2.5);
    single[1].bind({ level: 'redis' }).inc(2.5);

    expect(await ours.metrics()).to.equal(await theirs.metrics());
    // prom-client's JSON also carries an empty `exemplar` on each histogram value (exemplars are off).
    const withoutExemplars = (metrics: client.MetricObjectWithValues<client.MetricValue<string>>[]): unknown =>
      metrics.map((m) => ({ ...m, values: m.values.map(({ exemplar: _, ...v }: client.MetricValue<string> & { exemplar?: unknown }) => v) }));
    expect(await ours.getMetricsAsJSON()).to.deep.equal(withoutExemplars(await theirs.getMetricsAsJSON()));
    expect(await ours.metrics()).to.contain('http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/auth/me",status="200"} 2');
  });

  it('counts a bound series and the same labels given on each call as one series', async () => {
    const counter = new Counter({ name: 'c', help: 'c', labelNames: ['level'] });
    const bound = counter.bind({ level: 'memory' });
    bound.inc();
    counter.inc({ level: 'memory' }, 2);
    bound.inc(3);
    expect((await counter.get()).values).to.deep.equal([{ labels: { level: 'memory' }, value: 6 }]);
  });

  it('refuses an unknown label, a counter going down and a value that is not a finite number, as prom-client does, and records nothing of them', async () => {
    const counter = new Counter({ name: 'c', help: 'c', labelNames: ['level'] });
    const histogram = new Histogram({ name: 'h', help: 'h', labelNames: ['operation'], buckets: [1] });
    expect(() => counter.inc({ level: 'memory', user: 'ada' } as never)).to.throw('label "user" is not one of level');
    expect(() => counter.inc({ level: 'memory' }, -1)).to.throw('cannot go down');
    expect(() => counter.bind({ level: 'memory' }).inc(-1)).to.throw('cannot go down');
    expect(() => counter.inc({ level: 'memory' }, Number.NaN)).to.throw('not a finite number');
    expect(() => counter.inc({ level: 'redis' }, -1)).to.throw('cannot go down');
    expect(() => histogram.observe({ operation: 'me' }, Number.POSITIVE_INFINITY)).to.throw('not a finite number');
    expect(() => histogram.bind({ operation: 'me' }).observe(Number.NaN)).to.throw('not a finite number');
    // Only the series bind() made, still at zero.
    expect((await counter.get()).values).to.deep.equal([{ labels: { level: 'memory' }, value: 0 }]);
    expect((await histogram.get()).values.find((v) => v.metricName === 'h_count')?.value).to.equal(0);
  });

  it('refuses an `le` label and repeated buckets, and such a histogram is not left registered', () => {
    const registry = new client.Registry();
    expect(() => new Histogram({ name: 'h1', help: 'h', labelNames: ['le'], buckets: [1], registers: [registry] })).to.throw('"le" is the label of the buckets');
    expect(() => new Histogram({ name: 'h2', help: 'h', labelNames: [], buckets: [1, 1], registers: [registry] })).to.throw('distinct finite numbers');
    expect(registry.getMetricsAsArray()).to.deep.equal([]);
  });

  it('sets every series back to zero on reset, and a bound series keeps counting where it is read', async () => {
    const registry = new client.Registry();
    const counter = new Counter({ name: 'c', help: 'c', labelNames: ['level'], registers: [registry] });
    const bound = counter.bind({ level: 'memory' });
    bound.inc(5);
    registry.resetMetrics();
    expect((await counter.get()).values).to.deep.equal([{ labels: { level: 'memory' }, value: 0 }]);
    bound.inc();
    expect(await registry.metrics()).to.contain('c{level="memory"} 1');
  });

  it('times with startTimer: observes the seconds since, and returns them', async () => {
    const histogram = new Histogram({ name: 'h', help: 'h', labelNames: ['operation'], buckets: [0.01, 10] });
    const end = histogram.startTimer({ operation: 'me' });
    await new Promise((resolve) => setTimeout(resolve, 30));
    const seconds = end();
    expect(seconds).to.be.within(0.025, 5);
    const values = (await histogram.get()).values;
    expect(values.find((v) => v.metricName === 'h_sum')?.value).to.equal(seconds);
    expect(values.filter((v) => v.metricName === 'h_bucket').map((v) => v.value)).to.deep.equal([0, 1, 1]);
  });
});
