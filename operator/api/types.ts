// TypeScript view of crds/authservice.yaml, the one source of truth for the schema.
//
// These are the shapes the API server hands back, i.e. after defaulting: a field
// is required here exactly when the schema requires it or gives it a default.
// What a person writes (fewer fields) is AuthServiceSpecInput; withDefaults()
// turns one into the other. test/operator/api/types.test.ts walks these types
// with the TypeScript checker and fails when a path, an optional marker, a
// scalar type or an enum differs from the CRD.
import type { V1ObjectMeta } from '@kubernetes/client-node';

export const GROUP = 'auth.keyward.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'AuthService';
export const PLURAL = 'authservices';

export const COLOURS = ['blue', 'green'] as const;
export type Colour = (typeof COLOURS)[number];

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const JWT_ALGORITHMS = ['ES256', 'HS256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export const VPA_UPDATE_MODES = ['Off', 'Initial', 'Recreate', 'Auto', 'InPlaceOrRecreate'] as const;
export type VpaUpdateMode = (typeof VPA_UPDATE_MODES)[number];

export const NETWORK_PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type NetworkProtocol = (typeof NETWORK_PROTOCOLS)[number];

export const S3_STORAGE_CLASSES = [
  'STANDARD',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'REDUCED_REDUNDANCY',
] as const;
export type S3StorageClass = (typeof S3_STORAGE_CLASSES)[number];

export const PHASES = ['Pending', 'Progressing', 'Paused', 'Healthy', 'Degraded'] as const;
export type Phase = (typeof PHASES)[number];

export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;
export type ConditionStatus = (typeof CONDITION_STATUSES)[number];

/** A Kubernetes quantity string such as "100m" or "64Mi". */
export type Quantity = string;

/** A key in a Secret of the AuthService's namespace. */
export interface SecretKeyRef {
  name: string;
  key: string;
}

/** A whole Secret of the AuthService's namespace. */
export interface SecretRef {
  name: string;
}

export interface CpuMemory {
  cpu: Quantity;
  memory: Quantity;
}

export interface Resources {
  requests: CpuMemory;
  limits: CpuMemory;
}

/** The guide's DatabaseConfig. */
export interface DatabasePool {
  max: number;
  min: number;
  connectionTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  maxLifetimeSeconds: number;
}

export interface Database {
  urlSecretRef: SecretKeyRef;
  pool: DatabasePool;
}

export interface Redis {
  urlSecretRef: SecretKeyRef;
}

/** Each field but name is the key inside the Secret that holds that item. */
export interface JwtKeysSecretRef {
  name: string;
  signingKey: string;
  verificationKeys: string;
  secret: string;
  previousSecrets: string;
}

export interface Jwt {
  keysSecretRef: JwtKeysSecretRef;
  algorithm: JwtAlgorithm;
  accessTokenTTLSeconds: number;
  refreshTokenTTLSeconds: number;
  issuer?: string;
  audience?: string;
}

export interface Email {
  smtpSecretRef: SecretKeyRef;
  from: string;
  /** Base of the links in verification and reset mail (APP_URL): the app's pages, which post the token to the API. Absent: http://localhost:<port>, which no user can open. */
  appUrl?: string;
  /** REQUIRE_EMAIL_VERIFICATION: login waits until the address is verified. */
  requireVerification: boolean;
}

/** The service's retention purge; a field left out keeps the service's default. */
export interface Retention {
  /** RETENTION_INTERVAL_SECONDS; 0 turns the purge off. */
  intervalSeconds?: number;
  /** SESSION_RETENTION_DAYS. */
  sessionDays?: number;
  /** SECURITY_EVENT_RETENTION_DAYS; 0 keeps them. */
  securityEventDays?: number;
}

/** Each field but name is the key inside the Secret that holds that item. */
export interface TotpEncryptionKeySecretRef {
  name: string;
  key: string;
  previousKeysKey: string;
}

/** The TOTP second factor. */
export interface Mfa {
  /** Absent: TOTP_ENCRYPTION_KEY is not set, and in production the service turns TOTP off. */
  encryptionKeySecretRef?: TotpEncryptionKeySecretRef;
}

export interface Autoscaling {
  enabled: boolean;
  minReplicas: number;
  maxReplicas: number;
  targetCPUUtilizationPercentage: number;
  targetMemoryUtilizationPercentage: number;
  /** 0 leaves the http_requests_per_second pods metric out. */
  requestsPerSecondPerPod: number;
}

export interface VerticalAutoscaling {
  enabled: boolean;
  updateMode: VpaUpdateMode;
  minAllowed: CpuMemory;
  maxAllowed: CpuMemory;
}

export interface NamespaceSelector {
  matchLabels?: Record<string, string>;
}

export interface EgressPort {
  port: number;
  protocol: NetworkProtocol;
}

export interface NetworkPolicy {
  enabled: boolean;
  ingressNamespaceSelector: NamespaceSelector;
  monitoringNamespaceSelector: NamespaceSelector;
  operatorNamespaceSelector: NamespaceSelector;
  additionalEgressPorts?: EgressPort[];
}

export interface ServiceMonitorSettings {
  enabled: boolean;
  interval: string;
  scrapeTimeout: string;
}

export interface PrometheusRuleSettings {
  enabled: boolean;
  runbookBaseURL?: string;
}

export interface Monitoring {
  labels?: Record<string, string>;
  serviceMonitor: ServiceMonitorSettings;
  prometheusRule: PrometheusRuleSettings;
}

export interface BackupS3 {
  bucket: string;
  prefix: string;
  endpoint?: string;
  region?: string;
  storageClass: S3StorageClass;
  credentialsSecretRef?: SecretRef;
}

export interface Backup {
  enabled: boolean;
  image?: string;
  schedule: string;
  timeZone: string;
  retentionDays: number;
  s3?: BackupS3;
  encryptionKeySecretRef?: SecretKeyRef;
}

export interface HttpGetCheck {
  path: string;
  port: number;
  expectedStatus: number;
  jsonField?: { path: string; equals: string };
}

export interface PrometheusCheck {
  address: string;
  query: string;
  /** "result <op> <number>", op one of < <= > >= == != */
  successCondition: string;
}

export interface Analysis {
  httpGet: HttpGetCheck;
  prometheus?: PrometheusCheck;
  count: number;
  intervalSeconds: number;
  failureLimit: number;
  timeoutSeconds: number;
}

export interface Rollout {
  autoPromotion: boolean;
  autoPromotionSeconds: number;
  progressDeadlineSeconds: number;
  scaleDownDelaySeconds: number;
  /** Absent: gate on availability alone (which includes the readiness probe). */
  prePromotionAnalysis?: Analysis;
  postPromotionAnalysis?: Analysis;
}

export interface AuthServiceSpec {
  image: string;
  replicas: number;
  port: number;
  resources: Resources;
  /** Express "trust proxy" (TRUST_PROXY). */
  trustProxy: string;
  logLevel: LogLevel;
  database: Database;
  redis?: Redis;
  jwt: Jwt;
  email?: Email;
  retention?: Retention;
  mfa?: Mfa;
  autoscaling: Autoscaling;
  verticalAutoscaling: VerticalAutoscaling;
  networkPolicy: NetworkPolicy;
  monitoring: Monitoring;
  backup?: Backup;
  rollout: Rollout;
}

/** metav1.Condition as JSON (timestamps are RFC 3339 strings). */
export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export interface AuthServiceStatus {
  observedGeneration?: number;
  phase?: Phase;
  activeColor?: Colour;
  activeRevision?: string;
  activeImage?: string;
  previewColor?: Colour;
  previewRevision?: string;
  replicas?: number;
  readyReplicas?: number;
  /** "readyReplicas/replicas", for the Ready printer column. */
  readyText?: string;
  conditions?: Condition[];
  /** Owned by the blue/green engine, which narrows it; the schema keeps it open. */
  rollout?: Record<string, unknown>;
}

export interface AuthService {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: V1ObjectMeta;
  spec: AuthServiceSpec;
  status?: AuthServiceStatus;
}

/** Every field optional, as in a manifest before the API server defaults it. */
export type DeepPartial<T> = T extends (infer E)[]
  ? DeepPartial<E>[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** A spec as written; required fields without defaults are still expected (the CRD enforces them). */
export type AuthServiceSpecInput = DeepPartial<AuthServiceSpec>;

/** An AuthService as written in a manifest, before defaulting. */
export interface AuthServiceInput {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: V1ObjectMeta;
  spec: AuthServiceSpecInput;
  status?: AuthServiceStatus;
}
