// The defaults of crds/authservice.yaml, applied without an API server (for
// `render -f` and for tests). test/operator/api/defaults.test.ts applies the
// CRD's own `default:` values the way the API server does and compares, so the
// two cannot drift.
import type {
  Analysis,
  AuthService,
  AuthServiceInput,
  AuthServiceSpec,
  AuthServiceSpecInput,
  Backup,
  DeepPartial,
  Mfa,
  NamespaceSelector,
  SecretKeyRef,
} from './types.js';

/** Thrown when a field that the CRD requires (and has no default) is missing. */
export class MissingFieldError extends TypeError {
  constructor(readonly path: string) {
    super(`${path} is required`);
    this.name = 'MissingFieldError';
  }
}

function required<T>(value: T | undefined | null, path: string): T {
  if (value === undefined || value === null) throw new MissingFieldError(path);
  return value;
}

/** Keeps only the keys whose value is defined, so an absent optional field stays absent. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function secretKeyRef(ref: DeepPartial<SecretKeyRef> | undefined, path: string, key: string): SecretKeyRef {
  const given = required(ref, path);
  return { name: required(given.name, `${path}.name`), key: given.key ?? key };
}

function namespaceSelector(
  selector: DeepPartial<NamespaceSelector> | undefined,
  namespace: string,
): NamespaceSelector {
  if (selector === undefined) return { matchLabels: { 'kubernetes.io/metadata.name': namespace } };
  return defined({ matchLabels: selector.matchLabels as Record<string, string> | undefined });
}

function analysis(given: DeepPartial<Analysis> | undefined, path: string, intervalSeconds: number): Analysis {
  const a = given ?? {};
  const http = a.httpGet ?? {};
  const jsonField = http.jsonField;
  const prometheus = a.prometheus;
  return defined({
    httpGet: defined({
      path: http.path ?? '/health',
      port: http.port ?? 80,
      expectedStatus: http.expectedStatus ?? 200,
      jsonField:
        jsonField === undefined
          ? undefined
          : {
              path: required(jsonField.path, `${path}.httpGet.jsonField.path`),
              equals: required(jsonField.equals, `${path}.httpGet.jsonField.equals`),
            },
    }),
    prometheus:
      prometheus === undefined
        ? undefined
        : {
            address: required(prometheus.address, `${path}.prometheus.address`),
            query: required(prometheus.query, `${path}.prometheus.query`),
            successCondition: required(prometheus.successCondition, `${path}.prometheus.successCondition`),
          },
    count: a.count ?? 3,
    intervalSeconds: a.intervalSeconds ?? intervalSeconds,
    failureLimit: a.failureLimit ?? 0,
    timeoutSeconds: a.timeoutSeconds ?? 5,
  });
}

function mfa(given: DeepPartial<Mfa> | undefined): Mfa | undefined {
  if (given === undefined) return undefined;
  const keys = given.encryptionKeySecretRef;
  return defined({
    encryptionKeySecretRef:
      keys === undefined
        ? undefined
        : {
            name: required(keys.name, 'spec.mfa.encryptionKeySecretRef.name'),
            key: keys.key ?? 'totp-encryption-key',
            previousKeysKey: keys.previousKeysKey ?? 'totp-previous-encryption-keys',
          },
  });
}

function backup(given: DeepPartial<Backup> | undefined): Backup | undefined {
  if (given === undefined) return undefined;
  const s3 = given.s3;
  const key = given.encryptionKeySecretRef;
  return defined({
    enabled: given.enabled ?? true,
    image: given.image,
    schedule: given.schedule ?? '0 2 * * *',
    timeZone: given.timeZone ?? 'UTC',
    retentionDays: given.retentionDays ?? 30,
    s3:
      s3 === undefined
        ? undefined
        : defined({
            bucket: required(s3.bucket, 'spec.backup.s3.bucket'),
            prefix: s3.prefix ?? 'postgresql/',
            endpoint: s3.endpoint,
            region: s3.region,
            storageClass: s3.storageClass ?? 'STANDARD_IA',
            credentialsSecretRef:
              s3.credentialsSecretRef === undefined
                ? undefined
                : { name: required(s3.credentialsSecretRef.name, 'spec.backup.s3.credentialsSecretRef.name') },
          }),
    encryptionKeySecretRef:
      key === undefined ? undefined : secretKeyRef(key, 'spec.backup.encryptionKeySecretRef', 'encryption.key'),
  });
}

/**
 * The spec as the API server would store it: every CRD default filled in.
 * Does not validate beyond the presence of required fields (MissingFieldError).
 */
export function withDefaults(spec: AuthServiceSpecInput): AuthServiceSpec {
  const resources = spec.resources ?? {};
  const database = required(spec.database, 'spec.database');
  const pool = database.pool ?? {};
  const jwt = required(spec.jwt, 'spec.jwt');
  const keys = required(jwt.keysSecretRef, 'spec.jwt.keysSecretRef');
  const autoscaling = spec.autoscaling ?? {};
  const vpa = spec.verticalAutoscaling ?? {};
  const netpol = spec.networkPolicy ?? {};
  const monitoring = spec.monitoring ?? {};
  const serviceMonitor = monitoring.serviceMonitor ?? {};
  const prometheusRule = monitoring.prometheusRule ?? {};
  const rollout = spec.rollout ?? {};

  return defined({
    image: required(spec.image, 'spec.image'),
    replicas: spec.replicas ?? 3,
    port: spec.port ?? 8090,
    resources: {
      requests: { cpu: resources.requests?.cpu ?? '100m', memory: resources.requests?.memory ?? '64Mi' },
      limits: { cpu: resources.limits?.cpu ?? '500m', memory: resources.limits?.memory ?? '256Mi' },
    },
    trustProxy: spec.trustProxy ?? 'uniquelocal',
    logLevel: spec.logLevel ?? 'info',
    database: {
      urlSecretRef: secretKeyRef(database.urlSecretRef, 'spec.database.urlSecretRef', 'url'),
      pool: {
        max: pool.max ?? 20,
        min: pool.min ?? 5,
        connectionTimeoutSeconds: pool.connectionTimeoutSeconds ?? 30,
        idleTimeoutSeconds: pool.idleTimeoutSeconds ?? 300,
        maxLifetimeSeconds: pool.maxLifetimeSeconds ?? 1800,
      },
    },
    redis:
      spec.redis === undefined
        ? undefined
        : { urlSecretRef: secretKeyRef(spec.redis.urlSecretRef, 'spec.redis.urlSecretRef', 'url') },
    jwt: defined({
      keysSecretRef: {
        name: required(keys.name, 'spec.jwt.keysSecretRef.name'),
        signingKey: keys.signingKey ?? 'signing-key.pem',
        verificationKeys: keys.verificationKeys ?? 'verification-keys.pem',
        secret: keys.secret ?? 'jwt-secret',
        previousSecrets: keys.previousSecrets ?? 'previous-jwt-secrets',
      },
      algorithm: jwt.algorithm ?? 'ES256',
      accessTokenTTLSeconds: jwt.accessTokenTTLSeconds ?? 900,
      refreshTokenTTLSeconds: jwt.refreshTokenTTLSeconds ?? 2592000,
      issuer: jwt.issuer,
      audience: jwt.audience,
    }),
    email:
      spec.email === undefined
        ? undefined
        : defined({
            smtpSecretRef: secretKeyRef(spec.email.smtpSecretRef, 'spec.email.smtpSecretRef', 'url'),
            from: required(spec.email.from, 'spec.email.from'),
            appUrl: spec.email.appUrl,
            requireVerification: spec.email.requireVerification ?? false,
          }),
    // No defaults here: the service's own apply, and a field left out keeps the pod template, so the
    // revision, of every AuthService written before the field existed.
    retention: spec.retention === undefined ? undefined : defined({ ...spec.retention }),
    mfa: mfa(spec.mfa),
    autoscaling: {
      enabled: autoscaling.enabled ?? true,
      minReplicas: autoscaling.minReplicas ?? 3,
      maxReplicas: autoscaling.maxReplicas ?? 50,
      targetCPUUtilizationPercentage: autoscaling.targetCPUUtilizationPercentage ?? 70,
      targetMemoryUtilizationPercentage: autoscaling.targetMemoryUtilizationPercentage ?? 80,
      requestsPerSecondPerPod: autoscaling.requestsPerSecondPerPod ?? 100,
    },
    verticalAutoscaling: {
      enabled: vpa.enabled ?? false,
      updateMode: vpa.updateMode ?? 'Auto',
      minAllowed: { cpu: vpa.minAllowed?.cpu ?? '50m', memory: vpa.minAllowed?.memory ?? '32Mi' },
      maxAllowed: { cpu: vpa.maxAllowed?.cpu ?? '1', memory: vpa.maxAllowed?.memory ?? '512Mi' },
    },
    networkPolicy: defined({
      enabled: netpol.enabled ?? true,
      ingressNamespaceSelector: namespaceSelector(netpol.ingressNamespaceSelector, 'ingress-nginx'),
      monitoringNamespaceSelector: namespaceSelector(netpol.monitoringNamespaceSelector, 'monitoring'),
      operatorNamespaceSelector: namespaceSelector(netpol.operatorNamespaceSelector, 'keyward-system'),
      additionalEgressPorts: netpol.additionalEgressPorts?.map((p, i) => ({
        port: required(p.port, `spec.networkPolicy.additionalEgressPorts[${i}].port`),
        protocol: p.protocol ?? 'TCP',
      })),
    }),
    monitoring: defined({
      labels: monitoring.labels as Record<string, string> | undefined,
      serviceMonitor: {
        enabled: serviceMonitor.enabled ?? true,
        interval: serviceMonitor.interval ?? '30s',
        scrapeTimeout: serviceMonitor.scrapeTimeout ?? '10s',
      },
      prometheusRule: defined({
        enabled: prometheusRule.enabled ?? true,
        runbookBaseURL: prometheusRule.runbookBaseURL,
      }),
    }),
    backup: backup(spec.backup),
    rollout: defined({
      autoPromotion: rollout.autoPromotion ?? true,
      autoPromotionSeconds: rollout.autoPromotionSeconds ?? 0,
      progressDeadlineSeconds: rollout.progressDeadlineSeconds ?? 600,
      scaleDownDelaySeconds: rollout.scaleDownDelaySeconds ?? 30,
      // Opt-in: the guide checks the new colour, flips, then checks again 10 s later.
      prePromotionAnalysis: rollout.prePromotionAnalysis && analysis(rollout.prePromotionAnalysis, 'spec.rollout.prePromotionAnalysis', 5),
      postPromotionAnalysis: rollout.postPromotionAnalysis && analysis(rollout.postPromotionAnalysis, 'spec.rollout.postPromotionAnalysis', 10),
    }),
  });
}

/** An AuthService read from a manifest, with its spec defaulted as the API server would. */
export function defaultAuthService(input: AuthServiceInput): AuthService {
  const { spec, ...rest } = input;
  return { ...rest, spec: withDefaults(spec) };
}
