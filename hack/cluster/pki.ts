// Throwaway certificates and keys for one local control plane, made with the
// openssl command (OpenSSL 3's `req -x509 -CA` signs in one step).
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface Pki {
  /** CA that signs the serving certificate and every client certificate. */
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  /** Service-account token signing key pair (RSA: every JWT library verifies RS256). */
  serviceAccountKey: string;
  serviceAccountPub: string;
}

export interface ClientCert {
  cert: string;
  key: string;
}

// P-256 keys take milliseconds to make; RSA-2048 takes up to a second here.
const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const leaf = ['-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment'];

/** The PKI paths inside `dir`, whether or not they exist yet. */
export function pkiPaths(dir: string): Pki {
  return {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    servingCert: join(dir, 'apiserver.crt'),
    servingKey: join(dir, 'apiserver.key'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
  };
}

/** Creates the CA, the API server's serving certificate and the service-account keys in `dir`. */
export async function generatePki(dir: string): Promise<Pki> {
  mkdirSync(dir, { recursive: true });
  const p = pkiPaths(dir);
  const openssl = (args: string[]) => execFileAsync('openssl', args);
  const ca = openssl([
    'req', '-x509', ...ecKey, '-keyout', p.caKey, '-out', p.caCert, '-days', '3650',
    '-subj', '/CN=keyward-local-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]);
  const sa = openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p.serviceAccountKey]).then(() =>
    openssl(['pkey', '-in', p.serviceAccountKey, '-pubout', '-out', p.serviceAccountPub]),
  );
  await ca;
  // The in-cluster names and the first service IP are there for completeness;
  // clients here use 127.0.0.1 or localhost.
  await openssl([
    'req', '-x509', '-CA', p.caCert, '-CAkey', p.caKey, ...ecKey, '-keyout', p.servingKey, '-out', p.servingCert,
    '-days', '365', '-subj', '/CN=kube-apiserver', ...leaf, '-addext', 'extendedKeyUsage=serverAuth',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1',
  ]);
  await sa;
  return p;
}

// In an openssl -subj value, '/' separates fields and '\' escapes.
const subjectValue = (s: string) => s.replace(/[\\/]/g, (c) => `\\${c}`);

/**
 * A client certificate for `user` in `groups`, signed by the cluster CA. The
 * API server's x509 authenticator takes CN as the user name and each O as a
 * group, so any identity can be minted without restarting anything.
 */
export function mintClientCert(pki: Pki, options: { user: string; groups: readonly string[]; out: string }): ClientCert {
  const cert = `${options.out}.crt`;
  const key = `${options.out}.key`;
  const subject = [...options.groups.map((g) => `/O=${subjectValue(g)}`), `/CN=${subjectValue(options.user)}`].join('');
  execFileSync('openssl', [
    'req', '-x509', '-CA', pki.caCert, '-CAkey', pki.caKey, ...ecKey, '-keyout', key, '-out', cert,
    '-days', '365', '-subj', subject, ...leaf, '-addext', 'extendedKeyUsage=clientAuth',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { cert, key };
}
