import { expect } from 'chai';
import { desiredServiceAccount } from '../../../operator/reconcile/serviceaccount.js';
import { login } from '../api/fixtures.js';

describe('desiredServiceAccount', function () {
  it('is called <name> and mounts no API token', function () {
    const account = desiredServiceAccount(login());
    expect(account).to.deep.include({ apiVersion: 'v1', kind: 'ServiceAccount', automountServiceAccountToken: false });
    expect(account.metadata?.name).to.equal('login');
    expect(account.metadata?.namespace).to.equal('auth-service');
  });
});
