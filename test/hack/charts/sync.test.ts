// hack/charts/sync.sh, run on a scratch copy of the files it reads and writes,
// so a test never rewrites the chart in the checkout.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const repo = new URL('../../../', import.meta.url).pathname;
const sources = ['crds/authservice.yaml', 'operator/rbac/clusterrole.yaml'];
const copies = ['charts/keyward-operator/crds/authservice.yaml', 'charts/keyward-operator/files/clusterrole.yaml'];
const STALE = '# an old copy\n';

describe('hack/charts/sync.sh', function () {
  let dir: string;

  const sync = (...args: string[]) => {
    // Run from elsewhere: the script finds the repository from its own path.
    const result = spawnSync('bash', [join(dir, 'hack/charts/sync.sh'), ...args], { cwd: tmpdir(), encoding: 'utf8' });
    return { exitCode: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const copy = (i: number) => readFileSync(join(dir, copies[i] as string), 'utf8');

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'keyward-sync-'));
    for (const path of ['hack/charts/sync.sh', ...sources]) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      copyFileSync(join(repo, path), join(dir, path));
    }
    for (const path of copies) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), STALE);
    }
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes each copy as a header naming its source, then the source byte for byte', function () {
    const res = sync();
    expect(res.exitCode, res.stderr).to.equal(0);
    sources.forEach((source, i) => {
      expect(copy(i)).to.equal(`# Generated from ${source} by hack/charts/sync.sh: edit the source, then run the script.\n${readFileSync(join(repo, source), 'utf8')}`);
    });
    expect(sync('--check').exitCode).to.equal(0);
  });

  it('--check exits 1 naming each stale copy, and writes nothing', function () {
    const res = sync('--check');
    expect(res.exitCode).to.equal(1);
    for (const path of copies) expect(res.stderr).to.include(`${path} differs from`);
    expect([copy(0), copy(1)]).to.deep.equal([STALE, STALE]);
  });

  for (const flag of ['--help', '-h']) {
    it(`${flag} prints what it copies where, its arguments and exit codes, exits 0 and writes nothing`, function () {
      const res = sync(flag);
      expect(res.exitCode, res.stderr).to.equal(0);
      expect(res.stdout).to.include('Usage: bash hack/charts/sync.sh').and.include('--check').and.include('Environment').and.include('Exit status');
      sources.forEach((source, i) => expect(res.stdout).to.match(new RegExp(`${source}\\s+-> ${copies[i]}`)));
      expect([copy(0), copy(1)]).to.deep.equal([STALE, STALE]);
    });
  }

  it('refuses an unknown option or a second argument with exit 2, and writes nothing', function () {
    for (const args of [['--force'], ['--check', 'extra']]) {
      const res = sync(...args);
      expect(res.exitCode, args.join(' ')).to.equal(2);
      expect(res.stderr).to.include('see --help');
    }
    expect([copy(0), copy(1)]).to.deep.equal([STALE, STALE]);
  });
});
