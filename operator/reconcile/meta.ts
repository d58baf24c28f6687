// Names, labels and the ownerReference shared by every object the operator
// owns for an AuthService. One place, so the Service selectors, the
// Deployments' pod labels and the NetworkPolicy always agree.
import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION, type AuthService, type Colour, KIND } from '../api/types.js';

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_VERSION = 'app.kubernetes.io/version';
export const LABEL_COLOUR = 'auth.keyward.dev/color';
/** podTemplateHash() of the template a Deployment carries. */
export const LABEL_REVISION = 'auth.keyward.dev/revision';
/** Hash of the referenced Secrets' data, on the pod template: rotation is a new revision. */
export const ANNOTATION_SECRETS_HASH = 'auth.keyward.dev/secrets-hash';

export const APP_NAME = 'keyward-auth';
export const MANAGED_BY = 'keyward-operator';
export const COMPONENT_SERVICE = 'auth-service';
export const COMPONENT_BACKUP = 'backup';
/** The guide's container name, kept so `kubectl set image … auth-service=…` habits still work. */
export const CONTAINER_NAME = 'auth-service';

/** Names of the owned objects (docs/operations.md, where the AuthService's name is discussed). */
export function names(auth: AuthService) {
  const name = nameOf(auth);
  return {
    /** Service that clients use, HPA, VPA, NetworkPolicy, ServiceMonitor, PrometheusRule, PDB, ServiceAccount. */
    stable: name,
    colour: (colour: Colour) => `${name}-${colour}`,
    backupCronJob: `${name}-backup`,
    backupScripts: `${name}-backup-scripts`,
  };
}

export function nameOf(auth: AuthService): string {
  const name = auth.metadata.name;
  if (!name) throw new Error('AuthService has no metadata.name');
  return name;
}

export function namespaceOf(auth: AuthService): string {
  const namespace = auth.metadata.namespace;
  if (!namespace) throw new Error(`AuthService ${nameOf(auth)} has no metadata.namespace`);
  return namespace;
}

/** Labels that pick the service's pods of both colours; never changes for an AuthService. */
export function selectorLabels(auth: AuthService): Record<string, string> {
  return {
    [LABEL_NAME]: APP_NAME,
    [LABEL_INSTANCE]: nameOf(auth),
    [LABEL_COMPONENT]: COMPONENT_SERVICE,
  };
}

/** Labels that pick the pods of one colour. */
export function colourSelectorLabels(auth: AuthService, colour: Colour): Record<string, string> {
  return { ...selectorLabels(auth), [LABEL_COLOUR]: colour };
}

/** The standard app.kubernetes.io labels every owned object carries. */
export function commonLabels(auth: AuthService, component: string = COMPONENT_SERVICE): Record<string, string> {
  return {
    [LABEL_NAME]: APP_NAME,
    [LABEL_INSTANCE]: nameOf(auth),
    [LABEL_COMPONENT]: component,
    [LABEL_MANAGED_BY]: MANAGED_BY,
  };
}

// A label value: at most 63 characters, alphanumeric at both ends (k8s.io/apimachinery validation).
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * The image's tag as an app.kubernetes.io/version value, or the start of its
 * digest ("sha256-0123456789ab") when there is no tag; undefined when neither
 * fits in a label value.
 */
export function versionLabel(image: string): string | undefined {
  const [reference, digest] = image.split('@');
  const lastSlash = (reference ?? '').lastIndexOf('/');
  const lastColon = (reference ?? '').lastIndexOf(':');
  const tag = lastColon > lastSlash ? (reference ?? '').slice(lastColon + 1) : undefined;
  const candidate = tag ?? (digest ? digest.replace(':', '-').slice(0, 19) : undefined);
  return candidate !== undefined && candidate.length <= 63 && LABEL_VALUE.test(candidate) ? candidate : undefined;
}

/**
 * Makes the AuthService the controller owner: the garbage collector deletes the
 * object with it. Left out when the AuthService has no uid (rendered from a
 * file, never stored), since an ownerReference without one is invalid.
 */
export function ownerReference(auth: AuthService): V1OwnerReference | undefined {
  const uid = auth.metadata.uid;
  if (!uid) return undefined;
  return { apiVersion: API_VERSION, kind: KIND, name: nameOf(auth), uid, controller: true, blockOwnerDeletion: true };
}

/** metadata for an owned object: name, namespace, labels, annotations and the ownerReference. */
export function objectMeta(
  auth: AuthService,
  name: string,
  labels: Record<string, string>,
  annotations?: Record<string, string>,
): V1ObjectMeta {
  const owner = ownerReference(auth);
  return {
    name,
    namespace: namespaceOf(auth),
    labels,
    ...(annotations ? { annotations } : {}),
    ...(owner ? { ownerReferences: [owner] } : {}),
  };
}
