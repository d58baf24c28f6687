import { chmod, lstat, mkdir, mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { assertTraversableByOthers, linkSharedLibraries, startEmbeddedPostgres } from '../../../service/db/embedded.js';

describe('service/db/embedded: before starting PostgreSQL', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyward-embedded-'));
  });
  afterEach(async () => {
    await chmod(dir, 0o755);
    await rm(dir, { recursive: true, force: true });
  });

  describe('the shared-library links (what the package install script does, which npm 11 may hold back)', () => {
    it('creates each link of pg-symlinks.json, relative to its directory, and leaves them on a second run', async () => {
      await mkdir(join(dir, 'native/lib'), { recursive: true });
      await writeFile(join(dir, 'native/lib/libicuuc.so.60.2'), '');
      const links = [
        { source: 'native/lib/libicuuc.so.60.2', target: 'native/lib/libicuuc.so.60' },
        { source: 'native/lib/libicuuc.so.60.2', target: 'native/lib/libicuuc.so' },
      ];
      await writeFile(join(dir, 'native/pg-symlinks.json'), JSON.stringify(links));
      await linkSharedLibraries(dir);
      await linkSharedLibraries(dir);
      for (const { target } of links) {
        expect((await lstat(join(dir, target))).isSymbolicLink(), target).to.equal(true);
        expect(await readlink(join(dir, target))).to.equal('libicuuc.so.60.2');
      }
    });

    it('creates nothing for a package without a list', async () => {
      await linkSharedLibraries(dir);
      expect(await readdir(dir)).to.deep.equal([]);
    });
  });

  describe('as root, the postgres user must pass through every directory above the binaries and the data', () => {
    it('refuses a directory closed to others, naming it and the ways out', async () => {
      const closed = join(dir, 'home');
      await mkdir(join(closed, 'checkout'), { recursive: true });
      await chmod(closed, 0o700);
      const refusal = await assertTraversableByOthers(join(closed, 'checkout'), 'the data directory').then(
        () => undefined,
        (err: Error) => err.message,
      );
      expect(refusal).to.contain(`cannot enter ${closed} (mode 700)`);
      expect(refusal).to.contain(`chmod o+x ${closed}`);
      expect(refusal).to.contain('set DATABASE_URL');
    });

    it('accepts a path whose directories others may pass through', async () => {
      await mkdir(join(dir, 'a/b'), { recursive: true });
      await chmod(dir, 0o711);
      await assertTraversableByOthers(join(dir, 'a/b'), 'the data directory');
    });
  });
});

describe('service/db/embedded: a data directory another PostgreSQL holds', function () {
  this.timeout(60_000);

  it('refuses to start, saying why (postmaster.pid) and what to do, and leaves the running one serving', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyward-embedded-busy-'));
    await chmod(dir, 0o755);
    const first = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), persistent: true });
    try {
      const second = await startEmbeddedPostgres({ dataDir: join(dir, 'data'), persistent: true }).then(
        async (db) => {
          await db.stop();
          return undefined;
        },
        (err: unknown) => err as Error,
      );
      expect(second?.message).to.contain('postmaster.pid').and.contain('Another PostgreSQL uses this directory').and.contain('KEYWARD_DATA_DIR');
      const client = new pg.Client({ connectionString: first.url });
      await client.connect();
      expect((await client.query('SELECT 1 AS one')).rows).to.deep.equal([{ one: 1 }]);
      await client.end();
    } finally {
      await first.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
