import { expect } from 'chai';
import { createWriteLedger } from '../../../operator/controller/written.js';
import type { KubeObject } from '../../../operator/kube/client.js';

const object = (resourceVersion: string, extra: Record<string, unknown> = {}): KubeObject =>
  ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'login-blue', namespace: 'auth', resourceVersion }, ...extra }) as KubeObject;

describe('write ledger', () => {
  it('answers with our write until the informer reports an event for that object', () => {
    const ledger = createWriteLedger();
    const stale = object('10');
    ledger.wrote('Deployment', 'auth', 'login-blue', object('11', { spec: { replicas: 3 } }));
    expect(ledger.fresher('Deployment', 'auth', 'login-blue', stale)).to.deep.include({ spec: { replicas: 3 } });
    ledger.observed('Deployment', object('11'));
    expect(ledger.fresher('Deployment', 'auth', 'login-blue', stale)).to.equal(stale);
    expect(ledger.size).to.equal(0);
  });

  it('answers with our write for an object the cache does not hold yet', () => {
    const ledger = createWriteLedger();
    ledger.wrote('Deployment', 'auth', 'login-blue', object('11'));
    expect(ledger.fresher('Deployment', 'auth', 'login-blue', undefined)).to.deep.include({ metadata: { name: 'login-blue', namespace: 'auth', resourceVersion: '11' } });
    expect(ledger.fresher('Service', 'auth', 'login-blue', undefined), 'another kind of the same name').to.equal(undefined);
  });

  it('forgets a write the cache already shows (its event came before the answer)', () => {
    const ledger = createWriteLedger();
    ledger.wrote('Deployment', 'auth', 'login-blue', object('11'));
    const cached = object('11', { status: { readyReplicas: 1 } });
    expect(ledger.fresher('Deployment', 'auth', 'login-blue', cached)).to.equal(cached);
    expect(ledger.size).to.equal(0);
  });

  it('says a deleted object is gone until the informer reports the deletion', () => {
    const ledger = createWriteLedger();
    ledger.wrote('Deployment', 'auth', 'login-blue', undefined);
    expect(ledger.fresher('Deployment', 'auth', 'login-blue', object('10'))).to.equal(undefined);
    ledger.observed('Deployment', object('10'));
    expect(ledger.fresher('Deployment', 'auth', 'login-blue', undefined)).to.equal(undefined);
  });

  it('keeps no managedFields of an answer', () => {
    const ledger = createWriteLedger();
    ledger.wrote('Deployment', 'auth', 'login-blue', { ...object('11'), metadata: { ...object('11').metadata, managedFields: [{ manager: 'keyward-operator' }] } as KubeObject['metadata'] });
    expect(ledger.fresher<KubeObject>('Deployment', 'auth', 'login-blue', undefined)?.metadata).to.not.have.property('managedFields');
  });
});
