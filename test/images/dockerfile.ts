/**
 * Enough of a Dockerfile builder to check an image without a container engine:
 * parse the instructions, filter the build context through .dockerignore, and
 * carry out each stage into a directory — COPY for real, the few RUN commands
 * the Dockerfiles use simulated (below), anything else refused so that a new
 * instruction has to be taught here before the test passes.
 *
 * Simulated RUN commands:
 * - `npm ci` (build stage): node_modules is the repository's (a symlink).
 * - `npm ci --omit=dev [--omit=optional]`: a node_modules with exactly the
 *   packages package-lock.json keeps under those flags, copied from the
 *   repository's, so nothing the production image lacks can be resolved.
 * - `npm run <script>`: run for real in the stage directory.
 * - `npm cache clean --force`: nothing to do.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';

export interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i] ?? '';
    if (/^\s*(#|$)/.test(line)) continue;
    while (line.trimEnd().endsWith('\\') && i + 1 < lines.length) {
      line = line.trimEnd().slice(0, -1);
      i++;
      const next = lines[i] ?? '';
      if (!/^\s*#/.test(next)) line += ` ${next.trim()}`;
    }
    const match = line.trim().match(/^(\S+)\s*(.*)$/);
    if (match?.[1]) instructions.push({ keyword: match[1].toUpperCase(), args: match[2] ?? '', line: start + 1 });
  }
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const [image = '', as, name] = ins.args.split(/\s+/);
      const base = image.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => globalArgs[(a ?? b) as string] ?? '');
      stages.push({ name: as?.toUpperCase() === 'AS' && name ? name : String(stages.length), base, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new Error(`line ${ins.line}: only ARG may come before FROM`);
      const [key = '', ...value] = ins.args.split('=');
      globalArgs[key.trim()] = value.join('=').trim();
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

/** JSON ("exec") form or shell form, as Docker reads ENTRYPOINT, CMD and RUN. */
export function commandOf(args: string): string[] {
  return args.trim().startsWith('[') ? (JSON.parse(args) as string[]) : ['/bin/sh', '-c', args];
}

/**
 * .dockerignore as Docker applies it: patterns in order, the last one that
 * matches the path or one of its parent directories decides, `!` re-includes.
 */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negated = l.startsWith('!');
      const pattern = posix.normalize((negated ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/+$/, '');
      const source = pattern
        .split('/')
        .map((part) => (part === '**' ? '(?:.*)' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
        .join('/')
        .replace(/\(\?:\.\*\)\//g, '(?:.*/)?');
      return { negated, regex: new RegExp(`^${source}$`) };
    });
  return (path: string) => {
    const parts = path.split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const rule of rules) if (prefixes.some((p) => rule.regex.test(p))) excluded = !rule.negated;
    return excluded;
  };
}

export interface BuiltImage {
  /** The final stage's filesystem root (paths inside the image are below it). */
  root: string;
  workdir: string;
  user: string | undefined;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  exposed: string[];
  /** Every RUN command of the final stage, as written. */
  runs: string[];
}

export interface BuildOptions {
  dockerfile: Dockerfile;
  context: string;
  excluded: (path: string) => boolean;
  /** Empty directory to build into. */
  into: string;
  /** Production node_modules for a given set of --omit flags (built once, shared). */
  productionModules(omit: string[]): string;
}

function copyFromContext(context: string, excluded: (path: string) => boolean, source: string, target: string): void {
  const rel = posix.normalize(source).replace(/^\.?\/*/, '').replace(/\/+$/, '');
  const from = join(context, rel);
  if (rel === '' || excluded(rel) || !existsSync(from)) throw new Error(`COPY ${source}: not in the build context${existsSync(from) ? ' (.dockerignore excludes it)' : ''}`);
  cpSync(from, target, {
    recursive: true,
    filter: (path) => {
      const inside = relative(context, path).split('\\').join('/');
      return !excluded(inside);
    },
  });
}

/** Carries out every stage; returns the last one. */
export function buildImage(options: BuildOptions): BuiltImage {
  const { dockerfile, context, excluded, into } = options;
  const roots = new Map<string, string>();
  let image: BuiltImage | undefined;
  dockerfile.stages.forEach((stage, index) => {
    const root = join(into, `stage-${index}-${stage.name}`);
    mkdirSync(root, { recursive: true });
    const fromStage = roots.get(stage.base);
    if (fromStage) cpSync(fromStage, root, { recursive: true, verbatimSymlinks: true });
    roots.set(stage.name, root);
    const state: BuiltImage = { root, workdir: '/', user: undefined, env: {}, entrypoint: [], cmd: [], exposed: [], runs: [] };
    const inImage = (path: string) => join(root, posix.resolve(state.workdir, path));
    for (const { keyword, args, line } of stage.instructions) {
      const where = `stage ${stage.name}, line ${line}`;
      switch (keyword) {
        case 'WORKDIR':
          state.workdir = posix.resolve(state.workdir, args.trim());
          mkdirSync(inImage('.'), { recursive: true });
          break;
        case 'COPY': {
          const words = args.trim().split(/\s+/);
          const flags = words.filter((w) => w.startsWith('--'));
          const paths = words.filter((w) => !w.startsWith('--'));
          const dest = paths.pop();
          if (!dest || paths.length === 0) throw new Error(`${where}: COPY needs a source and a destination`);
          const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
          for (const source of paths) {
            const target = dest.endsWith('/') || paths.length > 1 ? join(inImage(dest), source.endsWith('/') ? '' : posix.basename(source)) : inImage(dest);
            mkdirSync(dirname(target), { recursive: true });
            if (from !== undefined) {
              const other = roots.get(from);
              if (!other) throw new Error(`${where}: COPY --from=${from}: no such stage`);
              const path = join(other, posix.resolve('/', source));
              if (!existsSync(path)) throw new Error(`${where}: COPY --from=${from} ${source}: not in that stage`);
              cpSync(path, target, { recursive: true, verbatimSymlinks: true });
            } else {
              copyFromContext(context, excluded, source, target);
            }
          }
          break;
        }
        case 'RUN':
          state.runs.push(args);
          for (const command of args.split('&&').map((c) => c.trim())) runCommand(command, inImage('.'), options, where);
          break;
        case 'ENV':
          for (const m of args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) state.env[m[1] as string] = (m[2] as string).replace(/^"|"$/g, '');
          break;
        case 'USER':
          state.user = args.trim();
          break;
        case 'ENTRYPOINT':
          state.entrypoint = commandOf(args);
          break;
        case 'CMD':
          state.cmd = commandOf(args);
          break;
        case 'EXPOSE':
          state.exposed.push(...args.trim().split(/\s+/));
          break;
        case 'ARG':
        case 'LABEL':
          break;
        default:
          throw new Error(`${where}: ${keyword} is not simulated; teach test/images/dockerfile.ts`);
      }
    }
    image = state;
  });
  if (!image) throw new Error('no FROM');
  return image;
}

function runCommand(command: string, cwd: string, options: BuildOptions, where: string): void {
  const words = command.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  if (words[0] === 'npm' && words[1] === 'ci') {
    const known = new Set(['--no-audit', '--no-fund', '--omit=dev', '--omit=optional']);
    const unknown = flags.filter((f) => !known.has(f));
    if (unknown.length > 0) throw new Error(`${where}: npm ci ${unknown.join(' ')} is not simulated`);
    if (!existsSync(join(cwd, 'package-lock.json'))) throw new Error(`${where}: npm ci without package-lock.json`);
    const omit = flags.filter((f) => f.startsWith('--omit=')).map((f) => f.slice('--omit='.length));
    const modules = omit.length === 0 ? join(options.context, 'node_modules') : options.productionModules(omit);
    symlinkSync(modules, join(cwd, 'node_modules'));
  } else if (words[0] === 'npm' && words[1] === 'run' && words[2]) {
    execFileSync('npm', ['run', '--silent', words[2]], { cwd, stdio: 'pipe' });
  } else if (command === 'npm cache clean --force') {
    // Nothing cached here.
  } else {
    throw new Error(`${where}: RUN ${command} is not simulated; teach test/images/dockerfile.ts`);
  }
}

interface LockEntry {
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  link?: boolean;
}

/**
 * node_modules as `npm ci --omit=…` lays it out: every package-lock entry the
 * flags keep, copied from the repository's node_modules (nested node_modules
 * directories only where the lockfile has them).
 */
export function productionModules(repo: string, omit: string[], into: string): string {
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const omitted = (e: LockEntry) =>
    (omit.includes('dev') && (e.dev || (e.devOptional && omit.includes('optional')))) || (omit.includes('optional') && e.optional) || e.link;
  const keep = Object.entries(lock.packages).filter(([path, entry]) => path.startsWith('node_modules/') && !omitted(entry));
  const target = join(into, 'node_modules');
  mkdirSync(target, { recursive: true });
  for (const [path] of keep) {
    const from = join(repo, path);
    if (!existsSync(from)) {
      if (lock.packages[path]?.optional) continue; // another platform's optional package
      throw new Error(`${path} is a production dependency but is not installed in the repository`);
    }
    cpSync(from, join(into, path), {
      recursive: true,
      verbatimSymlinks: true,
      // Nested packages are lockfile entries of their own, copied (or left out) in their turn.
      filter: (p) => relative(from, p) !== 'node_modules',
    });
  }
  return target;
}

/** Every file under dir, relative, sorted (symlinked directories not followed). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}
