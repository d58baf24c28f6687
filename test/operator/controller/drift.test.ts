import { expect } from 'chai';
import { isSubset } from '../../../operator/controller/drift.js';

describe('operator/controller/drift isSubset', () => {
  it('ignores fields the API server added', () => {
    const desired = { spec: { replicas: 3, template: { spec: { containers: [{ name: 'a', image: 'x' }] } } } };
    const live = { metadata: { uid: 'u' }, spec: { replicas: 3, revisionHistoryLimit: 10, template: { spec: { containers: [{ name: 'a', image: 'x', terminationMessagePath: '/dev/termination-log' }], dnsPolicy: 'ClusterFirst' } } } };
    expect(isSubset(desired, live)).to.equal(true);
  });

  it('sees a changed or removed field as drift', () => {
    expect(isSubset({ spec: { replicas: 3 } }, { spec: { replicas: 2 } })).to.equal(false);
    expect(isSubset({ spec: { replicas: 3 } }, { spec: {} })).to.equal(false);
    expect(isSubset({ a: [1, 2] }, { a: [1] })).to.equal(false);
    expect(isSubset({ a: [1] }, { a: [1, 2] })).to.equal(false);
  });

  it('compares Kubernetes quantities by value, as the API server canonicalises them', () => {
    expect(isSubset({ cpu: '1000m' }, { cpu: '1' })).to.equal(true);
    expect(isSubset({ cpu: '0.5' }, { cpu: '500m' })).to.equal(true);
    expect(isSubset({ memory: '1024Mi' }, { memory: '1Gi' })).to.equal(true);
    expect(isSubset({ memory: '64Mi' }, { memory: '128Mi' })).to.equal(false);
    expect(isSubset({ port: 8090 }, { port: 8090 })).to.equal(true);
    expect(isSubset({ name: 'http' }, { name: 'https' })).to.equal(false);
    // The CRD allows exponents; the API server gives them back with a suffix.
    expect(isSubset({ memory: '1e9' }, { memory: '1G' })).to.equal(true);
    expect(isSubset({ memory: '256e6' }, { memory: '256M' })).to.equal(true);
    expect(isSubset({ cpu: '5e-1' }, { cpu: '500m' })).to.equal(true);
    expect(isSubset({ memory: '1E' }, { memory: '1e18' })).to.equal(true);
    expect(isSubset({ memory: '1e9' }, { memory: '2G' })).to.equal(false);
  });

  it('takes another manager\'s items in a list of named items for no drift, and a change to one of ours for drift', () => {
    const ours = { env: [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'PORT', value: '8090' }] };
    // kubectl set env, or a sidecar: an apply keeps them, so applying again would change nothing.
    expect(isSubset(ours, { env: [{ name: 'DEBUG', value: '1' }, { name: 'PORT', value: '8090' }, { name: 'LOG_LEVEL', value: 'info' }] })).to.equal(true);
    expect(isSubset(ours, { env: [{ name: 'LOG_LEVEL', value: 'debug' }, { name: 'PORT', value: '8090' }] })).to.equal(false);
    expect(isSubset(ours, { env: [{ name: 'PORT', value: '8090' }] })).to.equal(false);
    // Lists of anything else stay atomic.
    expect(isSubset({ args: ['serve'] }, { args: ['serve', '--debug'] })).to.equal(false);
  });

  it('treats an empty map or list we send like one the server leaves out', () => {
    expect(isSubset({ metadata: { annotations: {} }, spec: { ports: [] } }, { metadata: {}, spec: {} })).to.equal(true);
  });
});
