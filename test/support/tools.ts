/**
 * helm and promtool, built from their Go modules by hack/tools/build.sh into a
 * version-keyed cache. Tests run them; they never build them (a cold build
 * takes minutes), so a missing binary fails with the command that builds it.
 */
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type ToolName = 'helm' | 'promtool';

const buildScript = fileURLToPath(new URL('../../hack/tools/build.sh', import.meta.url));

/** The path of a built tool, or an Error saying how to build it. */
export function toolPath(name: ToolName): string {
  const dir = execFileSync('bash', [buildScript, '--print-bin-dir', name], { encoding: 'utf8' }).trim();
  const path = `${dir}/${name}`;
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${name} is not built (looked for ${path}).\nBuild it once with:  bash hack/tools/build.sh   (a cold build takes a few minutes; later runs are instant)`);
  }
  return path;
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs a command to completion; resolves with its exit code and output, whatever the code. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { cwd: options.cwd, env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
    child.stdin?.end(options.input);
  });
}

/** Runs helm or promtool (see toolPath). */
export function runTool(name: ToolName, args: string[], options: RunOptions = {}): Promise<ToolResult> {
  return run(toolPath(name), args, options);
}
