import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';

/** Runs go_build_init of hack/lib/go-build.sh with `go` answering `version` for every question. */
function goBuildInit(version: string | undefined): { status: number | null; stderr: string } {
  const bin = mkdtempSync(join(tmpdir(), 'keyward-fake-go-'));
  try {
    if (version !== undefined) {
      writeFileSync(join(bin, 'go'), `#!/bin/sh\necho go${version}\n`);
      chmodSync(join(bin, 'go'), 0o755);
    }
    // Only the fake directory and the basics: no real go can be found behind it.
    // --norc: bash reads ~/.bashrc when its stdin is a socket (as Node's pipes are), and that may put a go on PATH.
    const result = spawnSync('bash', ['--norc', '-c', 'set -euo pipefail; source hack/lib/go-build.sh; go_build_init'], {
      encoding: 'utf8',
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });
    return { status: result.status, stderr: result.stderr };
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

describe('hack/lib/go-build.sh: the Go the builds need', () => {
  it('refuses a Go older than the go.mod files need, naming both versions (bookworm\'s own is 1.19)', () => {
    const result = goBuildInit('1.19.8');
    expect(result.status).to.equal(1);
    expect(result.stderr).to.equal('build.sh: go 1.19.8 is on PATH; these tools need Go 1.26.7 or later (the go.mod files under hack/)\n');
  });

  it('says what to install when there is no go at all', () => {
    const result = goBuildInit(undefined);
    expect(result.status).to.equal(1);
    expect(result.stderr).to.contain('go is not on PATH; Go 1.26.7 or later builds these tools');
  });

  it('asks for the highest go line of the go.mod files (promtool\'s 1.26.7), not just the minor version', () => {
    expect(goBuildInit('1.26.6').status, '1.26.6').to.equal(1);
    for (const version of ['1.26.7', '1.26.8', '1.27rc1', '2.0.1']) expect(goBuildInit(version).status, version).to.equal(0);
  });
});
