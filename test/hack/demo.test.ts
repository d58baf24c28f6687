// `npm run cluster -- up --demo` and the examples it applies.
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { locateBinaries, locateKubectl } from '../../hack/cluster/binaries.js';
import { demoName, demoNamespace, fillSecrets } from '../../hack/cluster/demo.js';
import { isAlive } from '../../hack/cluster/process.js';
import { readState } from '../../hack/cluster/state.js';

const repo = new URL('../..', import.meta.url).pathname;
const docs = (file: string) => parseAllDocuments(readFileSync(join(repo, file), 'utf8')).map((d) => d.toJSON() as Record<string, unknown>);

interface SecretDoc {
  kind: string;
  metadata: { name: string; namespace?: string };
  stringData?: Record<string, string>;
}

describe('examples/ and up --demo', function () {
  describe('examples/secrets.yaml', function () {
    const secrets = docs('examples/secrets.yaml') as unknown as SecretDoc[];
    const secret = (name: string) => secrets.find((s) => s.kind === 'Secret' && s.metadata.name === name);

    it('creates the namespace and every Secret examples/authservice.yaml names, with the keys the CRD defaults to', function () {
      const [auth] = docs('examples/authservice.yaml') as unknown as { metadata: { namespace: string }; spec: Record<string, Record<string, unknown>> }[];
      expect(secrets[0]).to.deep.include({ kind: 'Namespace', metadata: { name: auth?.metadata.namespace } });
      const spec = auth?.spec ?? {};
      const refs: [string, string][] = [
        [(spec.database?.urlSecretRef as { name: string }).name, 'url'],
        [(spec.redis?.urlSecretRef as { name: string }).name, 'url'],
        [(spec.jwt?.keysSecretRef as { name: string }).name, 'signing-key.pem'],
        [(spec.email?.smtpSecretRef as { name: string }).name, 'url'],
        [(spec.mfa?.encryptionKeySecretRef as { name: string }).name, 'totp-encryption-key'],
        [(spec.backup?.encryptionKeySecretRef as { name: string }).name, 'encryption.key'],
        [((spec.backup?.s3 as { credentialsSecretRef: { name: string } }).credentialsSecretRef).name, 'AWS_SECRET_ACCESS_KEY'],
      ];
      for (const [name, key] of refs) {
        expect(secret(name)?.metadata.namespace, name).to.equal(auth?.metadata.namespace);
        expect(secret(name)?.stringData, name).to.have.property(key);
      }
    });

    it('holds no real secret: every value is a placeholder', function () {
      for (const s of secrets.filter((d) => d.kind === 'Secret')) {
        for (const [key, value] of Object.entries(s.stringData ?? {})) expect(value, `${s.metadata.name}/${key}`).to.match(/<generate>|change-me/);
      }
    });

    it('gets a fresh ES256 signing key, a random backup passphrase and a 32-byte TOTP key from fillSecrets, every time', function () {
      const text = readFileSync(join(repo, 'examples/secrets.yaml'), 'utf8');
      const once = parseAllDocuments(fillSecrets(text)).map((d) => d.toJSON() as SecretDoc);
      const twice = parseAllDocuments(fillSecrets(text)).map((d) => d.toJSON() as SecretDoc);
      const value = (all: SecretDoc[], name: string, key: string) => all.find((s) => s.metadata.name === name)?.stringData?.[key] ?? '';
      const key = createPrivateKey(value(once, 'auth-jwt', 'signing-key.pem'));
      expect(key.asymmetricKeyType).to.equal('ec');
      expect(key.asymmetricKeyDetails?.namedCurve).to.equal('prime256v1');
      expect(value(once, 'auth-jwt', 'signing-key.pem')).not.to.equal(value(twice, 'auth-jwt', 'signing-key.pem'));
      expect(Buffer.from(value(once, 'backup-key', 'encryption.key'), 'base64')).to.have.length(48);
      expect(value(once, 'backup-key', 'encryption.key')).not.to.equal(value(twice, 'backup-key', 'encryption.key'));
      // An AES-256 key: the service refuses TOTP_ENCRYPTION_KEY unless it decodes to 32 bytes.
      expect(Buffer.from(value(once, 'auth-totp', 'totp-encryption-key'), 'base64')).to.have.length(32);
      expect(value(once, 'auth-totp', 'totp-encryption-key')).not.to.equal(value(twice, 'auth-totp', 'totp-encryption-key'));
      expect(JSON.stringify(once)).not.to.include('<generate>');
      expect(value(once, 'auth-db', 'url')).to.equal(value(twice, 'auth-db', 'url'));
    });
  });

  describe('npm run cluster -- up --demo', function () {
    this.timeout(300_000);
    let dir: string;
    const cluster = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'hack/cluster/cli.ts'), ...args, '--dir', dir], { cwd: repo, encoding: 'utf8', timeout: 240_000 });

    before(function () {
      try {
        locateBinaries();
      } catch (err) {
        throw new Error(`${(err as Error).message}\n(CI runs the build before the tests.)`);
      }
      dir = mkdtempSync(join(tmpdir(), 'keyward-demo-'));
    });

    after(function () {
      if (!dir) return;
      if (readState(dir)) cluster('down');
      rmSync(dir, { recursive: true, force: true });
    });

    it('starts the control plane, the operator and the sample AuthService, Healthy, prints what to try, and down stops it all', function () {
      const up = cluster('up', '--demo', '--no-build');
      expect(up.status, `${up.stdout}\n${up.stderr}`).to.equal(0);
      for (const hint of [`kubectl get authsvc -n ${demoNamespace} -w`, 'patch authsvc login', '-broken', `kubectl describe authsvc ${demoName}`, `hack/kubectl-keyward status ${demoName}`]) {
        expect(up.stdout).to.include(hint);
      }
      const state = readState(dir);
      expect(state?.extras.map((e) => e.name)).to.have.members(['keyward-service (demo)', 'keyward-operator']);
      const kubectl = (...args: string[]) => execFileSync(locateKubectl(), ['--kubeconfig', state?.kubeconfig ?? '', ...args], { encoding: 'utf8' });
      expect(kubectl('get', 'authservice', demoName, '-n', demoNamespace, '-o', 'jsonpath={.status.phase} {.status.activeColor} {.status.readyReplicas}')).to.equal('Healthy blue 3');
      expect(kubectl('get', 'secrets', '-n', demoNamespace, '-o', 'name').split('\n').filter(Boolean).sort()).to.include.members([
        'secret/auth-db', 'secret/auth-jwt', 'secret/auth-redis', 'secret/auth-smtp', 'secret/auth-totp', 'secret/backup-creds', 'secret/backup-key',
      ]);

      const down = cluster('down');
      expect(down.status, down.stderr).to.equal(0);
      for (const p of [...(state?.extras ?? []), ...(state?.components ?? [])]) expect(isAlive(p.pid), `${p.name} (pid ${p.pid})`).to.equal(false);
    });
  });
});
