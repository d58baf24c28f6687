/**
 * Development keys on disk: a file in the data directory, created once (mode
 * 0600, directory 0700) and read back on every later start, so what it protects
 * (tokens, encrypted TOTP secrets) survives restarts. Production passes its keys
 * in through the environment and never comes here.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface KeyFile {
  content: string;
  path: string;
  /** True when this call created the file, false when it read an existing one. */
  created: boolean;
}

/**
 * Reads `dir/name`, or creates it with what `generate` returns. Safe when two
 * processes start at once: the file appears atomically and the first one wins.
 */
export async function readOrCreateKeyFile(dir: string, name: string, generate: () => Promise<string> | string): Promise<KeyFile> {
  // Only `dir` is private. A recursive mkdir gives every directory it creates the mode, and the
  // parents must stay passable: run as root, the embedded PostgreSQL's own user has to pass through
  // .keyward to reach its data directory (a first `npm start` as root failed on exactly that).
  await mkdir(dirname(dir), { recursive: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, name);
  const existing = await readIfExists(path);
  if (existing !== undefined) return { content: existing, path, created: false };

  const content = await generate();
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, content, { mode: 0o600, flag: 'wx' });
  try {
    // link() fails if the target exists: a concurrent start that got there first wins.
    await link(temporary, path);
    return { content, path, created: true };
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw err;
    return { content: await readFile(path, 'utf8'), path, created: false };
  } finally {
    await unlink(temporary);
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    const content = await readFile(path, 'utf8');
    await chmod(path, 0o600); // a copied-in key may have looser permissions
    return content;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}
