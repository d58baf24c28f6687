// The blue and green Deployments: the guide's security contexts, probes and
// resources around the auth service container, configured through environment
// variables from the spec and the referenced Secrets.
import type {
  V1Container,
  V1Deployment,
  V1EnvVar,
  V1PodSecurityContext,
  V1PodTemplateSpec,
  V1Probe,
  V1SecurityContext,
} from '@kubernetes/client-node';
import type { AuthService, Colour } from '../api/types.js';
import { stableHash } from './hash.js';
import {
  ANNOTATION_SECRETS_HASH,
  CONTAINER_NAME,
  LABEL_COLOUR,
  LABEL_MANAGED_BY,
  LABEL_REVISION,
  LABEL_VERSION,
  MANAGED_BY,
  colourSelectorLabels,
  commonLabels,
  names,
  objectMeta,
  selectorLabels,
  versionLabel,
} from './meta.js';
import { podSecretReferences } from './secrets.js';

// Guide, "Security Contexts": non-root 1000:1000, RuntimeDefault seccomp.
export const POD_SECURITY_CONTEXT: V1PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: 1000,
  runAsGroup: 1000,
  fsGroup: 1000,
  seccompProfile: { type: 'RuntimeDefault' },
};

// Guide, "Security Contexts", without its NET_BIND_SERVICE ("only if binding to
// privileged ports"): spec.port is at least 1024, so every capability is dropped.
export const CONTAINER_SECURITY_CONTEXT: V1SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: 1000,
  capabilities: { drop: ['ALL'] },
};

// Endpoints are removed from Services and load balancers a few seconds after a
// pod starts terminating; until then new connections still arrive. The preStop
// sleep keeps serving through that window, before SIGTERM starts the drain.
export const PRE_STOP_SLEEP_SECONDS = 5;

// preStop (5 s) + the service's drain (SHUTDOWN_TIMEOUT_SECONDS, 25 s) + 5 s to
// close the pool and Redis before SIGKILL.
export const TERMINATION_GRACE_PERIOD_SECONDS = 35;

/** Guide, "Kubernetes Health Check Configuration", timings verbatim. */
export function probes(port: number): Pick<V1Container, 'livenessProbe' | 'readinessProbe' | 'startupProbe'> {
  const hostHeader = () => [{ name: 'Host', value: 'localhost' }];
  const livenessProbe: V1Probe = {
    httpGet: { path: '/health/live', port, httpHeaders: hostHeader() },
    initialDelaySeconds: 30,
    periodSeconds: 10,
    timeoutSeconds: 5,
    failureThreshold: 3,
    successThreshold: 1,
  };
  const readinessProbe: V1Probe = {
    httpGet: { path: '/health/ready', port, httpHeaders: hostHeader() },
    initialDelaySeconds: 5,
    periodSeconds: 5,
    timeoutSeconds: 3,
    failureThreshold: 3,
    successThreshold: 1,
  };
  const startupProbe: V1Probe = {
    httpGet: { path: '/health/startup', port },
    initialDelaySeconds: 10,
    periodSeconds: 10,
    timeoutSeconds: 5,
    failureThreshold: 30,
    successThreshold: 1,
  };
  return { livenessProbe, readinessProbe, startupProbe };
}

/** The service's configuration (service/config/env.ts reads these names). */
export function environment(auth: AuthService): V1EnvVar[] {
  const { spec } = auth;
  const value = (name: string, v: string | number): V1EnvVar => ({ name, value: String(v) });
  const fromSecrets = new Map<string, V1EnvVar>(
    podSecretReferences(spec).map(({ env, secret, key, optional }) => [
      env,
      { name: env, valueFrom: { secretKeyRef: { name: secret, key, ...(optional ? { optional: true } : {}) } } },
    ]),
  );
  const secret = (name: string): V1EnvVar[] => {
    const ref = fromSecrets.get(name);
    return ref ? [ref] : [];
  };
  const { pool } = spec.database;
  const { jwt, email } = spec;
  return [
    value('NODE_ENV', 'production'),
    value('PORT', spec.port),
    value('LOG_LEVEL', spec.logLevel),
    value('TRUST_PROXY', spec.trustProxy),
    ...secret('DATABASE_URL'),
    value('DATABASE_MAX_CONNECTIONS', pool.max),
    value('DATABASE_MIN_CONNECTIONS', pool.min),
    value('DATABASE_CONNECTION_TIMEOUT_SECONDS', pool.connectionTimeoutSeconds),
    value('DATABASE_IDLE_TIMEOUT_SECONDS', pool.idleTimeoutSeconds),
    value('DATABASE_MAX_LIFETIME_SECONDS', pool.maxLifetimeSeconds),
    ...secret('REDIS_URL'),
    // Several AuthServices may share one Redis: each keeps its caches, lockouts and limits to itself.
    ...(spec.redis ? [value('REDIS_KEY_PREFIX', `keyward:${auth.metadata.namespace}/${auth.metadata.name}:`)] : []),
    value('JWT_ALGORITHM', jwt.algorithm),
    ...secret('JWT_SIGNING_KEY'),
    ...secret('JWT_VERIFICATION_KEYS'),
    ...secret('JWT_SECRET'),
    ...secret('JWT_PREVIOUS_SECRETS'),
    ...(jwt.issuer !== undefined ? [value('JWT_ISSUER', jwt.issuer)] : []),
    ...(jwt.audience !== undefined ? [value('JWT_AUDIENCE', jwt.audience)] : []),
    value('ACCESS_TOKEN_TTL_SECONDS', jwt.accessTokenTTLSeconds),
    value('REFRESH_TOKEN_TTL_SECONDS', jwt.refreshTokenTTLSeconds),
    ...secret('SMTP_URL'),
    ...(email ? [value('EMAIL_FROM', email.from)] : []),
    ...(email?.appUrl !== undefined ? [value('APP_URL', email.appUrl)] : []),
    // Only when on: false is the service's default, and leaving it out keeps the pod
    // template, so the revision, of every AuthService written before the field existed.
    ...(email?.requireVerification ? [value('REQUIRE_EMAIL_VERIFICATION', 'true')] : []),
    ...secret('TOTP_ENCRYPTION_KEY'),
    ...secret('TOTP_PREVIOUS_ENCRYPTION_KEYS'),
    // Only those set, for the same reason as REQUIRE_EMAIL_VERIFICATION above.
    ...(spec.retention?.intervalSeconds !== undefined ? [value('RETENTION_INTERVAL_SECONDS', spec.retention.intervalSeconds)] : []),
    ...(spec.retention?.sessionDays !== undefined ? [value('SESSION_RETENTION_DAYS', spec.retention.sessionDays)] : []),
    ...(spec.retention?.securityEventDays !== undefined ? [value('SECURITY_EVENT_RETENTION_DAYS', spec.retention.securityEventDays)] : []),
  ];
}

/**
 * The pod template without anything colour-specific: what podTemplateHash()
 * hashes, so blue and green running the same spec share a revision.
 */
export function podTemplate(auth: AuthService, secretsHash: string): V1PodTemplateSpec {
  const { spec } = auth;
  const version = versionLabel(spec.image);
  const container: V1Container = {
    name: CONTAINER_NAME,
    image: spec.image,
    imagePullPolicy: 'IfNotPresent',
    ports: [{ name: 'http', containerPort: spec.port, protocol: 'TCP' }],
    env: environment(auth),
    resources: {
      requests: { cpu: spec.resources.requests.cpu, memory: spec.resources.requests.memory },
      limits: { cpu: spec.resources.limits.cpu, memory: spec.resources.limits.memory },
    },
    securityContext: structuredClone(CONTAINER_SECURITY_CONTEXT),
    ...probes(spec.port),
    // The kubelet's own sleep action (no shell or sleep binary needed in the image).
    lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SLEEP_SECONDS } } },
    // readOnlyRootFilesystem: Node and its libraries still want a writable /tmp.
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
  };
  return {
    metadata: {
      labels: {
        ...selectorLabels(auth),
        [LABEL_MANAGED_BY]: MANAGED_BY,
        ...(version ? { [LABEL_VERSION]: version } : {}),
      },
      annotations: {
        [ANNOTATION_SECRETS_HASH]: secretsHash,
        'kubectl.kubernetes.io/default-container': CONTAINER_NAME,
      },
    },
    spec: {
      serviceAccountName: names(auth).stable,
      automountServiceAccountToken: false,
      // The service reads its configuration by name; Docker-link variables for every Service in the namespace are noise.
      enableServiceLinks: false,
      securityContext: structuredClone(POD_SECURITY_CONTEXT),
      terminationGracePeriodSeconds: TERMINATION_GRACE_PERIOD_SECONDS,
      // Soft spread over nodes, so one node drain or failure takes few replicas.
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'kubernetes.io/hostname',
          whenUnsatisfiable: 'ScheduleAnyway',
          labelSelector: { matchLabels: selectorLabels(auth) },
        },
      ],
      containers: [container],
      volumes: [{ name: 'tmp', emptyDir: {} }],
    },
  };
}

/**
 * The revision of a spec plus Secret data: a stable hash of the
 * colour-independent pod template. Differs from status.activeRevision → a
 * blue/green rollout.
 */
export function podTemplateHash(auth: AuthService, secretsHash: string): string {
  return stableHash(podTemplate(auth, secretsHash));
}

export interface DeploymentInputs {
  /** Leave out while the HPA owns the count, so applying does not fight it. */
  replicas?: number;
  /** secretsHash() of the Secrets the pods read. */
  secretsHash: string;
}

/** Deployment `<name>-<colour>` running the AuthService's current spec. */
export function desiredDeployment(auth: AuthService, colour: Colour, inputs: DeploymentInputs): V1Deployment {
  const template = podTemplate(auth, inputs.secretsHash);
  const revision = stableHash(template);
  const version = versionLabel(auth.spec.image);
  const labels = {
    ...commonLabels(auth),
    [LABEL_COLOUR]: colour,
    [LABEL_REVISION]: revision,
    ...(version ? { [LABEL_VERSION]: version } : {}),
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(auth, names(auth).colour(colour), labels),
    spec: {
      ...(inputs.replicas !== undefined ? { replicas: inputs.replicas } : {}),
      selector: { matchLabels: colourSelectorLabels(auth, colour) },
      // A colour is brought up whole before traffic reaches it; within a colour,
      // never go below the desired count.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      progressDeadlineSeconds: auth.spec.rollout.progressDeadlineSeconds,
      revisionHistoryLimit: 3,
      template: {
        ...template,
        metadata: {
          ...template.metadata,
          labels: { ...template.metadata?.labels, [LABEL_COLOUR]: colour, [LABEL_REVISION]: revision },
        },
      },
    },
  };
}
