import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { developmentTotpKey, loadTotpKeyRing, totpKid } from '../../../service/mfa/encryption-keys.js';
import { capturingLogger } from '../../support/logs.js';

describe('TOTP encryption keys', () => {
  let dir: string;
  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'keyward-totp-keys-')), 'data');
  });
  afterEach(async () => {
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  describe('developmentTotpKey', () => {
    it('creates a 32-byte key once, in base64, readable by its owner only, and reuses it', async () => {
      const first = await developmentTotpKey(dir);
      expect(first.created).to.equal(true);
      expect(first.key).to.have.length(32);
      expect((await stat(first.path)).mode & 0o777).to.equal(0o600);
      expect((await readFile(first.path, 'utf8')).trim()).to.equal(first.key.toString('base64'));
      const second = await developmentTotpKey(dir);
      expect(second).to.deep.equal({ ...first, created: false });
    });

    it('agrees on one key when several processes start at once', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, () => developmentTotpKey(dir)));
      expect(new Set(results.map((r) => r.key.toString('hex'))).size).to.equal(1);
      expect(results.filter((r) => r.created)).to.have.length(1);
      expect(await readdir(dir)).to.deep.equal(['totp-encryption-key']);
    });

    it('refuses a damaged key file, naming it', async () => {
      await developmentTotpKey(dir);
      await writeFile(join(dir, 'totp-encryption-key'), 'c2hvcnQ=\n');
      let error: unknown;
      await developmentTotpKey(dir).catch((err: unknown) => (error = err));
      expect(String(error)).to.contain(join(dir, 'totp-encryption-key')).and.to.contain('got 5');
    });
  });

  describe('loadTotpKeyRing', () => {
    it('uses TOTP_ENCRYPTION_KEY to encrypt and every previous key to decrypt', async () => {
      const [current, previous] = [randomBytes(32), randomBytes(32)];
      const { logger, lines } = capturingLogger();
      const ring = await loadTotpKeyRing({ encryptionKey: current, previousEncryptionKeys: [previous], production: true, dataDir: dir }, logger);
      expect(ring?.current.kid).to.equal(totpKid(current));
      expect([...ring!.keys.keys()]).to.have.members([totpKid(current), totpKid(previous)]);
      expect(lines).to.deep.equal([]);
    });

    it('outside production without a key: generates one in the data directory, with a loud warning', async () => {
      const { logger, lines } = capturingLogger();
      const ring = await loadTotpKeyRing({ encryptionKey: undefined, previousEncryptionKeys: [], production: false, dataDir: dir }, logger);
      expect(ring?.current.kid).to.equal(totpKid((await developmentTotpKey(dir)).key));
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include({ level: 'warn' });
      expect(lines[0]!['message']).to.match(/^DEVELOPMENT TOTP ENCRYPTION KEY in use .*just generated.*set TOTP_ENCRYPTION_KEY/);
    });

    it('in production without a key: none (MFA answers 503), one warning naming TOTP_ENCRYPTION_KEY, and no file', async () => {
      const { logger, lines } = capturingLogger();
      const ring = await loadTotpKeyRing({ encryptionKey: undefined, previousEncryptionKeys: [], production: true, dataDir: dir }, logger);
      expect(ring).to.equal(undefined);
      expect(lines.map((l) => l['level'])).to.deep.equal(['warn']);
      expect(lines[0]!['message']).to.contain('TOTP_ENCRYPTION_KEY is not set').and.to.contain('503 mfa_unavailable');
      expect(await readdir(dir).catch(() => [])).to.deep.equal([]);
    });
  });
});
