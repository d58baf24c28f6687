// hack/kubectl-keyward, the kubectl plugin of a development checkout, installed
// the usual way: a symlink in a directory on PATH.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const plugin = new URL('../../hack/kubectl-keyward', import.meta.url).pathname;

describe('hack/kubectl-keyward', function () {
  this.timeout(60_000);
  let dir: string;

  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'keyward-plugin-'));
  });

  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the operator CLI when started through a symlink on PATH, from another directory', function () {
    const link = join(dir, 'kubectl-keyward');
    symlinkSync(plugin, link);
    const result = spawnSync('kubectl-keyward', ['--help'], {
      cwd: dir,
      env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` },
      encoding: 'utf8',
    });
    expect(result.status, `${result.stdout}${result.stderr}`).to.equal(0);
    expect(result.stdout).to.include('install-crds').and.include('promote').and.include('render');
  });
});
