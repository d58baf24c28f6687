// AuthServices for the tests: the smallest one a person would write, and one
// that sets every field of the schema (to values other than the defaults), so a
// test over it exercises every branch of the builders.
import { defaultAuthService } from '../../../operator/api/defaults.js';
import type { AuthService, AuthServiceInput } from '../../../operator/api/types.js';

export const UID = '6f1c1d2e-9a43-4b7e-8f0a-0c2d3e4f5a6b';

/** `login` in `auth-service`, with only what the CRD requires; the guide's defaults do the rest. */
export function loginInput(): AuthServiceInput {
  return {
    apiVersion: 'auth.keyward.dev/v1alpha1',
    kind: 'AuthService',
    metadata: { name: 'login', namespace: 'auth-service', uid: UID, generation: 1 },
    spec: {
      image: 'registry.example/keyward-service:1.4.0',
      database: { urlSecretRef: { name: 'auth-db' } },
      jwt: { keysSecretRef: { name: 'auth-jwt' } },
    },
  };
}

/** loginInput() as the API server stores it (defaults applied). */
export function login(): AuthService {
  return defaultAuthService(loginInput());
}

/** Every field of spec and status set, none to its default. */
export function everyField(): AuthService {
  return {
    apiVersion: 'auth.keyward.dev/v1alpha1',
    kind: 'AuthService',
    metadata: { name: 'login', namespace: 'auth-service', uid: UID, generation: 4 },
    spec: {
      image: 'registry.example/keyward-service:1.5.0',
      replicas: 4,
      port: 9000,
      resources: { requests: { cpu: '200m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
      trustProxy: '10.0.0.0/8',
      logLevel: 'warn',
      database: {
        urlSecretRef: { name: 'auth-db', key: 'dsn' },
        pool: { max: 40, min: 10, connectionTimeoutSeconds: 10, idleTimeoutSeconds: 600, maxLifetimeSeconds: 3600 },
      },
      redis: { urlSecretRef: { name: 'auth-redis', key: 'redis-url' } },
      jwt: {
        keysSecretRef: { name: 'auth-jwt', signingKey: 'private.pem', verificationKeys: 'public.pem', secret: 'hmac', previousSecrets: 'hmac-previous' },
        algorithm: 'HS256',
        accessTokenTTLSeconds: 600,
        refreshTokenTTLSeconds: 86400,
        issuer: 'https://auth.example.com',
        audience: 'example-apps',
      },
      email: {
        smtpSecretRef: { name: 'auth-smtp', key: 'smtp-url' },
        from: 'no-reply@example.com',
        appUrl: 'https://app.example.com/account',
        requireVerification: true,
      },
      retention: { intervalSeconds: 600, sessionDays: 7, securityEventDays: 0 },
      mfa: { encryptionKeySecretRef: { name: 'auth-totp', key: 'totp-key', previousKeysKey: 'totp-previous-keys' } },
      autoscaling: {
        enabled: true,
        minReplicas: 4,
        maxReplicas: 20,
        targetCPUUtilizationPercentage: 60,
        targetMemoryUtilizationPercentage: 75,
        requestsPerSecondPerPod: 150,
      },
      verticalAutoscaling: {
        enabled: true,
        updateMode: 'Initial',
        minAllowed: { cpu: '100m', memory: '64Mi' },
        maxAllowed: { cpu: '2', memory: '1Gi' },
      },
      networkPolicy: {
        enabled: true,
        ingressNamespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'traefik' } },
        monitoringNamespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } },
        operatorNamespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keyward' } },
        additionalEgressPorts: [{ port: 587, protocol: 'TCP' }],
      },
      monitoring: {
        labels: { release: 'kube-prometheus-stack' },
        serviceMonitor: { enabled: true, interval: '15s', scrapeTimeout: '5s' },
        prometheusRule: { enabled: true, runbookBaseURL: 'https://runbooks.example.com/keyward' },
      },
      backup: {
        enabled: true,
        image: 'registry.example/backup-tools:2.1.0',
        schedule: '30 3 * * *',
        timeZone: 'Europe/Berlin',
        retentionDays: 14,
        s3: {
          bucket: 'auth-service-backups',
          prefix: 'login/',
          endpoint: 'https://s3.example.com',
          region: 'eu-central-1',
          storageClass: 'STANDARD',
          credentialsSecretRef: { name: 'backup-creds' },
        },
        encryptionKeySecretRef: { name: 'backup-key', key: 'passphrase' },
      },
      rollout: {
        autoPromotion: false,
        autoPromotionSeconds: 60,
        progressDeadlineSeconds: 300,
        scaleDownDelaySeconds: 120,
        prePromotionAnalysis: {
          httpGet: { path: '/health/ready', port: 80, expectedStatus: 204, jsonField: { path: 'status', equals: 'healthy' } },
          prometheus: {
            address: 'http://prometheus.monitoring:9090',
            query: 'sum(rate(http_requests_total{status=~"5.."}[1m]))',
            successCondition: 'result < 0.1',
          },
          count: 5,
          intervalSeconds: 2,
          failureLimit: 1,
          timeoutSeconds: 3,
        },
        postPromotionAnalysis: {
          httpGet: { path: '/health/ready', port: 80, expectedStatus: 204, jsonField: { path: 'checks.database.status', equals: 'healthy' } },
          prometheus: {
            address: 'http://prometheus.monitoring:9090',
            query: 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))',
            successCondition: 'result <= 1',
          },
          count: 6,
          intervalSeconds: 20,
          failureLimit: 2,
          timeoutSeconds: 4,
        },
      },
    },
    status: {
      observedGeneration: 4,
      phase: 'Progressing',
      activeColor: 'blue',
      activeRevision: '7c9f3a1b2d',
      activeImage: 'registry.example/keyward-service:1.4.0',
      previewColor: 'green',
      previewRevision: '1e2d3c4b5a',
      replicas: 4,
      readyReplicas: 4,
      readyText: '4/4',
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'ActiveColourAvailable',
          message: 'blue serves 4/4 ready replicas',
          observedGeneration: 4,
          lastTransitionTime: '2025-11-28T14:00:00Z',
        },
      ],
      rollout: { step: 'PrePromotionAnalysis' },
    },
  };
}
