// `npm run load`: the guide's load profile (hack/load/profile.yaml) against the
// local service, then the guide's benchmark table. Loopback only.
//
// Without --target it starts keyward-service itself (embedded PostgreSQL in a
// throwaway directory, per-IP rate limits off: every virtual user comes from
// 127.0.0.1), registers the payload accounts, runs the phases and stops the
// service. The guide's full profile lasts 9 minutes and peaks at 100 arrivals/s
// (about 180 requests/s); --quick runs a tenth of the time at a tenth of the rate.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { freePort } from '../../service/util/free-port.js';
import { loopbackUrl } from './loopback.js';
import { runLoad, seededRandom } from './engine.js';
import { parseProfile, scaleProfile } from './profile.js';
import { formatTable, tabulate } from './report.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Options {
  target?: string;
  profile: string;
  quick: boolean;
  timeScale: number;
  rateScale: number;
  users: number;
  bcryptCost: number;
  seed: number;
  maxInFlight: number;
  out: string;
}

const positive = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
};

interface LocalService {
  url: string;
  stop(): Promise<void>;
}

async function startLocalService(bcryptCost: number): Promise<LocalService> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'keyward-load-'));
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'service', 'cli.ts'), 'serve'], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      KEYWARD_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      BCRYPT_COST: String(bcryptCost),
      RATE_LIMIT_LOGIN_PER_MINUTE: '0',
      RATE_LIMIT_REGISTER_PER_MINUTE: '0',
      RATE_LIMIT_REFRESH_PER_MINUTE: '0',
    },
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = `${stderr}${c.toString()}`.slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(30_000).then(() => child.kill('SIGKILL'))]);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    const ready = await fetch(`${url}/health/ready`).then((r) => r.ok, () => false);
    if (ready) return { url, stop };
    if (i > 600 || child.exitCode !== null) {
      await stop();
      throw new Error(`keyward-service did not become ready: ${stderr}`);
    }
    await sleep(100);
  }
}

/** Registers `count` accounts, a few at a time; returns the payload rows. */
async function registerUsers(baseUrl: string, count: number, log: (line: string) => void): Promise<Record<string, string>[]> {
  const run = randomBytes(3).toString('hex');
  const rows = Array.from({ length: count }, (_, i) => ({ email: `load+${run}-${i}@example.com`, password: `Load-${randomBytes(9).toString('base64url')}` }));
  let next = 0;
  const worker = async () => {
    while (next < rows.length) {
      const row = rows[next++] as Record<string, string>;
      const res = await fetch(`${baseUrl}/api/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...row, first_name: 'Load', last_name: 'Test' }),
      });
      if (res.status !== 201) throw new Error(`registering the payload accounts: ${res.status} ${await res.text()} (a service started by hand needs RATE_LIMIT_REGISTER_PER_MINUTE=0 and RATE_LIMIT_LOGIN_PER_MINUTE=0)`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: 4 }, worker));
  log(`registered ${count} payload accounts in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return rows;
}

async function main(options: Options): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const timeScale = options.quick ? options.timeScale * 0.1 : options.timeScale;
  const rateScale = options.quick ? options.rateScale * 0.1 : options.rateScale;
  const profile = scaleProfile(parseProfile(readFileSync(options.profile, 'utf8')), timeScale, rateScale);
  const seconds = profile.phases.reduce((s, p) => s + p.durationSeconds, 0);
  const service = options.target ? undefined : await startLocalService(options.bcryptCost);
  const baseUrl = options.target ?? (service as LocalService).url;
  log(service ? `started keyward-service on ${baseUrl} (BCRYPT_COST=${options.bcryptCost}, rate limits off)` : `target ${baseUrl}`);
  try {
    const payload = await registerUsers(baseUrl, options.users, log);
    mkdirSync(options.out, { recursive: true });
    writeFileSync(join(options.out, 'test-users.csv'), `email,password\n${payload.map((r) => `${r.email},${r.password}`).join('\n')}\n`);
    log(`running ${profile.phases.length} phases, ${seconds.toFixed(0)} s in all`);
    const result = await runLoad({
      profile,
      baseUrl,
      payload,
      random: seededRandom(options.seed),
      maxInFlight: options.maxInFlight,
      onPhase: (p) => log(`phase "${p.name}": ${p.durationSeconds.toFixed(0)} s at ${p.arrivalRate.toFixed(1)}${p.rampTo === undefined ? '' : ` → ${p.rampTo.toFixed(1)}`} arrivals/s`),
    });
    const rows = tabulate(result);
    const mix = result.phases.reduce((sum, o) => sum.map((n, i) => n + (o.scenarios[i] ?? 0)), profile.scenarios.map(() => 0));
    const lag = Math.max(...result.phases.map((o) => o.maxLagMs));
    const report = [
      '# Performance Benchmark Report',
      `Generated: ${new Date().toISOString()} against ${baseUrl}; profile ${relative(process.cwd(), options.profile)} × time ${timeScale}, × rate ${rateScale}`,
      '',
      formatTable(rows),
      `Scenarios: ${profile.scenarios.map((s, i) => `${s.name} ${mix[i]}`).join(', ')}; flows stopped early: ${result.phases.reduce((s, o) => s + o.failedFlows, 0)}; ` +
        `generator's worst send lag ${lag.toFixed(0)} ms.`,
    ].join('\n');
    process.stdout.write(`\n${report}\n`);
    const file = join(options.out, `load-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify({ profile, rows, phases: result.phases.map(({ phase, ...o }) => ({ phase: phase.name, ...o })) }, null, 2)}\n`);
    writeFileSync(join(options.out, 'performance_report.md'), `${report}\n`);
    log(`\nwritten: ${relative(process.cwd(), file)}, ${relative(process.cwd(), join(options.out, 'performance_report.md'))}`);
  } finally {
    await service?.stop();
  }
}

const program = new Command('npm run load --')
  .description("The guide's load profile (hack/load/profile.yaml: 80 % login then me, 20 % register; warm-up, sustained, ramp and high-load phases) against the local service, loopback only.")
  .option('--target <url>', 'a running service, e.g. http://127.0.0.1:8090 (default: start one)', (v: string) => {
    try {
      return loopbackUrl(v);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  })
  .option('--profile <file>', 'Artillery-format profile', join(repoRoot, 'hack', 'load', 'profile.yaml'))
  .option('--quick', 'a tenth of the duration at a tenth of the rate (54 s, up to 10 arrivals/s)', false)
  .option('--time-scale <x>', 'multiply every phase duration', positive, 1)
  .option('--rate-scale <x>', 'multiply every arrival rate', positive, 1)
  .option('--users <n>', 'payload accounts to register first', positive, 100)
  .option('--bcrypt-cost <n>', 'BCRYPT_COST of the service this starts (production default 12)', positive, 12)
  .option('--seed <n>', 'seed of the scenario choices', positive, 1)
  .option('--max-in-flight <n>', 'virtual users running at once; later arrivals count as errors', positive, 2000)
  .option('--out <dir>', 'where the report, JSON and test-users.csv go', join(repoRoot, '.keyward', 'load'))
  .action(main);

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`npm run load: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
