// `npm run cluster -- up --demo`: the sample AuthService from examples/, with
// its Secrets, reconciled by the operator (which --demo starts), and a real
// keyward-service on loopback answering the operator's promotion checks: pods
// here are kwok's, nothing listens at a pod or Service IP (README.md), so the
// checks of both colours are mapped to it with --service-url-map.
import { execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments, stringify } from 'yaml';
import { locateKubectl } from './binaries.js';
import { isHealthy } from './http.js';
import { freePorts } from './ports.js';
import type { ClusterState } from './state.js';

export const demoNamespace = 'auth-service';
export const demoName = 'login';
const placeholder = '<generate>';

// Keys whose reader wants an exact length: TOTP_ENCRYPTION_KEY is an AES-256 key, 32 bytes.
const randomKeyBytes: Record<string, number> = { 'totp-encryption-key': 32 };

/**
 * A fresh value for a Secret key: an ES256 PKCS#8 PEM for *.pem keys, the
 * length randomKeyBytes names, else 48 random bytes; random bytes in base64.
 */
export function generateSecretValue(key: string): string {
  if (key.endsWith('.pem')) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  }
  return randomBytes(randomKeyBytes[key] ?? 48).toString('base64');
}

/** examples/secrets.yaml with every "<generate>" value of every Secret replaced by generate(key). */
export function fillSecrets(text: string, generate: (key: string) => string = generateSecretValue): string {
  return parseAllDocuments(text)
    .map((doc) => {
      const object = doc.toJSON() as { kind?: string; stringData?: Record<string, string> };
      if (object.kind === 'Secret' && object.stringData) {
        for (const [key, value] of Object.entries(object.stringData)) if (value === placeholder) object.stringData[key] = generate(key);
      }
      return stringify(object);
    })
    .join('---\n');
}

interface DemoContext {
  state: ClusterState;
  repoRoot: string;
  kubeconfig: string;
  log: (line: string) => void;
}

/**
 * Starts keyward-service (embedded PostgreSQL under the cluster directory) in
 * the background, records it for `down`, waits until it is ready, and writes
 * the operator's --service-url-map file; returns that file.
 */
export async function startDemoService(ctx: DemoContext): Promise<string> {
  const [port] = await freePorts(1);
  const url = `http://127.0.0.1:${port}`;
  const logFile = join(ctx.state.dir, 'demo-service.log');
  const out = openSync(logFile, 'a');
  const script = join(ctx.repoRoot, 'service', 'cli.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, 'serve'], {
    cwd: ctx.repoRoot,
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), KEYWARD_DATA_DIR: join(ctx.state.dir, 'demo-service'), NODE_ENV: 'development' },
  });
  child.unref();
  if (child.pid === undefined) throw new Error('could not start keyward-service for the demo');
  ctx.state.extras.push({ name: 'keyward-service (demo)', pid: child.pid, command: process.execPath, script, logFile });
  ctx.log(`keyward-service for the promotion checks starting on ${url} (pid ${child.pid}); log: ${logFile}`);
  // The embedded PostgreSQL initialises its cluster on first start: a few seconds.
  for (let i = 0; !(await isHealthy(`${url}/health/ready`)); i++) {
    if (i >= 240 || child.exitCode !== null) throw new Error(`keyward-service did not become ready within 60 s; see ${logFile}`);
    await sleep(250);
  }
  const map = Object.fromEntries(['', '-blue', '-green'].map((suffix) => [`${demoNamespace}/${demoName}${suffix}`, url]));
  const mapFile = join(ctx.state.dir, 'service-url-map.json');
  writeFileSync(mapFile, `${JSON.stringify(map, null, 2)}\n`);
  return mapFile;
}

/** Applies the namespace, the Secrets and the AuthService from examples/, then waits for it to be Healthy. */
export function applyDemo(ctx: DemoContext): void {
  const kubectl = (args: string[], input?: string) =>
    execFileSync(locateKubectl(), ['--kubeconfig', ctx.kubeconfig, ...args], { input, stdio: [input === undefined ? 'ignore' : 'pipe', 'inherit', 'inherit'] });
  const examples = join(ctx.repoRoot, 'examples');
  ctx.log('applying examples/secrets.yaml (with generated keys) and examples/authservice.yaml');
  kubectl(['apply', '--server-side', '-f', '-'], fillSecrets(readFileSync(join(examples, 'secrets.yaml'), 'utf8')));
  kubectl(['apply', '--server-side', '-f', join(examples, 'authservice.yaml')]);
  ctx.log(`waiting for authservice/${demoName} to become Healthy (blue deployed, checked, traffic on it)`);
  try {
    kubectl(['wait', '--for=jsonpath={.status.phase}=Healthy', `authservice/${demoName}`, '-n', demoNamespace, '--timeout=180s']);
  } catch (err) {
    throw new Error(`authservice/${demoName} did not become Healthy; \`kubectl describe authsvc ${demoName} -n ${demoNamespace}\` and ${join(ctx.state.dir, 'operator.log')} say why`, { cause: err });
  }
  kubectl(['get', 'authservices', '-n', demoNamespace]);
}

/** What to try next, printed after `up --demo`. */
export function demoUsage(): string {
  const n = `-n ${demoNamespace}`;
  const patch = (spec: string) => `kubectl ${n} patch authsvc ${demoName} --type merge -p '{"spec":${spec}}'`;
  const lines: [string, string?][] = [
    [`The demo: AuthService ${demoNamespace}/${demoName} from examples/authservice.yaml, reconciled by keyward-operator.`],
    [''],
    [`kubectl get authsvc ${n}`, 'Active colour, Image, Ready, Phase'],
    [`kubectl get deploy,svc,hpa,cronjob,pdb ${n}`, 'what the operator made'],
    [`kubectl describe authsvc ${demoName} ${n}`, 'conditions and events'],
    [''],
    ['# A new version: green is deployed beside blue, checked (/health), then the Service flips to it.'],
    [patch('{"image":"registry.example/keyward-service:1.5.0"}')],
    [`kubectl get authsvc ${n} -w`, 'Progressing ... Healthy with Active: green'],
    [`hack/kubectl-keyward status ${demoName} ${n}`, 'each step of the rollout, and the history'],
    [''],
    ['# A version that never becomes ready (image tags ending in -broken): traffic stays on'],
    ['# the old colour, the AuthService turns Degraded and says why (deadline cut to 60 s).'],
    [patch('{"image":"registry.example/keyward-service:1.6.0-broken","rollout":{"progressDeadlineSeconds":60}}')],
    [`kubectl get authsvc ${n} -w`],
    [`kubectl describe authsvc ${demoName} ${n}`],
  ];
  const width = Math.max(...lines.filter(([, c]) => c).map(([cmd]) => cmd.length)) + 2;
  return `\n${lines.map(([cmd, comment]) => `  ${comment ? `${cmd.padEnd(width)}# ${comment}` : cmd}`.trimEnd()).join('\n')}\n`;
}
