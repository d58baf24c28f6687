import type { V1Container, V1Deployment, V1EnvVar } from '@kubernetes/client-node';
import { expect } from 'chai';
import { defaultAuthService } from '../../../operator/api/defaults.js';
import type { AuthService } from '../../../operator/api/types.js';
import { desiredDeployment, podTemplateHash } from '../../../operator/reconcile/deployment.js';
import { secretsHash, type SecretLike } from '../../../operator/reconcile/secrets.js';
import { everyField, login, loginInput, UID } from '../api/fixtures.js';
import { isRedisKeyPrefix, knownVariables } from '../../../service/config/env.js';

const SECRETS = 'a1b2c3d4e5f6a7b8';

function container(deployment: V1Deployment): V1Container {
  const c = deployment.spec?.template.spec?.containers[0];
  if (!c) throw new Error('no container');
  return c;
}

function env(deployment: V1Deployment): Map<string, V1EnvVar> {
  return new Map((container(deployment).env ?? []).map((e) => [e.name, e]));
}

function withSpec(patch: (auth: AuthService) => void): AuthService {
  const auth = login();
  patch(auth);
  return auth;
}

describe('desiredDeployment', function () {
  const blue = desiredDeployment(login(), 'blue', { replicas: 3, secretsHash: SECRETS });

  it('names the Deployment <name>-<colour> in the AuthService namespace, owned by it', function () {
    expect(blue.apiVersion).to.equal('apps/v1');
    expect(blue.kind).to.equal('Deployment');
    expect(blue.metadata?.name).to.equal('login-blue');
    expect(blue.metadata?.namespace).to.equal('auth-service');
    expect(blue.metadata?.ownerReferences).to.deep.equal([
      { apiVersion: 'auth.keyward.dev/v1alpha1', kind: 'AuthService', name: 'login', uid: UID, controller: true, blockOwnerDeletion: true },
    ]);
    expect(desiredDeployment(login(), 'green', { secretsHash: SECRETS }).metadata?.name).to.equal('login-green');
  });

  it('labels the Deployment and its pods with the standard labels, the colour and the version', function () {
    const revision = podTemplateHash(login(), SECRETS);
    const expected = {
      'app.kubernetes.io/name': 'keyward-auth',
      'app.kubernetes.io/instance': 'login',
      'app.kubernetes.io/component': 'auth-service',
      'app.kubernetes.io/managed-by': 'keyward-operator',
      'app.kubernetes.io/version': '1.4.0',
      'auth.keyward.dev/color': 'blue',
      'auth.keyward.dev/revision': revision,
    };
    expect(blue.metadata?.labels).to.deep.equal(expected);
    expect(blue.spec?.template.metadata?.labels).to.deep.equal(expected);
  });

  it('selects its own colour only, without labels that change between revisions', function () {
    expect(blue.spec?.selector.matchLabels).to.deep.equal({
      'app.kubernetes.io/name': 'keyward-auth',
      'app.kubernetes.io/instance': 'login',
      'app.kubernetes.io/component': 'auth-service',
      'auth.keyward.dev/color': 'blue',
    });
  });

  it('sets the replica count it is given, and leaves it out when the HPA owns it', function () {
    expect(blue.spec?.replicas).to.equal(3);
    expect(desiredDeployment(login(), 'blue', { secretsHash: SECRETS }).spec).not.to.have.property('replicas');
    expect(desiredDeployment(login(), 'green', { replicas: 0, secretsHash: SECRETS }).spec?.replicas).to.equal(0);
  });

  it('gives up on a colour after spec.rollout.progressDeadlineSeconds and never goes below the desired count while updating it', function () {
    expect(blue.spec?.progressDeadlineSeconds).to.equal(600);
    expect(blue.spec?.strategy).to.deep.equal({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } });
  });

  it('runs the pod with the guide’s pod security context', function () {
    expect(blue.spec?.template.spec?.securityContext).to.deep.equal({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('runs the container with the guide’s security context, every capability dropped', function () {
    expect(container(blue).securityContext).to.deep.equal({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 1000,
      capabilities: { drop: ['ALL'] },
    });
    // A read-only root filesystem still needs somewhere to write temporary files.
    expect(container(blue).volumeMounts).to.deep.equal([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(blue.spec?.template.spec?.volumes).to.deep.equal([{ name: 'tmp', emptyDir: {} }]);
  });

  it('uses the ServiceAccount without a token and no service links', function () {
    const pod = blue.spec?.template.spec;
    expect(pod?.serviceAccountName).to.equal('login');
    expect(pod?.automountServiceAccountToken).to.equal(false);
    expect(pod?.enableServiceLinks).to.equal(false);
    expect(pod?.terminationGracePeriodSeconds).to.equal(35);
    // Keep serving while endpoints catch up with the termination, then drain.
    expect(pod?.containers[0]?.lifecycle?.preStop).to.deep.equal({ sleep: { seconds: 5 } });
  });

  it('probes /health/live, /health/ready and /health/startup with the guide’s exact timings', function () {
    const c = container(blue);
    expect(c.livenessProbe).to.deep.equal({
      httpGet: { path: '/health/live', port: 8090, httpHeaders: [{ name: 'Host', value: 'localhost' }] },
      initialDelaySeconds: 30,
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 3,
      successThreshold: 1,
    });
    expect(c.readinessProbe).to.deep.equal({
      httpGet: { path: '/health/ready', port: 8090, httpHeaders: [{ name: 'Host', value: 'localhost' }] },
      initialDelaySeconds: 5,
      periodSeconds: 5,
      timeoutSeconds: 3,
      failureThreshold: 3,
      successThreshold: 1,
    });
    expect(c.startupProbe).to.deep.equal({
      httpGet: { path: '/health/startup', port: 8090 },
      initialDelaySeconds: 10,
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 30,
      successThreshold: 1,
    });
  });

  it('probes and exposes spec.port when it is not the default', function () {
    const c = container(desiredDeployment(everyField(), 'blue', { secretsHash: SECRETS }));
    expect(c.ports).to.deep.equal([{ name: 'http', containerPort: 9000, protocol: 'TCP' }]);
    expect(c.livenessProbe?.httpGet?.port).to.equal(9000);
    expect(c.readinessProbe?.httpGet?.port).to.equal(9000);
    expect(c.startupProbe?.httpGet?.port).to.equal(9000);
  });

  it('requests 100m CPU and 64Mi, limited to 500m and 256Mi, as the guide starts', function () {
    expect(container(blue).resources).to.deep.equal({
      requests: { cpu: '100m', memory: '64Mi' },
      limits: { cpu: '500m', memory: '256Mi' },
    });
  });

  it('runs the image of the spec in the container the guide calls auth-service', function () {
    expect(container(blue).name).to.equal('auth-service');
    expect(container(blue).image).to.equal('registry.example/keyward-service:1.4.0');
  });

  describe('environment', function () {
    it('configures the service for production from the spec, with the guide’s pool defaults', function () {
      const vars = env(blue);
      const values = Object.fromEntries([...vars].filter(([, e]) => e.value !== undefined).map(([n, e]) => [n, e.value]));
      expect(values).to.deep.equal({
        NODE_ENV: 'production',
        PORT: '8090',
        LOG_LEVEL: 'info',
        TRUST_PROXY: 'uniquelocal',
        DATABASE_MAX_CONNECTIONS: '20',
        DATABASE_MIN_CONNECTIONS: '5',
        DATABASE_CONNECTION_TIMEOUT_SECONDS: '30',
        DATABASE_IDLE_TIMEOUT_SECONDS: '300',
        DATABASE_MAX_LIFETIME_SECONDS: '1800',
        JWT_ALGORITHM: 'ES256',
        ACCESS_TOKEN_TTL_SECONDS: '900',
        REFRESH_TOKEN_TTL_SECONDS: '2592000',
      });
    });

    it('reads the database URL and the ES256 keys from the Secrets, never from the spec', function () {
      const vars = env(blue);
      expect(vars.get('DATABASE_URL')?.valueFrom).to.deep.equal({ secretKeyRef: { name: 'auth-db', key: 'url' } });
      expect(vars.get('JWT_SIGNING_KEY')?.valueFrom).to.deep.equal({ secretKeyRef: { name: 'auth-jwt', key: 'signing-key.pem' } });
      expect(vars.get('JWT_VERIFICATION_KEYS')?.valueFrom).to.deep.equal({
        secretKeyRef: { name: 'auth-jwt', key: 'verification-keys.pem', optional: true },
      });
      expect(vars.has('JWT_SECRET')).to.equal(false);
      expect(vars.has('REDIS_URL')).to.equal(false);
      expect(vars.has('REDIS_KEY_PREFIX')).to.equal(false);
      expect(vars.has('SMTP_URL')).to.equal(false);
      expect(vars.has('EMAIL_FROM')).to.equal(false);
      expect(vars.has('JWT_ISSUER')).to.equal(false);
      expect(vars.has('APP_URL')).to.equal(false);
      expect(vars.has('REQUIRE_EMAIL_VERIFICATION')).to.equal(false);
      expect(vars.has('TOTP_ENCRYPTION_KEY')).to.equal(false);
      expect(vars.has('TOTP_PREVIOUS_ENCRYPTION_KEYS')).to.equal(false);
      // The service's retention defaults apply; the pod template of an AuthService from before the field stays.
      for (const name of ['RETENTION_INTERVAL_SECONDS', 'SESSION_RETENTION_DAYS', 'SECURITY_EVENT_RETENTION_DAYS']) expect(vars.has(name), name).to.equal(false);
    });

    it('sets APP_URL only when spec.email.appUrl is given, and REQUIRE_EMAIL_VERIFICATION only when it is on', function () {
      const withEmail = (email: Partial<NonNullable<AuthService['spec']['email']>>) =>
        env(desiredDeployment(withSpec((a) => (a.spec.email = { smtpSecretRef: { name: 'auth-smtp', key: 'url' }, from: 'no-reply@example.com', requireVerification: false, ...email })), 'blue', { secretsHash: SECRETS }));
      const plain = withEmail({});
      expect(plain.get('EMAIL_FROM')?.value).to.equal('no-reply@example.com');
      expect(plain.has('APP_URL')).to.equal(false);
      // Off is the service's default: leaving it out keeps older AuthServices at their revision.
      expect(plain.has('REQUIRE_EMAIL_VERIFICATION')).to.equal(false);
      const set = withEmail({ appUrl: 'http://localhost:3000', requireVerification: true });
      expect(set.get('APP_URL')).to.deep.equal({ name: 'APP_URL', value: 'http://localhost:3000' });
      expect(set.get('REQUIRE_EMAIL_VERIFICATION')).to.deep.equal({ name: 'REQUIRE_EMAIL_VERIFICATION', value: 'true' });
    });

    it('passes every optional setting when the spec has it', function () {
      const vars = env(desiredDeployment(everyField(), 'green', { secretsHash: SECRETS }));
      const secret = (name: string) => vars.get(name)?.valueFrom?.secretKeyRef;
      expect(secret('DATABASE_URL')).to.deep.equal({ name: 'auth-db', key: 'dsn' });
      expect(secret('REDIS_URL')).to.deep.equal({ name: 'auth-redis', key: 'redis-url' });
      // The namespace and name: AuthServices sharing one Redis keep their keys apart.
      expect(vars.get('REDIS_KEY_PREFIX')?.value).to.match(/^keyward:[a-z0-9-]+\/[a-z0-9-]+:$/);
      // The longest namespace (63) and AuthService name (45) the API server allows: a prefix the
      // service refused would crash-loop every pod of an AuthService the API server accepted.
      const longest = everyField();
      longest.metadata.namespace = 'n'.repeat(63);
      longest.metadata.name = 'a'.repeat(45);
      const prefix = env(desiredDeployment(longest, 'green', { secretsHash: SECRETS })).get('REDIS_KEY_PREFIX')?.value ?? '';
      expect(prefix).to.have.length(118);
      expect(isRedisKeyPrefix(prefix), `${prefix} accepted by the service`).to.equal(true);
      expect(secret('JWT_SECRET')).to.deep.equal({ name: 'auth-jwt', key: 'hmac' });
      expect(secret('JWT_PREVIOUS_SECRETS')).to.deep.equal({ name: 'auth-jwt', key: 'hmac-previous', optional: true });
      expect(secret('SMTP_URL')).to.deep.equal({ name: 'auth-smtp', key: 'smtp-url' });
      expect(vars.has('JWT_SIGNING_KEY')).to.equal(false);
      const value = (name: string) => vars.get(name)?.value;
      expect(value('JWT_ALGORITHM')).to.equal('HS256');
      expect(value('JWT_ISSUER')).to.equal('https://auth.example.com');
      expect(value('JWT_AUDIENCE')).to.equal('example-apps');
      expect(value('EMAIL_FROM')).to.equal('no-reply@example.com');
      expect(value('APP_URL')).to.equal('https://app.example.com/account');
      expect(value('REQUIRE_EMAIL_VERIFICATION')).to.equal('true');
      expect(secret('TOTP_ENCRYPTION_KEY')).to.deep.equal({ name: 'auth-totp', key: 'totp-key' });
      expect(secret('TOTP_PREVIOUS_ENCRYPTION_KEYS')).to.deep.equal({ name: 'auth-totp', key: 'totp-previous-keys', optional: true });
      expect(value('LOG_LEVEL')).to.equal('warn');
      expect(value('TRUST_PROXY')).to.equal('10.0.0.0/8');
      expect(value('DATABASE_MAX_CONNECTIONS')).to.equal('40');
      expect(value('ACCESS_TOKEN_TTL_SECONDS')).to.equal('600');
      // 0 is a value ("keep them"), not an absence.
      expect([value('RETENTION_INTERVAL_SECONDS'), value('SESSION_RETENTION_DAYS'), value('SECURITY_EVENT_RETENTION_DAYS')]).to.deep.equal(['600', '7', '0']);
    });

    it('uses only names the service reads, each once', function () {
      // What service/config/env.ts reads, from its own list.
      const known: readonly string[] = knownVariables;
      for (const auth of [login(), everyField()]) {
        const names = (container(desiredDeployment(auth, 'blue', { secretsHash: SECRETS })).env ?? []).map((e) => e.name);
        expect(known, 'unknown variable').to.include.members(names);
        expect(new Set(names).size).to.equal(names.length);
      }
    });
  });

  describe('revision', function () {
    it('carries the Secrets hash on the pod template, so rotating a Secret changes the template', function () {
      expect(blue.spec?.template.metadata?.annotations?.['auth.keyward.dev/secrets-hash']).to.equal(SECRETS);
      const rotated = desiredDeployment(login(), 'blue', { replicas: 3, secretsHash: 'ffffffffffffffff' });
      expect(rotated.spec?.template).not.to.deep.equal(blue.spec?.template);
      expect(podTemplateHash(login(), 'ffffffffffffffff')).not.to.equal(podTemplateHash(login(), SECRETS));
    });

    it('changes when the TOTP encryption key Secret changes: its hash is a new pod template', function () {
      const auth = defaultAuthService({ ...loginInput(), spec: { ...loginInput().spec, mfa: { encryptionKeySecretRef: { name: 'auth-totp' } } } });
      const secrets = (key: string): SecretLike[] => [
        { metadata: { name: 'auth-db' }, data: { url: 'cG9zdGdyZXM6Ly8=' } },
        { metadata: { name: 'auth-totp' }, data: { 'totp-encryption-key': key } },
      ];
      const before = podTemplateHash(auth, secretsHash(auth.spec, secrets('a2V5LTE=')));
      const after = podTemplateHash(auth, secretsHash(auth.spec, secrets('a2V5LTI=')));
      expect(after).not.to.equal(before);
    });

    it('is the same for blue and green, and for any replica count', function () {
      const green = desiredDeployment(login(), 'green', { replicas: 0, secretsHash: SECRETS });
      expect(green.metadata?.labels?.['auth.keyward.dev/revision']).to.equal(blue.metadata?.labels?.['auth.keyward.dev/revision']);
      expect(green.metadata?.labels?.['auth.keyward.dev/revision']).to.equal(podTemplateHash(login(), SECRETS));
    });

    it('is a 10-digit hex hash, the same for a spec written in another key order (hash.test.ts holds the hash itself to key order)', function () {
      const hash = podTemplateHash(login(), SECRETS);
      expect(hash).to.match(/^[0-9a-f]{10}$/);
      const reordered = defaultAuthService({ ...loginInput(), spec: Object.fromEntries(Object.entries(loginInput().spec).reverse()) });
      expect(podTemplateHash(reordered, SECRETS)).to.equal(hash);
    });

    it('changes with anything the pods see: image, port, resources, configuration', function () {
      const base = podTemplateHash(login(), SECRETS);
      const variants = [
        withSpec((a) => (a.spec.image = 'registry.example/keyward-service:1.4.1')),
        withSpec((a) => (a.spec.port = 8091)),
        withSpec((a) => (a.spec.resources.limits.memory = '512Mi')),
        withSpec((a) => (a.spec.logLevel = 'debug')),
        withSpec((a) => (a.spec.database.pool.max = 21)),
        withSpec((a) => (a.spec.jwt.accessTokenTTLSeconds = 600)),
      ];
      for (const variant of variants) expect(podTemplateHash(variant, SECRETS)).not.to.equal(base);
    });

    it('does not change with what the pods do not see: replicas, autoscaling, backups, rollout timings', function () {
      const base = podTemplateHash(login(), SECRETS);
      const variants = [
        withSpec((a) => (a.spec.replicas = 7)),
        withSpec((a) => (a.spec.autoscaling.maxReplicas = 10)),
        withSpec((a) => (a.spec.monitoring.serviceMonitor.interval = '15s')),
        withSpec((a) => (a.spec.rollout.scaleDownDelaySeconds = 300)),
      ];
      for (const variant of variants) expect(podTemplateHash(variant, SECRETS)).to.equal(base);
    });
  });

  it('labels the version with the start of the digest when the image has no tag', function () {
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    const auth = withSpec((a) => (a.spec.image = `registry.example/keyward-service@${digest}`));
    const d = desiredDeployment(auth, 'blue', { secretsHash: SECRETS });
    expect(d.metadata?.labels?.['app.kubernetes.io/version']).to.equal('sha256-0123456789ab');
  });
});
