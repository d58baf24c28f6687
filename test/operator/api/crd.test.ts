// Offline checks of crds/authservice.yaml: names, subresources, columns, a
// structural schema whose defaults validate, bounded strings and lists (CEL
// cost), and the patterns and CEL regexes accepting and refusing what they
// should. test/operator/api/crd-apiserver.test.ts repeats the important part
// against a real kube-apiserver.
import { expect } from 'chai';
import { loadCrd, rootSchema, schemaAt, type Schema, validateValue, walkSchema } from './schema.js';

const crd = loadCrd();
const root = rootSchema(crd);
const version = crd.spec.versions[0];

function pattern(path: string): RegExp {
  const source = schemaAt(path).pattern;
  if (!source) throw new Error(`${path} has no pattern`);
  return new RegExp(source);
}

/** The regexes inside a CEL rule's matches('…') calls, in order, with CEL's escaped backslashes (two for one) undone. */
function celRegexes(path: string, contains: string): RegExp[] {
  const rule = schemaAt(path)['x-kubernetes-validations']?.find((r) => r.rule.includes(contains));
  const sources = [...(rule?.rule.matchAll(/matches\('((?:[^'\\]|\\.)*)'\)/g) ?? [])].map((m) => m[1] as string);
  if (sources.length === 0) throw new Error(`no matches() rule with ${contains} at ${path}`);
  return sources.map((source) => {
    const unescaped = source.replace(/\\\\/g, '\\');
    // RE2's leading (?i) is JavaScript's i flag.
    return unescaped.startsWith('(?i)') ? new RegExp(unescaped.slice(4), 'i') : new RegExp(unescaped);
  });
}

const celRegex = (path: string, contains: string): RegExp => celRegexes(path, contains)[0] as RegExp;

describe('crds/authservice.yaml', function () {
  describe('names and versions', function () {
    it('defines auth.keyward.dev/v1alpha1 AuthService, namespaced, as authservices / authsvc in category all', function () {
      expect(crd.apiVersion).to.equal('apiextensions.k8s.io/v1');
      expect(crd.metadata.name).to.equal('authservices.auth.keyward.dev');
      expect(crd.spec.group).to.equal('auth.keyward.dev');
      expect(crd.spec.scope).to.equal('Namespaced');
      expect(crd.spec.names).to.deep.equal({
        kind: 'AuthService',
        listKind: 'AuthServiceList',
        plural: 'authservices',
        singular: 'authservice',
        shortNames: ['authsvc'],
        categories: ['all'],
      });
      expect(crd.spec.versions).to.have.length(1);
      expect(version).to.deep.include({ name: 'v1alpha1', served: true, storage: true });
    });

    it('has a status subresource', function () {
      expect(version?.subresources).to.deep.equal({ status: {} });
    });

    it('prints Active, Image, Ready, Phase and Age by default', function () {
      const columns = version?.additionalPrinterColumns ?? [];
      const shown = columns.filter((c) => !c.priority).map((c) => [c.name, c.jsonPath]);
      expect(shown).to.deep.equal([
        ['Active', '.status.activeColor'],
        ['Image', '.status.activeImage'],
        ['Ready', '.status.readyText'],
        ['Phase', '.status.phase'],
        ['Age', '.metadata.creationTimestamp'],
      ]);
      expect(columns.find((c) => c.name === 'Age')?.type).to.equal('date');
      for (const column of columns.filter((c) => c.jsonPath.startsWith('.status.'))) expect(() => schemaAt(column.jsonPath.slice(1)), column.name).not.to.throw();
    });
  });

  describe('structural schema', function () {
    it('gives every node a type, objects properties or additionalProperties, arrays items', function () {
      for (const [path, node] of walkSchema(root)) {
        if (node['x-kubernetes-preserve-unknown-fields'] && !node.properties) continue;
        expect(node.type, path).to.be.oneOf(['object', 'array', 'string', 'integer', 'number', 'boolean']);
        if (node.type === 'array') expect(node.items, path).to.be.an('object');
        if (node.type === 'object' && path !== 'metadata') {
          expect(Boolean(node.properties) !== Boolean(node.additionalProperties), `${path}: properties xor additionalProperties`).to.equal(true);
        }
        for (const name of node.required ?? []) expect(node.properties, `${path}.${name}`).to.have.property(name);
      }
    });

    it('has defaults that its own validation accepts', function () {
      let defaults = 0;
      for (const [path, node] of walkSchema(root)) {
        if (node.default === undefined) continue;
        defaults += 1;
        expect(validateValue(node, node.default, path), path).to.deep.equal([]);
      }
      expect(defaults).to.be.greaterThan(60);
    });

    it('bounds every string, list and map, so CEL cost estimates stay within the API server limits', function () {
      for (const [path, node] of walkSchema(root)) {
        if (path === 'apiVersion' || path === 'kind') continue; // bounded by the API server itself
        if (node.type === 'string' && !node.enum && node.format !== 'date-time') expect(node.maxLength, `${path}.maxLength`).to.be.a('number');
        if (node.type === 'array') expect(node.maxItems, `${path}.maxItems`).to.be.a('number');
        if (node.type === 'object' && node.additionalProperties) expect(node.maxProperties, `${path}.maxProperties`).to.be.a('number');
      }
    });

    it('gives every CEL rule a message naming its fields, and a fieldPath that exists', function () {
      let rules = 0;
      for (const [path, node] of walkSchema(root)) {
        for (const rule of node['x-kubernetes-validations'] ?? []) {
          rules += 1;
          expect(rule.message, rule.rule).to.match(/\b(spec|metadata)\.[a-zA-Z.]+/);
          if (rule.fieldPath) {
            const target = [path, rule.fieldPath.slice(1)].filter(Boolean).join('.');
            expect(() => schemaAt(target), `${rule.rule} → ${target}`).not.to.throw();
          }
        }
      }
      expect(rules).to.be.greaterThan(12);
    });

    it('keeps status.rollout open for the blue/green engine', function () {
      expect(schemaAt('status.rollout')).to.deep.include({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    });

    it('keys conditions by type like metav1.Condition', function () {
      const conditions = schemaAt('status.conditions');
      expect(conditions).to.deep.include({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });
      expect(conditions.items?.required).to.have.members(['type', 'status', 'reason', 'message', 'lastTransitionTime']);
      expect(conditions.items?.properties?.lastTransitionTime).to.deep.include({ type: 'string', format: 'date-time' });
    });

    it('lists the phases and colours of the design', function () {
      expect(schemaAt('status.phase').enum).to.deep.equal(['Pending', 'Progressing', 'Paused', 'Healthy', 'Degraded']);
      expect(schemaAt('status.activeColor').enum).to.deep.equal(['blue', 'green']);
      expect(schemaAt('status.previewColor').enum).to.deep.equal(['blue', 'green']);
    });
  });

  describe('cross-field rules (CEL)', function () {
    const rulesAt = (path: string) => (schemaAt(path)['x-kubernetes-validations'] ?? []).map((r) => r.rule);

    // Each rule is guarded with has(): the API server evaluates rules against a
    // schema's object default (`default: {}`) before nested defaults fill it in.
    const hasRule = (path: string, expression: string) => rulesAt(path).some((r) => r.endsWith(expression));

    it('compares the fields the design names', function () {
      expect(hasRule('spec.autoscaling', 'self.minReplicas <= self.maxReplicas')).to.equal(true);
      expect(hasRule('spec.database.pool', 'self.min <= self.max')).to.equal(true);
      expect(hasRule('spec.monitoring.serviceMonitor', 'duration(self.scrapeTimeout) <= duration(self.interval)')).to.equal(true);
      expect(hasRule('spec.jwt', 'self.refreshTokenTTLSeconds > self.accessTokenTTLSeconds')).to.equal(true);
      for (const field of ['image', 's3', 'encryptionKeySecretRef']) {
        expect(hasRule('spec.backup', `!self.enabled || has(self.${field})`), field).to.equal(true);
      }
      expect(schemaAt('spec.backup.s3').required).to.deep.equal(['bucket']);
    });

    it('guards every field a rule reads on an object that has a default, so the CRD itself is accepted', function () {
      for (const [path, node] of walkSchema(root)) {
        if (node.default === undefined) continue;
        for (const { rule } of node['x-kubernetes-validations'] ?? []) {
          for (const [, field] of rule.matchAll(/self\.([A-Za-z]+)(?![A-Za-z(])/g)) {
            if (node.default && typeof node.default === 'object' && field && field in node.default) continue;
            expect(rule, `${path}: ${field}`).to.include(`!has(self.${field})`);
          }
        }
      }
    });

    it('accepts five-field cron schedules within each field’s bounds and lower-case macros, and refuses other shapes', function () {
      // The rule's two regexes; that a range runs low to high is checked apart
      // (findAll), so crd-apiserver.test.ts tests it on the API server.
      const [macro, fields] = celRegexes('spec.backup', 'self.schedule.matches') as [RegExp, RegExp];
      const schedule = { test: (s: string) => macro.test(s) || fields.test(s) };
      for (const good of ['0 2 * * *', '*/15 0-6 1,15 * MON-FRI', '@daily', '@hourly', '0  2 * * *', '30 1 ? jan,jul sun', '0 */6 * * 1-5', '59 23 31 12 6', '00 00 01 01 00', '0 2 * * Mon-Fri/2']) {
        expect(schedule.test(good), good).to.equal(true);
      }
      for (const bad of [
        '0 2 * *', '0 2 * * * *', 'CRON_TZ=UTC 0 2 * * *', '@every 5m', '@DAILY', 'daily', '', 'at two every night', 'a b c d e', '0 2 * MONDAY *',
        '60 2 * * *', '0 24 * * *', '0 0 0 * *', '0 0 32 * *', '0 0 * 0 *', '0 0 * 13 *', '0 0 * * 7', '*/0 * * * *', '0,,30 * * * *',
      ]) {
        expect(schedule.test(bad), bad).to.equal(false);
      }
    });

    it('refuses AuthService names whose children would be too long for the API server', function () {
      const name = celRegex('', 'metadata.name.matches');
      expect(root['x-kubernetes-validations']?.[0]?.rule).to.include('self.metadata.name.size() <= 45');
      for (const good of ['login', 'a', 'auth-2']) expect(name.test(good), good).to.equal(true);
      for (const bad of ['2fa', 'Login', 'login-', 'a.b']) expect(name.test(bad), bad).to.equal(false);
    });
  });

  describe('patterns', function () {
    it('accepts image references with a tag or a digest, and refuses one without', function () {
      const image = pattern('spec.image');
      const digest = `sha256:${'a'.repeat(64)}`;
      for (const good of [
        'registry.example/keyward-service:1.4.0',
        'keyward-service:1.4.0',
        'localhost:5000/team/keyward-service:1.4.0-broken',
        `registry.example/keyward-service@${digest}`,
        `registry.example/keyward-service:1.4.0@${digest}`,
      ]) {
        expect(image.test(good), good).to.equal(true);
      }
      for (const bad of ['keyward-service', 'Registry.example/Keyward:1', 'keyward service:1', 'keyward-service:', 'keyward-service@sha256:abc']) {
        expect(image.test(bad), bad).to.equal(false);
      }
      expect((schemaAt('spec')['x-kubernetes-validations'] ?? []).map((r) => r.rule)).to.include("!self.image.endsWith(':latest')");
    });

    it('accepts Kubernetes quantities for resources and refuses other strings', function () {
      for (const path of ['spec.resources.requests.cpu', 'spec.resources.limits.memory', 'spec.verticalAutoscaling.maxAllowed.cpu']) {
        const quantity = pattern(path);
        for (const good of ['100m', '1', '0.5', '64Mi', '1Gi', '1e3', '512M']) expect(quantity.test(good), `${path} ${good}`).to.equal(true);
        for (const bad of ['100 m', '1GB', 'lots', '-1', '']) expect(quantity.test(bad), `${path} ${bad}`).to.equal(false);
      }
    });

    it('accepts DNS-1123 Secret names only', function () {
      const names: Schema[] = [];
      for (const [path, node] of walkSchema(root)) if (/SecretRef\.name$/.test(path)) names.push(node);
      expect(names).to.have.length(7);
      for (const node of names) {
        const name = new RegExp(node.pattern as string);
        for (const good of ['auth-db', 'a', 'auth.db-2']) expect(name.test(good), good).to.equal(true);
        for (const bad of ['Auth-db', '-auth', 'auth_db', 'auth-db-']) expect(name.test(bad), bad).to.equal(false);
        expect(node.maxLength).to.equal(253);
      }
    });

    it('accepts an http or https base URL for the links in mail, and refuses another scheme, a query or a fragment', function () {
      const appUrl = celRegex('spec.email.appUrl', 'self.matches');
      for (const good of ['https://app.example.com', 'http://localhost:3000', 'https://example.com/account/', 'http://10.0.0.7:8080/auth', 'https://[::1]:8443']) {
        expect(appUrl.test(good), good).to.equal(true);
      }
      for (const bad of ['ftp://app.example.com', 'app.example.com', 'https://', 'https://app.example.com/?next=1', 'https://app.example.com/#x', 'https://app example.com', 'https://user@app.example.com']) {
        expect(appUrl.test(bad), bad).to.equal(false);
      }
    });

    it('accepts Prometheus durations made of ms, s, m and h', function () {
      const duration = pattern('spec.monitoring.serviceMonitor.interval');
      for (const good of ['30s', '1m30s', '500ms', '1h']) expect(duration.test(good), good).to.equal(true);
      for (const bad of ['30', '1d', 's', '30 s']) expect(duration.test(bad), bad).to.equal(false);
    });
  });
});
