// move_password_to_environment, the function hack/backup.sh and hack/restore-test.sh each carry
// (backup.sh ships alone in a ConfigMap): run by bash as the scripts run it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';

const functionOf = (script: string): string => {
  const text = readFileSync(new URL(`../../hack/${script}`, import.meta.url), 'utf8');
  const match = /^move_password_to_environment\(\) \{\n[\s\S]*?\n\}\n/m.exec(text);
  if (!match) throw new Error(`no move_password_to_environment in hack/${script}`);
  return match[0];
};

/** DATABASE_URL and PGPASSWORD after the function ran on `url` ("<unset>" when it set none). */
function moved(url: string): { url: string; password: string } {
  const script = `${functionOf('backup.sh')}\nmove_password_to_environment\nprintf '%s\\n%s' "$DATABASE_URL" "\${PGPASSWORD-<unset>}"`;
  const result = spawnSync('bash', ['-c', script], { env: { PATH: process.env['PATH'] ?? '', DATABASE_URL: url }, encoding: 'utf8' });
  expect(result.status, result.stderr).to.equal(0);
  const [after = '', password = ''] = result.stdout.split('\n');
  return { url: after, password };
}

describe('hack/backup.sh: the password taken out of DATABASE_URL', () => {
  it('is the same function in both scripts', () => {
    expect(functionOf('restore-test.sh')).to.equal(functionOf('backup.sh'));
  });

  it('moves a percent-encoded password to PGPASSWORD, decoded, and keeps the rest of the URL', () => {
    expect(moved('postgresql://postgres:p%40ss%2Fw%3Ard%25x@127.0.0.1:5432/auth?sslmode=require')).to.deep.equal({
      url: 'postgresql://postgres@127.0.0.1:5432/auth?sslmode=require',
      password: 'p@ss/w:rd%x',
    });
  });

  it('reads the user info as libpq does: up to the first @, a ? included', () => {
    expect(moved('postgres://u:pa?ss@db.example/auth')).to.deep.equal({ url: 'postgres://u@db.example/auth', password: 'pa?ss' });
    expect(moved('postgres://u:p@db.example?options=a@b')).to.deep.equal({ url: 'postgres://u@db.example?options=a@b', password: 'p' });
    expect(moved('postgres://u:a\\b@db.example')).to.deep.equal({ url: 'postgres://u@db.example', password: 'a\\b' });
  });

  it('leaves a URL without a password, a conninfo string and a malformed escape as they are', () => {
    for (const url of ['postgres://u@db.example/auth', 'postgres://db.example/auth', 'host=db user=u password=secret', 'postgres://u:bad%zz@db.example/auth']) {
      expect(moved(url), url).to.deep.equal({ url, password: '<unset>' });
    }
  });
});
