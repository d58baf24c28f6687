// charts/keyward-operator/dashboards/keyward.json: it parses, its layout is
// sound, every PromQL expression is valid PromQL (promtool parses it) and asks
// only for metrics that exist — the names a running auth service serves on
// /metrics, the operator's registry exports, or Prometheus adds itself — and
// it covers what the guide monitors.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { createOperatorMetrics } from '../../operator/observability/metrics.js';
import { startTestService, type TestService } from '../support/service.js';
import { runTool, toolPath } from '../support/tools.js';

interface Target {
  refId: string;
  expr: string;
  datasource?: { type: string; uid: string };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Target[];
}

interface Variable {
  name: string;
  type: string;
  query?: string | { query: string };
}

interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboardPath = fileURLToPath(new URL('../../charts/keyward-operator/dashboards/keyward.json', import.meta.url));

// PromQL words that are not metric names: aggregation modifiers, set and
// comparison operators, offset/at modifiers.
const keywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'start', 'end', 'atan2', 'Inf', 'NaN', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects. A small scanner, not a parser:
 * it drops string literals, label matchers, ranges and label lists (`by (…)`),
 * then every remaining identifier not followed by `(` (a function) and not a
 * keyword is a metric name. promtool separately proves each expression parses.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.])[a-zA-Z_:][\w:]*/g)) {
    const word = match[0];
    const rest = stripped.slice((match.index ?? 0) + word.length).trimStart();
    if (rest.startsWith('(') || keywords.has(word)) continue;
    names.add(word);
  }
  return [...names];
}

/** Every sample name an exposition text can carry, from its `# TYPE` lines (a histogram's _bucket, _sum and _count included). */
function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (!name) continue;
    if (type === 'histogram') ['_bucket', '_sum', '_count'].forEach((s) => names.add(name + s));
    else if (type === 'summary') ['', '_sum', '_count'].forEach((s) => names.add(name + s));
    else names.add(name);
  }
  return names;
}

/** The PromQL inside Grafana's `label_values(<selector>, <label>)`, or the query itself. */
function variablePromQL(query: string): string {
  const labelValues = /^label_values\((.*),\s*[a-zA-Z_]\w*\s*\)$/.exec(query.trim());
  return labelValues ? (labelValues[1] as string) : query;
}

/** An expression as Prometheus receives it once Grafana has filled in the dashboard's variables. */
function substituted(expr: string): string {
  return expr.replaceAll('$__rate_interval', '2m').replace(/\$\{?(namespace|authservice|operator_namespace)\}?/g, '.+');
}

describe('charts/keyward-operator/dashboards/keyward.json', function () {
  this.timeout(120_000);

  const dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8')) as Dashboard;
  const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');
  const panelExpressions = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr })));
  const variableExpressions = dashboard.templating.list
    .filter((v) => v.type === 'query')
    .map((v) => ({ where: `variable $${v.name}`, expr: variablePromQL(typeof v.query === 'string' ? v.query : (v.query?.query ?? '')) }));
  const expressions = [...panelExpressions, ...variableExpressions];

  let service: TestService | undefined;
  let exported: Set<string>;

  before(async function () {
    service = await startTestService();
    const scraped = await service.request('GET', '/metrics');
    expect(scraped.status).to.equal(200);
    exported = new Set([
      ...exportedNames(scraped.text),
      ...exportedNames(await createOperatorMetrics().registry.metrics()),
      // Prometheus writes `up` for every scrape target itself.
      'up',
    ]);
  });

  after(async function () {
    await service?.stop();
  });

  it('is a Grafana dashboard with a stable uid, on a Prometheus data source variable', function () {
    expect(dashboard.uid).to.equal('keyward-overview');
    expect(dashboard.title).to.equal('Keyward');
    expect(dashboard.templating.list.map((v) => v.name)).to.include.members(['datasource', 'namespace', 'authservice', 'operator_namespace']);
    for (const p of queryPanels) {
      for (const t of p.targets ?? []) expect(t.datasource, p.title).to.deep.equal({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('lays panels out on the 24-column grid with unique ids and no overlaps', function () {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size, 'duplicate panel ids').to.equal(ids.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w, p.title).to.be.at.most(24);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const cell = `${i},${j}`;
          expect(cells.has(cell), `"${p.title}" overlaps another panel at ${cell}`).to.equal(false);
          cells.add(cell);
        }
      }
    }
  });

  it('queries only metric names that the auth service and the operator export (or Prometheus adds)', function () {
    expect(expressions.length).to.be.greaterThan(30);
    for (const { where, expr } of expressions) {
      const names = metricNames(expr);
      expect(names, `${where}: no metric name found in ${expr}`).not.to.be.empty;
      for (const name of names) expect(exported.has(name), `${where} asks for ${name}, which nothing exports: ${expr}`).to.equal(true);
    }
  });

  it('catches a misspelt metric name (the scanner finds names inside functions, aggregations and binary expressions)', function () {
    expect(metricNames('sum by (route) (rate(http_request_total{job=~"$job",status=~"5.."}[$__rate_interval]))')).to.deep.equal(['http_request_total']);
    expect(metricNames('histogram_quantile(0.99, sum by (le) (rate(x_bucket{a="b"}[5m]))) > 1.0')).to.deep.equal(['x_bucket']);
    expect(metricNames('sum(rate(a_total[1m])) / (sum(rate(a_total[1m])) + sum(rate(b_total[1m]))) or vector(0)')).to.deep.equal(['a_total', 'b_total']);
    expect(metricNames('sum by (colour) (label_replace(up{job="x"}, "colour", "$1", "pod", ".+-(blue|green)-.+"))')).to.deep.equal(['up']);
  });

  it('shows what the guide monitors: request rate, errors, p99, logins, cache, database pool, sessions, and the operator', function () {
    const used = new Set(expressions.flatMap(({ expr }) => metricNames(expr)));
    expect([...used]).to.include.members([
      'http_requests_total',
      'http_request_duration_seconds_bucket',
      'auth_requests_total',
      'auth_request_duration_seconds_bucket',
      'cache_hits_total',
      'cache_misses_total',
      'database_connections_active',
      'database_query_duration_seconds_bucket',
      'active_sessions_total',
      'keyward_operator_reconcile_total',
      'keyward_operator_reconcile_duration_seconds_bucket',
      'keyward_operator_reconcile_errors_total',
      'keyward_operator_queue_depth',
      'keyward_operator_leader',
      'keyward_operator_api_writes_total',
      'keyward_operator_watch_restarts_total',
      'keyward_operator_rollout_phase',
      'up',
    ]);
    const titles = queryPanels.map((p) => p.title);
    expect(titles).to.include.members(['Request rate by route', 'Error rate', 'Logins and failures', 'Cache hit rate', 'Database connections open', 'Traffic by colour', 'Rollout phase']);
  });

  it('holds only valid PromQL: promtool check rules accepts every expression as a recording rule', async function () {
    toolPath('promtool'); // fails with "run bash hack/tools/build.sh" when it is missing
    const dir = mkdtempSync(join(tmpdir(), 'keyward-dashboard-'));
    try {
      const rules = expressions.map(({ expr }, i) => ({ record: `keyward_dashboard:expression_${i}`, expr: substituted(expr) }));
      writeFileSync(join(dir, 'dashboard.rules.yaml'), stringify({ groups: [{ name: 'keyward-dashboard', rules }] }));
      const result = await runTool('promtool', ['check', 'rules', join(dir, 'dashboard.rules.yaml')]);
      expect(result.code, result.stdout + result.stderr).to.equal(0);
      expect(result.stdout).to.include(`SUCCESS: ${rules.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
