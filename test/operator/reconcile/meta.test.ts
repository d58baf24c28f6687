import { expect } from 'chai';
import { loginInput, login } from '../api/fixtures.js';
import { defaultAuthService } from '../../../operator/api/defaults.js';
import { names, ownerReference, versionLabel } from '../../../operator/reconcile/meta.js';

describe('names, labels and owners', function () {
  it('names the children <name>, <name>-blue, <name>-green, <name>-backup and <name>-backup-scripts', function () {
    const n = names(login());
    expect([n.stable, n.colour('blue'), n.colour('green'), n.backupCronJob, n.backupScripts]).to.deep.equal([
      'login',
      'login-blue',
      'login-green',
      'login-backup',
      'login-backup-scripts',
    ]);
  });

  it('makes the AuthService the controlling owner, blocking its deletion until the child is gone', function () {
    expect(ownerReference(login())).to.deep.equal({
      apiVersion: 'auth.keyward.dev/v1alpha1',
      kind: 'AuthService',
      name: 'login',
      uid: login().metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    });
  });

  it('leaves the ownerReference out for an AuthService that was never stored (no uid)', function () {
    const input = loginInput();
    delete input.metadata.uid;
    expect(ownerReference(defaultAuthService(input))).to.equal(undefined);
  });

  it('derives the version label from the tag, and never writes an invalid label value', function () {
    expect(versionLabel('registry.example/keyward-service:1.4.0')).to.equal('1.4.0');
    expect(versionLabel('localhost:5000/keyward-service:1.4.0-broken')).to.equal('1.4.0-broken');
    expect(versionLabel(`keyward-service:1.4.0@sha256:${'a'.repeat(64)}`)).to.equal('1.4.0');
    expect(versionLabel(`keyward-service:${'x'.repeat(64)}`)).to.equal(undefined);
    expect(versionLabel('keyward-service:_internal')).to.equal(undefined);
  });
});
