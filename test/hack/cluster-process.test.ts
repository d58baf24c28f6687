import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { commandLine, isRecordedProcess, stopRecorded } from '../../hack/cluster/process.js';

describe('hack/cluster: telling a recorded process from one that took its pid', () => {
  // This process stands for both: a node process running some script, recorded as `up` records
  // what it spawns (the executable as it was started, and the script).
  const [node = '', ...args] = commandLine(process.pid) ?? [];
  const running = args.find((arg) => arg.endsWith('.js') || arg.endsWith('.ts')) ?? '';

  it('is the recorded process while the executable and the script match', () => {
    expect(isRecordedProcess({ pid: process.pid, command: node, script: running })).to.equal(true);
    // A record from before scripts were recorded: the executable alone.
    expect(isRecordedProcess({ pid: process.pid, command: node })).to.equal(true);
  });

  it('is not, when another node process holds the pid: down must not signal it', () => {
    expect(isRecordedProcess({ pid: process.pid, command: node, script: '/srv/keyward/operator/cli.ts' })).to.equal(false);
  });

  it('is not, once no process has the pid', () => {
    expect(isRecordedProcess({ pid: 2 ** 22 + 12345, command: node })).to.equal(false);
  });
});

describe('hack/cluster: stopping what a run recorded (down, and up after a control plane that died)', () => {
  it('stops a recorded process that is still running, and leaves one that took another\'s pid alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-extras-'));
    const script = join(dir, 'operator.js');
    writeFileSync(script, 'setInterval(() => undefined, 1000);\n');
    const child = spawn(process.execPath, [script], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const exited = once(child, 'exit');
      const lines: string[] = [];
      await stopRecorded(
        [
          { name: 'keyward-operator', pid: child.pid!, command: process.execPath, script },
          // This test's own process, recorded as something else: never signalled.
          { name: 'keyward-demo-service', pid: process.pid, command: process.execPath, script: join(dir, 'service.js') },
        ],
        (line) => lines.push(line),
      );
      await exited;
      expect(lines).to.deep.equal([`stopping keyward-operator (pid ${child.pid})`]);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
