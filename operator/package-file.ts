import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The path of a file shipped beside the code (`hack/backup.sh`, `crds/…`),
 * relative to the package root: the nearest directory above this module whose
 * package.json is Keyward's. The same call works from the sources
 * (operator/package-file.ts) and from the build (dist/operator/package-file.js),
 * where a fixed `../` count would not.
 */
export function packageFile(relativePath: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'keyward') return join(dir, relativePath);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no Keyward package.json above ${fileURLToPath(import.meta.url)}: cannot find ${relativePath}`);
    dir = parent;
  }
}
