/**
 * Compiles the operator to JavaScript once, before the run, and records which
 * source that was. Two reasons:
 *  - the measured process is plain `node` as in production (`npm run build` →
 *    dist/operator/cli.js): under tsx its RSS would also hold tsx's loader and
 *    transpiled-source caches;
 *  - both operator processes of the run execute the same code even while
 *    someone edits operator/ in the working tree during the run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

export interface OperatorBuild {
  /** Arguments to `node` that start the CLI (script first). */
  cli: string[];
  /** `git rev-parse HEAD`, plus files of the operator's sources that differ from it. */
  source: { commit: string; dirty: string[] };
}

function gitState(repo: string): OperatorBuild['source'] {
  const git = (...args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const dirty = git('status', '--porcelain', '--', 'operator', 'crds', 'service/logging', 'service/version.ts').split('\n').filter(Boolean);
  return { commit: git('rev-parse', 'HEAD') || 'unknown', dirty };
}

/** `tsx`: run operator/cli.ts under tsx from the working tree (what a developer runs). */
export function operatorCommand(repo: string, runner: 'compiled' | 'tsx', dir: string, log: (line: string) => void): OperatorBuild {
  const source = gitState(repo);
  if (source.dirty.length > 0) log(`note: the operator's sources differ from ${source.commit.slice(0, 7)}: ${source.dirty.join(', ')}`);
  if (runner === 'tsx') return { cli: ['--import', 'tsx', join(repo, 'operator/cli.ts')], source };

  // Inside the repository, so the compiled ES modules find its node_modules and its package.json's "type": "module".
  mkdirSync(dir, { recursive: true });
  const up = relative(dir, repo) || '.';
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    extends: join(up, 'tsconfig.json'),
    compilerOptions: { types: ['node'], noEmit: false, sourceMap: false, rootDir: up, outDir: 'out' },
    include: [join(up, 'operator')],
  }));
  const tsc = createRequire(join(repo, 'package.json')).resolve('typescript/bin/tsc');
  const t0 = performance.now();
  const result = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
  const cli = join(dir, 'out/operator/cli.js');
  if (!existsSync(cli)) throw new Error(`compiling the operator failed:\n${result.stdout}${result.stderr}`);
  // tsc still emits on type errors (work in progress elsewhere): say so, run what it emitted.
  if (result.status !== 0) log(`warning: tsc reported type errors; running what it emitted:\n${result.stdout.trim().split('\n').slice(0, 10).join('\n')}`);
  log(`operator compiled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { cli: [cli], source };
}
