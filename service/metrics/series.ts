/**
 * A counter and a histogram whose series can be bound once and then updated for the price of an
 * addition, for the metrics every request updates. prom-client turns the label object into a key
 * on every inc() and observe(), its labels() children included (client_js issue 38, open since
 * 2016): for the five series that `me` answered from memory updates, that was 4 µs of the 40 µs
 * the whole answer took then (bench/README.md). These register in prom-client's Registry beside
 * its own metrics and read back as they do: the same get() values, so the same /metrics text
 * (test/service/metrics/series.test.ts holds the two side by side). The other metrics of the
 * registry stay prom-client's: nothing updates them on every request.
 */
import client from 'prom-client';

export type Labels<T extends string> = Record<T, string | number>;

interface Config<T extends string> {
  name: string;
  help: string;
  labelNames: readonly T[];
  registers?: client.Registry[];
}

interface Value {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** What prom-client's Registry reads of a metric (lib/registry.js): this, from get(). */
export interface MetricData {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: Value[];
  aggregator: client.Aggregator;
}

abstract class SeriesMetric<T extends string, S> {
  readonly help: string;
  readonly labelNames: readonly T[];
  readonly aggregator: client.Aggregator = 'sum';
  abstract readonly type: MetricData['type'];
  private readonly known: ReadonlySet<string>;
  private readonly series = new Map<string, { labels: Labels<T>; state: S }>();

  // Not readonly: in OpenMetrics mode prom-client's Registry renames counters in place.
  name: string;

  constructor(config: Config<T>) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    this.known = new Set(config.labelNames);
    // prom-client's Registry holds its own four classes in its types, but reads no more of what it
    // holds than name, help, type, aggregator, get() and reset().
    for (const registry of config.registers ?? []) registry.registerMetric(this as unknown as client.Metric);
  }

  protected abstract empty(): S;
  protected abstract clear(state: S): void;
  protected abstract valuesOf(labels: Labels<T>, state: S): Value[];

  /**
   * The state of one series, created at zero. Labels are taken as prom-client takes them: a name it
   * does not know is refused, a label left out is left out of the series (its own series, not the
   * one with an empty value).
   */
  protected stateOf(labels: Labels<T>): S {
    let key = '';
    for (const name of this.labelNames) {
      const value = labels[name];
      // Each value after its length, so no two label sets share a key whatever their values hold.
      if (value === undefined) key += '-;';
      else {
        const text = String(value);
        key += `${text.length}:${text};`;
      }
    }
    for (const name in labels) if (!this.known.has(name)) throw new Error(`${this.name}: label "${name}" is not one of ${this.labelNames.join(', ')}`);
    const found = this.series.get(key);
    if (found !== undefined) return found.state;
    const state = this.empty();
    const given = Object.fromEntries(Object.entries(labels).filter(([, value]) => value !== undefined)) as Labels<T>;
    this.series.set(key, { labels: given, state });
    return state;
  }

  get(): Promise<MetricData> {
    const values: Value[] = [];
    for (const { labels, state } of this.series.values()) values.push(...this.valuesOf(labels, state));
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  /**
   * Every series back to zero. Unlike prom-client's reset(), which forgets them, the series stay:
   * a bound series is held for the life of the process and must keep counting where it is read.
   */
  reset(): void {
    for (const { state } of this.series.values()) this.clear(state);
  }
}

function checkedAmount(metric: string, value: number): number {
  if (!Number.isFinite(value)) throw new TypeError(`${metric}: value is not a finite number: ${value}`);
  return value;
}

function checkedIncrement(metric: string, value: number): number {
  if (checkedAmount(metric, value) < 0) throw new Error(`${metric}: a counter cannot go down`);
  return value;
}

/** A counter series bound to its labels. */
export interface BoundCounter {
  inc(value?: number): void;
}

export class Counter<T extends string> extends SeriesMetric<T, { value: number }> {
  readonly type = 'counter';

  inc(labels: Labels<T>, value = 1): void {
    const amount = checkedIncrement(this.name, value); // before stateOf(): a refused update makes no series
    this.stateOf(labels).value += amount;
  }

  /** The series of `labels`, for a caller that updates it on every request. */
  bind(labels: Labels<T>): BoundCounter {
    const state = this.stateOf(labels);
    const name = this.name;
    return {
      inc(value = 1) {
        state.value += checkedIncrement(name, value);
      },
    };
  }

  protected empty(): { value: number } {
    return { value: 0 };
  }

  protected clear(state: { value: number }): void {
    state.value = 0;
  }

  protected valuesOf(labels: Labels<T>, state: { value: number }): Value[] {
    return [{ labels: { ...labels }, value: state.value }];
  }
}

function upperBoundsOf(config: Config<string> & { buckets: readonly number[] }): number[] {
  if (config.labelNames.includes('le')) throw new Error(`${config.name}: "le" is the label of the buckets`);
  const sorted = [...config.buckets].sort((a, b) => a - b);
  if (sorted.some((b, i) => !Number.isFinite(b) || b === sorted[i - 1])) throw new Error(`${config.name}: buckets must be distinct finite numbers`);
  return sorted;
}

interface Buckets {
  /** Observations per bucket (not cumulative), the last one for those above every bound (+Inf). */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** A histogram series bound to its labels. */
export interface BoundHistogram {
  observe(value: number): void;
}

export class Histogram<T extends string> extends SeriesMetric<T, Buckets> {
  readonly type = 'histogram';
  readonly upperBounds: readonly number[];

  constructor(config: Config<T> & { buckets: readonly number[] }) {
    // Checked before super() registers the metric: a refused histogram must not stay registered.
    const bounds = upperBoundsOf(config);
    super(config);
    this.upperBounds = bounds;
  }

  observe(labels: Labels<T>, value: number): void {
    this.add(this.stateOf(labels), checkedAmount(this.name, value));
  }

  /** Starts a timer; the function it returns observes the seconds since, and returns them. */
  startTimer(labels: Labels<T>): () => number {
    const started = performance.now();
    return () => {
      const seconds = (performance.now() - started) / 1000;
      this.observe(labels, seconds);
      return seconds;
    };
  }

  /** The series of `labels`, for a caller that updates it on every request. */
  bind(labels: Labels<T>): BoundHistogram {
    const state = this.stateOf(labels);
    const name = this.name;
    return { observe: (value) => this.add(state, checkedAmount(name, value)) };
  }

  private add(state: Buckets, value: number): void {
    const bounds = this.upperBounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    state.counts[i]! += 1;
    state.sum += value;
    state.count += 1;
  }

  protected empty(): Buckets {
    return { counts: new Float64Array(this.upperBounds.length + 1), sum: 0, count: 0 };
  }

  protected clear(state: Buckets): void {
    state.counts.fill(0);
    state.sum = 0;
    state.count = 0;
  }

  /** As prom-client's Histogram writes them: cumulative buckets with `le` first, +Inf, _sum, _count. */
  protected valuesOf(labels: Labels<T>, state: Buckets): Value[] {
    const bucket = `${this.name}_bucket`;
    const values: Value[] = [];
    let cumulative = 0;
    this.upperBounds.forEach((le, i) => {
      cumulative += state.counts[i]!;
      values.push({ labels: { le, ...labels }, value: cumulative, metricName: bucket });
    });
    values.push(
      { labels: { le: '+Inf', ...labels }, value: state.count, metricName: bucket },
      { labels: { ...labels }, value: state.sum, metricName: `${this.name}_sum` },
      { labels: { ...labels }, value: state.count, metricName: `${this.name}_count` },
    );
    return values;
  }
}
