import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { readOrCreateKeyFile } from '../../../service/util/key-file.js';

describe('readOrCreateKeyFile: where the development keys live', () => {
  it('makes the key directory private and leaves the directories above it passable (the embedded PostgreSQL\'s user goes through them)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'keyward-keys-'));
    try {
      // As `npm start` does on a fresh checkout: .keyward/data, neither there yet.
      const dir = join(root, '.keyward', 'data');
      const file = await readOrCreateKeyFile(dir, 'key.pem', () => 'secret\n');
      expect(file.created).to.equal(true);
      const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;
      expect(await mode(dir), 'the key directory').to.equal(0o700);
      expect((await mode(join(root, '.keyward'))) & 0o001, '.keyward passable by others').to.equal(0o001);
      expect(await mode(file.path), 'the key file').to.equal(0o600);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
