// crds/authservice.yaml on a real kube-apiserver (the local control plane of
// hack/cluster): it is accepted, it stores what withDefaults() predicts, it
// refuses invalid specs with messages naming the field, and kubectl shows the
// columns, short name and category.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { locateKubectl } from '../../../hack/cluster/binaries.js';
import { defaultAuthService, withDefaults } from '../../../operator/api/defaults.js';
import type { AuthService, AuthServiceInput } from '../../../operator/api/types.js';
import type { KubeClient, KubeObject } from '../../../operator/kube/client.js';
import { KubeError } from '../../../operator/kube/client.js';
import { desiredBackupCronJob } from '../../../operator/reconcile/backup.js';
import { loadConfig } from '../../../service/config/env.js';
import { adminClient, createNamespace, sharedControlPlane } from '../../support/cluster.js';
import { everyField, loginInput } from './fixtures.js';
import { loadCrd } from './schema.js';

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('crds/authservice.yaml on kube-apiserver', function () {
  this.timeout(180_000);

  let client: KubeClient;
  let namespace: string;
  let kubeconfig: string;
  const path = (name = '') => `/apis/auth.keyward.dev/v1alpha1/namespaces/${namespace}/authservices${name ? `/${name}` : ''}`;

  /** Creates the AuthService (only validates it, with dryRun); resolves to the stored object, or to the API server's refusal. */
  async function create(input: AuthServiceInput | AuthService, { dryRun = false } = {}): Promise<AuthService | KubeError> {
    const { status: _status, ...object } = structuredClone(input);
    delete object.metadata.uid;
    delete object.metadata.generation;
    object.metadata.namespace = namespace;
    try {
      return await client.request<AuthService>('POST', path(), { body: object, ...(dryRun ? { query: { dryRun: 'All' } } : {}) });
    } catch (err) {
      if (err instanceof KubeError) return err;
      throw err;
    }
  }

  before(async function () {
    const plane = await sharedControlPlane();
    kubeconfig = plane.kubeconfigPath;
    client = await adminClient();
    // Other suites may have installed it already: apply is idempotent.
    await client.apply(loadCrd() as unknown as KubeObject);
    await eventually(async () => {
      const crd = await client.get<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>(`${CRDS}/authservices.auth.keyward.dev`);
      return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    }, 'the CRD to be established');
    namespace = await createNamespace(client, 'crd');
    // A new resource type takes a moment to be served.
    await eventually(async () => ((await client.list(path()).catch(() => undefined)) ? true : undefined), 'authservices to be served');
  });

  after(async function () {
    if (namespace) await client.delete(`/api/v1/namespaces/${namespace}`).catch(() => undefined);
  });

  it('stores a minimal AuthService with exactly the defaults withDefaults() applies', async function () {
    const input = loginInput();
    input.metadata.name = 'minimal';
    const stored = await create(input);
    expect(stored).not.to.be.instanceOf(KubeError);
    expect((stored as AuthService).spec).to.deep.equal(withDefaults(input.spec));
  });

  it('stores an AuthService that sets every field unchanged', async function () {
    const input = everyField();
    input.metadata.name = 'every-field';
    const stored = await create(input);
    expect(stored).not.to.be.instanceOf(KubeError);
    expect((stored as AuthService).spec).to.deep.equal(input.spec);
  });

  it('stores the backup section’s defaults too', async function () {
    const input = loginInput();
    input.metadata.name = 'with-backup';
    input.spec.backup = {
      image: 'registry.example/backup-tools:2.1.0',
      s3: { bucket: 'auth-service-backups' },
      encryptionKeySecretRef: { name: 'backup-key' },
    };
    const stored = await create(input);
    expect(stored).not.to.be.instanceOf(KubeError);
    expect((stored as AuthService).spec).to.deep.equal(withDefaults(input.spec));
  });

  it('stores the email section’s defaults: verification off, no appUrl', async function () {
    const input = loginInput();
    input.metadata.name = 'with-email';
    input.spec.email = { smtpSecretRef: { name: 'auth-smtp' }, from: 'no-reply@example.com' };
    const stored = await create(input);
    expect(stored).not.to.be.instanceOf(KubeError);
    expect((stored as AuthService).spec).to.deep.equal(withDefaults(input.spec));
    expect((stored as AuthService).spec.email).to.deep.include({ requireVerification: false }).and.not.have.property('appUrl');
  });

  it('stores the TOTP key names’ defaults', async function () {
    const input = loginInput();
    input.metadata.name = 'with-mfa';
    input.spec.mfa = { encryptionKeySecretRef: { name: 'auth-totp' } };
    const stored = await create(input);
    expect(stored).not.to.be.instanceOf(KubeError);
    expect((stored as AuthService).spec).to.deep.equal(withDefaults(input.spec));
    expect((stored as AuthService).spec.mfa?.encryptionKeySecretRef).to.deep.equal({ name: 'auth-totp', key: 'totp-encryption-key', previousKeysKey: 'totp-previous-encryption-keys' });
  });

  describe('refuses invalid specs, naming the field', function () {
    type Case = [string, (input: AuthServiceInput) => void, string];
    const cases: Case[] = [
      ['minReplicas above maxReplicas', (a) => (a.spec.autoscaling = { minReplicas: 10, maxReplicas: 5 }), 'spec.autoscaling.minReplicas must not exceed spec.autoscaling.maxReplicas'],
      ['a pool minimum above its maximum', (a) => (a.spec.database = { urlSecretRef: { name: 'auth-db' }, pool: { min: 30, max: 20 } }), 'spec.database.pool.min must not exceed spec.database.pool.max'],
      ['a CPU request above the limit', (a) => (a.spec.resources = { requests: { cpu: '1' } }), 'spec.resources.requests.cpu must not exceed spec.resources.limits.cpu'],
      ['a memory request above the limit', (a) => (a.spec.resources = { requests: { memory: '1Gi' } }), 'spec.resources.requests.memory must not exceed spec.resources.limits.memory'],
      ['refresh tokens shorter-lived than access tokens', (a) => (a.spec.jwt = { keysSecretRef: { name: 'auth-jwt' }, refreshTokenTTLSeconds: 600 }), 'spec.jwt.refreshTokenTTLSeconds must be longer'],
      ['a scrape timeout above the interval', (a) => (a.spec.monitoring = { serviceMonitor: { scrapeTimeout: '1m' } }), 'spec.monitoring.serviceMonitor.scrapeTimeout must not exceed'],
      ['a backup without an image', (a) => (a.spec.backup = { s3: { bucket: 'b-1' }, encryptionKeySecretRef: { name: 'k' } }), 'spec.backup.image is required'],
      ['a backup without S3', (a) => (a.spec.backup = { image: 'backup-tools:1', encryptionKeySecretRef: { name: 'k' } }), 'spec.backup.s3.bucket is required'],
      ['an unencrypted backup', (a) => (a.spec.backup = { image: 'backup-tools:1', s3: { bucket: 'b-1' } }), 'spec.backup.encryptionKeySecretRef is required'],
      ['a four-field schedule', (a) => (a.spec.backup = { image: 'backup-tools:1', s3: { bucket: 'b-1' }, encryptionKeySecretRef: { name: 'k' }, schedule: '0 2 * *' }), 'spec.backup.schedule must be a cron expression with 5 fields'],
      ['a schedule of five words', (a) => (a.spec.backup = { image: 'backup-tools:1', s3: { bucket: 'b-1' }, encryptionKeySecretRef: { name: 'k' }, schedule: 'at two every night' }), 'spec.backup.schedule must be a cron expression with 5 fields'],
      ['an image on :latest', (a) => (a.spec.image = 'registry.example/keyward-service:latest'), "spec.image must pin a version tag or a digest"],
      ['an image without a tag', (a) => (a.spec.image = 'registry.example/keyward-service'), 'spec.image'],
      ['a VPA in Auto mode beside the HPA', (a) => (a.spec.verticalAutoscaling = { enabled: true }), 'spec.verticalAutoscaling.updateMode must be Off or Initial'],
      ['more tolerated failures than measurements', (a) => (a.spec.rollout = { prePromotionAnalysis: { count: 2, failureLimit: 2 } }), 'spec.rollout.prePromotionAnalysis.failureLimit must be smaller'],
      ['an unknown log level', (a) => (a.spec.logLevel = 'verbose' as never), 'spec.logLevel'],
      ['a mail link base that is not http(s)', (a) => (a.spec.email = { smtpSecretRef: { name: 'auth-smtp' }, from: 'no-reply@example.com', appUrl: 'ftp://app.example.com' }), 'spec.email.appUrl must be an http or https URL'],
      ['a mail link base with a query', (a) => (a.spec.email = { smtpSecretRef: { name: 'auth-smtp' }, from: 'no-reply@example.com', appUrl: 'https://app.example.com/?x=1' }), 'spec.email.appUrl must be an http or https URL'],
      ['requireVerification without email', (a) => (a.spec.email = { requireVerification: true }), 'spec.email.smtpSecretRef'],
      ['a TOTP key Secret without a name', (a) => (a.spec.mfa = { encryptionKeySecretRef: { key: 'k' } }), 'spec.mfa.encryptionKeySecretRef.name'],
      ['a TOTP previous-keys key that is not a Secret key', (a) => (a.spec.mfa = { encryptionKeySecretRef: { name: 'auth-totp', previousKeysKey: 'old keys' } }), 'spec.mfa.encryptionKeySecretRef.previousKeysKey'],
      ['a privileged port', (a) => (a.spec.port = 80), 'spec.port'],
      ['sessions kept for 0 days', (a) => (a.spec.retention = { sessionDays: 0 }), 'spec.retention.sessionDays'],
      ['a negative purge interval', (a) => (a.spec.retention = { intervalSeconds: -1 }), 'spec.retention.intervalSeconds'],
      ['a Secret name that is not DNS-1123', (a) => (a.spec.database = { urlSecretRef: { name: 'Auth_DB' } }), 'spec.database.urlSecretRef.name'],
      ['no database', (a) => delete a.spec.database, 'spec.database'],
      ['trustProxy true, which would trust every hop', (a) => (a.spec.trustProxy = 'true'), 'spec.trustProxy must be false, a hop count, or a comma-separated list'],
      ['trustProxy names separated by spaces', (a) => (a.spec.trustProxy = 'loopback uniquelocal'), 'spec.trustProxy must be false'],
      ['trustProxy with a word the service does not know', (a) => (a.spec.trustProxy = 'ingress'), 'spec.trustProxy must be false'],
      ['trustProxy with a 33-bit IPv4 prefix', (a) => (a.spec.trustProxy = '10.0.0.0/33'), 'spec.trustProxy must be false'],
      ['trustProxy with an IPv6 address of four groups', (a) => (a.spec.trustProxy = '1:2:3:4'), 'spec.trustProxy must be false'],
      ['trustProxy with two :: in one address', (a) => (a.spec.trustProxy = '2001:db8::1::2'), 'spec.trustProxy must be false'],
      ['an analysis port the colour Service does not expose', (a) => (a.spec.rollout = { prePromotionAnalysis: { httpGet: { port: 8090 } } }), 'spec.rollout.prePromotionAnalysis.httpGet.port'],
      ['a monitoring label whose key has a space', (a) => (a.spec.monitoring = { labels: { 'my release': 'x' } }), 'spec.monitoring.labels must be Kubernetes labels'],
      ['a namespace selector label whose value is not one', (a) => (a.spec.networkPolicy = { ingressNamespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress nginx' } } }), 'spec.networkPolicy.ingressNamespaceSelector.matchLabels must be Kubernetes labels'],
      ['a name too long for its children', (a) => (a.metadata.name = `a${'b'.repeat(45)}`), 'metadata.name must be a DNS-1035 label of at most 45 characters'],
      ['a name ending in -blue, the name of another AuthService\'s blue Service', (a) => (a.metadata.name = 'login-blue'), 'metadata.name must not end in -blue or -green'],
      ['a name ending in -green, the name of another AuthService\'s green Service', (a) => (a.metadata.name = 'login-green'), 'metadata.name must not end in -blue or -green'],
    ];
    cases.forEach(([what, mutate, message], i) => {
      it(`refuses ${what}`, async function () {
        const input = loginInput();
        input.metadata.name = `invalid-${i}`;
        mutate(input);
        const result = await create(input);
        expect(result, 'accepted').to.be.instanceOf(KubeError);
        expect((result as KubeError).status).to.equal(422);
        expect((result as KubeError).message).to.include(message);
      });
    });
  });

  it('stores names with blue or green anywhere but at the end after a hyphen', async function () {
    for (const name of ['blue', 'green-login', 'login-bluegreen', 'loginblue', 'blue-green-login']) {
      const input = loginInput();
      input.metadata.name = name;
      const stored = await create(input, { dryRun: true });
      expect(stored, `${name}: ${stored instanceof KubeError ? stored.message : ''}`).to.not.be.instanceOf(KubeError);
    }
  });

  it('keeps taking spec and status writes for an AuthService named ...-blue before the rule existed (it is checked on create only)', async function () {
    const withoutRule = loadCrd();
    const root = withoutRule.spec.versions[0]?.schema.openAPIV3Schema;
    if (!root) throw new Error('the CRD has no schema');
    root['x-kubernetes-validations'] = root['x-kubernetes-validations']?.filter((r) => !r.rule.includes("endsWith('-blue')"));
    const probe = loginInput();
    probe.metadata.name = 'probe-blue';
    /** Resolves once a new AuthService named probe-blue is refused (`refused`) or taken: the API server has loaded that CRD. */
    const nameRuleIs = (refused: boolean) =>
      eventually(async () => ((await create(probe, { dryRun: true })) instanceof KubeError === refused ? true : undefined), `the name rule ${refused ? 'on' : 'off'}`);
    try {
      await client.apply(withoutRule as unknown as KubeObject);
      await nameRuleIs(false);
      const input = loginInput();
      input.metadata.name = 'before-blue';
      expect(await create(input)).to.not.be.instanceOf(KubeError);
    } finally {
      await client.apply(loadCrd() as unknown as KubeObject);
    }
    await nameRuleIs(true);
    await client.mergePatch(path('before-blue'), { spec: { replicas: 4 } });
    await client.mergePatch(`${path('before-blue')}/status`, { status: { phase: 'Healthy' } });
    const stored = await client.get<AuthService & KubeObject>(path('before-blue'));
    expect([stored?.spec.replicas, stored?.status?.phase]).to.deep.equal([4, 'Healthy']);
  });

  describe('spec.backup.schedule: what it stores, the backup CronJob accepts, and what it refuses, the CronJob refuses', function () {
    // A CronJob's schedule is checked by robfig/cron's standard parser; a schedule
    // the AuthService took but the CronJob refused would fail every pass's apply.
    const withSchedule = (name: string, schedule: string): AuthServiceInput => {
      const input = loginInput();
      input.metadata.name = name;
      input.metadata.namespace = namespace;
      input.spec.backup = { image: 'backup-tools:1', s3: { bucket: 'b-1' }, encryptionKeySecretRef: { name: 'k' }, schedule };
      return input;
    };

    /** The operator's backup CronJob for the AuthService, sent with dryRun: undefined when the API server takes it, else its refusal. */
    async function cronJobRefusal(auth: AuthService): Promise<KubeError | undefined> {
      const cronJob = desiredBackupCronJob(auth);
      if (!cronJob) throw new Error('no backup CronJob rendered');
      try {
        await client.request('POST', `/apis/batch/v1/namespaces/${namespace}/cronjobs`, { body: cronJob, query: { dryRun: 'All' } });
        return undefined;
      } catch (err) {
        if (err instanceof KubeError) return err;
        throw err;
      }
    }

    const accepted = [
      '0 2 * * *', '59 23 31 12 6', '00 00 01 01 00', '05 09 * * *',
      '*/15 0-6 1,15 * MON-FRI', '0 */6 * * 1-5', '0 0-23/2 1-31/2 * *', '5/15 * * * *', '*/01 * * * *', '*/99 * * * *',
      '0 2 ? * ?', '? ? * * *', '0,30 9-17 * * mon,wed,fri', '0 2 * jan-Mar *', '0 2 * JAN-DEC/3 *', '0 2 * 1-MAR *',
      '0 2 * * Mon-Fri/2', '0 2 * * SUN-SAT', '0 2 * * 0-0', '59-59 * * * *', '0  2 * * *',
      '@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly',
    ];
    accepted.forEach((schedule, i) => {
      it(`stores ${JSON.stringify(schedule)}, and the CronJob made from it is accepted`, async function () {
        const stored = await create(withSchedule(`schedule-ok-${i}`, schedule));
        expect(stored, stored instanceof KubeError ? stored.message : '').to.not.be.instanceOf(KubeError);
        expect((stored as AuthService).spec.backup?.schedule).to.equal(schedule);
        const refusal = await cronJobRefusal(stored as AuthService);
        expect(refusal?.message).to.equal(undefined);
      });
    });

    const refused: Array<[string, string]> = [
      ['60 2 * * *', 'minute 60'],
      ['0 24 * * *', 'hour 24'],
      ['0 0 0 * *', 'day of month 0'],
      ['0 0 32 * *', 'day of month 32'],
      ['0 0 * 0 *', 'month 0'],
      ['0 0 * 13 *', 'month 13'],
      ['0 0 * * 7', 'day of week 7'],
      ['0 0 * * 07', 'day of week 07'],
      ['*/0 * * * *', 'a step of 0'],
      ['30-10 * * * *', 'a range from high to low'],
      ['0 2 * * 5-1', 'a day-of-week range from high to low'],
      ['0 2 * * FRI-MON', 'a range of day names from high to low'],
      ['0 2 * DEC-JAN *', 'a range of month names from high to low'],
      ['0 2 * * MONDAY', 'a day name that is not three letters'],
      ['0 2 L * *', "Quartz's last day of the month"],
      ['0 2 * * 1#2', "Quartz's nth weekday"],
      ['@DAILY', 'a macro in capitals'],
      ['0 2 * *', 'four fields'],
      ['0 2 * * * *', 'six fields'],
    ];
    refused.forEach(([schedule, what], i) => {
      it(`refuses ${JSON.stringify(schedule)} (${what}), which the CronJob refuses too`, async function () {
        const result = await create(withSchedule(`schedule-bad-${i}`, schedule));
        expect(result, 'accepted').to.be.instanceOf(KubeError);
        expect((result as KubeError).status).to.equal(422);
        expect((result as KubeError).message).to.include('spec.backup.schedule must be a cron expression with 5 fields');
        const refusal = await cronJobRefusal(defaultAuthService(withSchedule(`schedule-bad-${i}`, schedule)));
        expect(refusal?.status, 'the CronJob was accepted').to.equal(422);
      });
    });

    it('refuses, on purpose, forms only the CronJob’s parser takes: @every, an empty list item, a tab, three digits, a leading space', async function () {
      for (const [i, schedule] of ['@every 5m', '0,,30 * * * *', '0\t2 * * *', '005 * * * *', ' 0 2 * * *'].entries()) {
        const result = await create(withSchedule(`schedule-odd-${i}`, schedule), { dryRun: true });
        expect(result, JSON.stringify(schedule)).to.be.instanceOf(KubeError);
      }
    });

    it('agrees with the CronJob on 400 generated schedules, each field in and out of its bounds', async function () {
      // Fields made of the pieces both parsers know, values from 0 to 99 (one digit
      // padded now and then), names, steps from 0: whatever one takes the other must.
      // Forms only the CronJob's parser takes (empty list items, 3-digit numbers,
      // tabs, '*-5') are left out: the rule refuses them on purpose. Seeded, so a
      // failure repeats.
      let seed = 20261129;
      const random = () => { // mulberry32
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
      };
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      // [min, max, names from min on]
      const bounds: Array<[number, number, readonly string[]]> = [
        [0, 59, []], [0, 23, []], [1, 31, []],
        [1, 12, ['JAN', 'feb', 'Mar', 'APR', 'may', 'JUN', 'jul', 'AUG', 'sep', 'OCT', 'nov', 'DEC']],
        [0, 6, ['SUN', 'mon', 'Tue', 'WED', 'thu', 'FRI', 'sat']],
      ];
      const number = ([min, max]: [number, number, readonly string[]]) =>
        random() < 0.96 ? min + Math.floor(random() * (max - min + 1)) : Math.floor(random() * 100);
      const value = (field: [number, number, readonly string[]], n = number(field)) => {
        const names = field[2];
        if (names.length > 0 && random() < 0.25) return names[n - field[0]] ?? String(n);
        return n < 10 && random() < 0.2 ? `0${n}` : String(n);
      };
      const item = (field: [number, number, readonly string[]]) => {
        const r = random();
        let base = r < 0.15 ? '*' : r < 0.2 ? '?' : value(field);
        if (r >= 0.55) {
          // Low to high most of the time, high to low now and then.
          const [a, b] = [number(field), number(field)];
          base = `${value(field, random() < 0.85 ? Math.min(a, b) : Math.max(a, b))}-${value(field, random() < 0.85 ? Math.max(a, b) : Math.min(a, b))}`;
        }
        return random() < 0.3 ? `${base}/${pick(['0', '00', '1', '2', '05', '7', '15', '30', '60', '99', '3', '10'])}` : base;
      };
      const schedules = Array.from({ length: 400 }, () =>
        bounds.map((field) => Array.from({ length: random() < 0.6 ? 1 : 2 + Math.floor(random() * 2) }, () => item(field)).join(',')).join(' '));
      let stored = 0;
      for (const [i, schedule] of schedules.entries()) {
        const input = withSchedule(`generated-${i}`, schedule);
        const auth = await create(input, { dryRun: true });
        const cronJob = await cronJobRefusal(defaultAuthService(input));
        const seen = `AuthService ${auth instanceof KubeError ? 'refused' : 'stored'}, CronJob ${cronJob ? `refused (${cronJob.message})` : 'accepted'}`;
        expect(auth instanceof KubeError, `${JSON.stringify(schedule)}: ${seen}`).to.equal(cronJob !== undefined);
        if (!(auth instanceof KubeError)) stored += 1;
      }
      // Both answers must have come up often enough to mean something.
      expect(stored, 'schedules stored').to.be.within(80, 320);
    });
  });

  it('stores every form of trustProxy the service accepts, and the service accepts each', async function () {
    const forms = ['false', '0', '2', 'loopback', 'loopback, linklocal,uniquelocal', '10.0.0.0/8', '192.168.1.10', 'fd00::/8', '::1', '::', '1:2:3:4:5:6:7:8', '2001:db8::1/128, 10.1.2.3'];
    for (const [i, form] of forms.entries()) {
      expect(() => loadConfig({ TRUST_PROXY: form }), form).to.not.throw();
      const input = loginInput();
      input.metadata.name = `trust-${i}`;
      input.spec.trustProxy = form;
      const result = await create(input);
      expect(result, `${form}: ${result instanceof KubeError ? result.message : ''}`).to.not.be.instanceOf(KubeError);
    }
  });

  it('lets kubectl list AuthServices by short name and in category all, with the Active, Image, Ready, Phase and Age columns', async function () {
    const input = loginInput();
    input.metadata.name = 'columns';
    expect(await create(input)).not.to.be.instanceOf(KubeError);
    await client.mergePatch(`${path('columns')}/status`, {
      status: { activeColor: 'blue', activeImage: input.spec.image, readyText: '3/3', phase: 'Healthy', activeRevision: '7c9f3a1b2d' },
    });
    const kubectl = (...args: string[]) => execFileSync(locateKubectl(), ['--kubeconfig', kubeconfig, '-n', namespace, ...args], { encoding: 'utf8' });
    const table = kubectl('get', 'authsvc', 'columns');
    const [header, row] = table.trim().split('\n');
    expect(header?.split(/\s+/)).to.deep.equal(['NAME', 'ACTIVE', 'IMAGE', 'READY', 'PHASE', 'AGE']);
    expect(row?.split(/\s+/).slice(0, 5)).to.deep.equal(['columns', 'blue', 'registry.example/keyward-service:1.4.0', '3/3', 'Healthy']);
    expect(kubectl('get', 'authsvc', 'columns', '-o', 'wide').split('\n')[0]).to.match(/REVISION\s+PREVIEW/);
    expect(kubectl('get', 'all')).to.include('authservice.auth.keyward.dev/columns');
  });

  it('keeps status out of spec writes: the status subresource is separate', async function () {
    const input = loginInput();
    input.metadata.name = 'status-sub';
    const stored = (await create({ ...input, status: { phase: 'Healthy' } } as AuthServiceInput)) as AuthService;
    expect(stored.status).to.equal(undefined);
  });
});
