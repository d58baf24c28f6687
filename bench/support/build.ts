/**
 * Compiles the service (and the baseline children) to JavaScript before the
 * run, so the measured processes are plain `node` as in production
 * (`npm run build` → dist/): under tsx, a loader thread and esbuild would sit
 * in the service's RSS and CPU.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

export interface Build {
  /** Compiled service/cli.js. */
  serviceCli: string;
  bcryptBaseline: string;
  meServerBaseline: string;
  meExpressBaseline: string;
  remove(): Promise<void>;
}

/**
 * `dir` must sit inside the repository, so the compiled ES modules resolve
 * their packages from its node_modules and get "type": "module" from its package.json.
 */
export async function compile(repo: string, dir: string, log: (line: string) => void): Promise<Build> {
  await mkdir(dir, { recursive: true });
  const up = relative(dir, repo) || '.';
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: join(up, 'tsconfig.json'),
      compilerOptions: { types: ['node'], noEmit: false, sourceMap: false, rootDir: up, outDir: 'out' },
      include: [join(up, 'service'), join(up, 'bench/baselines')],
    }),
  );
  const tsc = createRequire(join(repo, 'package.json')).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
  const out = join(dir, 'out');
  const build: Build = {
    serviceCli: join(out, 'service/cli.js'),
    bcryptBaseline: join(out, 'bench/baselines/bcrypt.js'),
    meServerBaseline: join(out, 'bench/baselines/me-server.js'),
    meExpressBaseline: join(out, 'bench/baselines/me-express.js'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
  const missing = [build.serviceCli, build.bcryptBaseline, build.meServerBaseline, build.meExpressBaseline].filter((f) => !existsSync(f));
  if (missing.length > 0) throw new Error(`compiling the service failed:\n${result.stdout}${result.stderr}`);
  // tsc still emits on type errors (someone's work in progress elsewhere in service/): say so, carry on.
  if (result.status !== 0) log(`warning: tsc reported type errors; running what it emitted:\n${result.stdout.trim()}`);
  return build;
}
