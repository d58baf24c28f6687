// ServiceAccount `<name>` for the service and backup pods (beyond the guide):
// neither talks to the Kubernetes API, so no token is mounted.
import type { V1ServiceAccount } from '@kubernetes/client-node';
import type { AuthService } from '../api/types.js';
import { commonLabels, names, objectMeta } from './meta.js';

export function desiredServiceAccount(auth: AuthService): V1ServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: objectMeta(auth, names(auth).stable, commonLabels(auth)),
    automountServiceAccountToken: false,
  };
}
