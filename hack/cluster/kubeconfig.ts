// Kubeconfig documents for the local control plane: pure data in, YAML out.
import { stringify } from 'yaml';

export type KubeconfigCredentials = { token: string } | { clientCertificatePem: string; clientKeyPem: string };

export interface KubeconfigInput {
  server: string;
  caPem: string;
  user: string;
  credentials: KubeconfigCredentials;
  /** Context and cluster name; `keyward` unless told. */
  name?: string;
}

/**
 * A single-context kubeconfig with every secret inlined (`*-data` fields), so
 * the file works from any directory for kubectl and @kubernetes/client-node.
 */
export function renderKubeconfig(input: KubeconfigInput): string {
  const name = input.name ?? 'keyward';
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const user =
    'token' in input.credentials
      ? { token: input.credentials.token }
      : {
          'client-certificate-data': b64(input.credentials.clientCertificatePem),
          'client-key-data': b64(input.credentials.clientKeyPem),
        };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: input.server, 'certificate-authority-data': b64(input.caPem) } }],
    users: [{ name: input.user, user }],
    contexts: [{ name, context: { cluster: name, user: input.user, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  });
}
