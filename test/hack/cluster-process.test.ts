import { expect } from 'chai';
import { commandLine, isRecordedProcess } from '../../hack/cluster/process.js';

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
