import { expect } from 'chai';
import { MissingFieldError, withDefaults } from '../../../operator/api/defaults.js';
import type { AuthServiceSpecInput } from '../../../operator/api/types.js';
import { everyField, loginInput } from './fixtures.js';
import { applySchemaDefaults, minimalObject, schemaAt, type Schema, validateValue, walkSchema } from './schema.js';

const spec = schemaAt('spec');

/** Sets `value` at a schema path such as "backup.s3" or "networkPolicy.additionalEgressPorts[]", creating minimal parents. */
function withValueAt(base: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const root = structuredClone(base);
  let node: Schema = spec;
  let target: Record<string, unknown> = root;
  const parts = path.split('.');
  parts.forEach((raw, i) => {
    const isArray = raw.endsWith('[]');
    const name = isArray ? raw.slice(0, -2) : raw;
    const child = node.properties?.[name];
    if (!child) throw new Error(`no schema for ${path}`);
    const last = i === parts.length - 1;
    if (isArray) {
      const items = child.items as Schema;
      const item = last ? value : minimalObject(items);
      target[name] = [item];
      target = item as Record<string, unknown>;
      node = items;
    } else {
      if (last) target[name] = value;
      else target[name] ??= minimalObject(child);
      target = target[name] as Record<string, unknown>;
      node = child;
    }
  });
  return root;
}

/** Every object in the spec schema, as a path withValueAt understands. */
function objectPaths(): string[] {
  const paths: string[] = [];
  for (const [path, node] of walkSchema(spec)) {
    if (path === '' || node.type !== 'object' || !node.properties) continue;
    paths.push(path);
  }
  return paths;
}

function crdDefaults(input: unknown): unknown {
  return applySchemaDefaults(spec, input);
}

describe('withDefaults', function () {
  it('fills a minimal spec exactly as the API server would from the CRD defaults', function () {
    const input = loginInput().spec;
    expect(withDefaults(input)).to.deep.equal(crdDefaults(input));
  });

  it('agrees with the CRD defaults for every object of the schema given empty', function () {
    const base = minimalObject(spec);
    const paths = objectPaths();
    expect(paths).to.include.members(['resources.requests', 'database.pool', 'backup.s3', 'rollout.postPromotionAnalysis.httpGet', 'networkPolicy.additionalEgressPorts[]']);
    for (const path of paths) {
      const node = walkSchemaAt(path);
      const input = withValueAt(base, path, minimalObject(node));
      expect(withDefaults(input as AuthServiceSpecInput), path).to.deep.equal(crdDefaults(input));
    }
  });

  it('gives the guide’s numbers when nothing is set', function () {
    const spec = withDefaults(loginInput().spec);
    expect(spec.port).to.equal(8090);
    expect(spec.replicas).to.equal(3);
    expect(spec.logLevel).to.equal('info');
    expect(spec.resources).to.deep.equal({ requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
    expect(spec.database.urlSecretRef).to.deep.equal({ name: 'auth-db', key: 'url' });
    expect(spec.database.pool).to.deep.equal({ max: 20, min: 5, connectionTimeoutSeconds: 30, idleTimeoutSeconds: 300, maxLifetimeSeconds: 1800 });
    expect(spec.jwt).to.deep.include({ algorithm: 'ES256', accessTokenTTLSeconds: 900, refreshTokenTTLSeconds: 2592000 });
    expect(spec.jwt.keysSecretRef.secret).to.equal('jwt-secret');
    expect(spec.autoscaling).to.deep.equal({
      enabled: true,
      minReplicas: 3,
      maxReplicas: 50,
      targetCPUUtilizationPercentage: 70,
      targetMemoryUtilizationPercentage: 80,
      requestsPerSecondPerPod: 100,
    });
    expect(spec.verticalAutoscaling).to.deep.equal({
      enabled: false,
      updateMode: 'Auto',
      minAllowed: { cpu: '50m', memory: '32Mi' },
      maxAllowed: { cpu: '1', memory: '512Mi' },
    });
    expect(spec.networkPolicy.enabled).to.equal(true);
    expect(spec.monitoring.serviceMonitor).to.deep.equal({ enabled: true, interval: '30s', scrapeTimeout: '10s' });
    expect(spec.monitoring.prometheusRule.enabled).to.equal(true);
    expect(spec.backup).to.equal(undefined);
    expect(spec.rollout).to.deep.include({ autoPromotion: true, autoPromotionSeconds: 0, progressDeadlineSeconds: 600, scaleDownDelaySeconds: 30 });
    // Analysis is opt-in: absent, a rollout gates on availability alone.
    expect(spec.rollout).to.not.have.any.keys('prePromotionAnalysis', 'postPromotionAnalysis');
    const withChecks = withDefaults({ ...loginInput().spec, rollout: { prePromotionAnalysis: {}, postPromotionAnalysis: {} } });
    expect(withChecks.rollout.prePromotionAnalysis).to.deep.equal({
      httpGet: { path: '/health', port: 80, expectedStatus: 200 },
      count: 3,
      intervalSeconds: 5,
      failureLimit: 0,
      timeoutSeconds: 5,
    });
    expect(withChecks.rollout.postPromotionAnalysis?.intervalSeconds).to.equal(10);
  });

  it('gives a backup section the guide’s daily 02:00 UTC schedule and 30-day retention', function () {
    const spec = withDefaults({ ...loginInput().spec, backup: { s3: { bucket: 'auth-service-backups' } } });
    expect(spec.backup).to.deep.equal({
      enabled: true,
      schedule: '0 2 * * *',
      timeZone: 'UTC',
      retentionDays: 30,
      s3: { bucket: 'auth-service-backups', prefix: 'postgresql/', storageClass: 'STANDARD_IA' },
    });
  });

  it('leaves email verification off and the links on the service itself unless the email section says otherwise', function () {
    const spec = withDefaults({ ...loginInput().spec, email: { smtpSecretRef: { name: 'auth-smtp' }, from: 'no-reply@example.com' } });
    expect(spec.email).to.deep.equal({ smtpSecretRef: { name: 'auth-smtp', key: 'url' }, from: 'no-reply@example.com', requireVerification: false });
    expect(spec.email).to.deep.equal((crdDefaults({ ...loginInput().spec, email: { smtpSecretRef: { name: 'auth-smtp' }, from: 'no-reply@example.com' } }) as typeof spec).email);
    expect(withDefaults(loginInput().spec).email).to.equal(undefined);
  });

  it('names the TOTP keys totp-encryption-key and totp-previous-encryption-keys unless told otherwise', function () {
    const input = { ...loginInput().spec, mfa: { encryptionKeySecretRef: { name: 'auth-totp' } } };
    expect(withDefaults(input).mfa).to.deep.equal({
      encryptionKeySecretRef: { name: 'auth-totp', key: 'totp-encryption-key', previousKeysKey: 'totp-previous-encryption-keys' },
    });
    expect(withDefaults(input)).to.deep.equal(crdDefaults(input));
    expect(withDefaults({ ...loginInput().spec, mfa: {} }).mfa).to.deep.equal({});
    expect(withDefaults(loginInput().spec).mfa).to.equal(undefined);
  });

  it('keeps every value that is set', function () {
    const { spec } = everyField();
    expect(withDefaults(spec)).to.deep.equal(spec);
    expect(crdDefaults(spec)).to.deep.equal(spec);
  });

  it('is idempotent and does not touch its input', function () {
    const input = loginInput().spec;
    const before = structuredClone(input);
    const once = withDefaults(input);
    expect(withDefaults(once)).to.deep.equal(once);
    expect(input).to.deep.equal(before);
  });

  it('produces specs the schema accepts', function () {
    expect(validateValue(spec, withDefaults(loginInput().spec), 'spec')).to.deep.equal([]);
    expect(validateValue(spec, everyField().spec, 'spec')).to.deep.equal([]);
  });

  it('names every missing field the CRD requires', function () {
    const base = minimalObject(spec);
    const requiredPaths: Array<[string, string]> = [];
    for (const path of ['', ...objectPaths()]) {
      const node = path ? walkSchemaAt(path) : spec;
      for (const name of node.required ?? []) {
        if (node.properties?.[name]?.default !== undefined) continue;
        requiredPaths.push([path, name]);
      }
    }
    expect(requiredPaths.length).to.be.greaterThan(10);
    for (const [parent, name] of requiredPaths) {
      const node = parent ? walkSchemaAt(parent) : spec;
      const withoutIt = minimalObject(node);
      delete withoutIt[name];
      const input = parent ? withValueAt(base, parent, withoutIt) : withoutIt;
      const expected = `spec.${parent ? `${parent.replaceAll('[]', '[0]')}.` : ''}${name}`;
      expect(() => withDefaults(input as AuthServiceSpecInput), expected)
        .to.throw(MissingFieldError)
        .with.property('path', expected);
    }
  });
});

function walkSchemaAt(path: string): Schema {
  for (const [p, node] of walkSchema(spec)) if (p === path) return node;
  throw new Error(`no schema at ${path}`);
}
