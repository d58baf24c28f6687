import { expect } from 'chai';
import { canonicalJson, stableHash } from '../../../operator/reconcile/hash.js';

describe('stableHash: a revision that depends on content only', () => {
  const template = { metadata: { labels: { b: '2', a: '1' } }, spec: { containers: [{ name: 'auth-service', env: [{ value: 'x', name: 'A' }], image: 'i:1' }] } };
  const reordered = { spec: { containers: [{ image: 'i:1', env: [{ name: 'A', value: 'x' }], name: 'auth-service' }] }, metadata: { labels: { a: '1', b: '2' } } };

  it('is the same whatever the order of keys, at every depth, and keeps the order of lists', () => {
    expect(stableHash(reordered)).to.equal(stableHash(template));
    expect(canonicalJson(reordered)).to.equal('{"metadata":{"labels":{"a":"1","b":"2"}},"spec":{"containers":[{"env":[{"name":"A","value":"x"}],"image":"i:1","name":"auth-service"}]}}');
    expect(stableHash({ list: [1, 2] })).to.not.equal(stableHash({ list: [2, 1] }));
  });

  it('leaves undefined members out, as the API server never sees them', () => {
    expect(stableHash({ a: 1, b: undefined })).to.equal(stableHash({ a: 1 }));
  });

  it('is the same across releases: these values are pinned, since a changed hash rolls out every AuthService', () => {
    expect(stableHash(template)).to.equal('b35f02f2b8');
    expect(stableHash(template, 16)).to.equal('b35f02f2b8be39e7');
  });
});
