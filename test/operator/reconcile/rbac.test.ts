// operator/rbac/clusterrole.yaml grants what the operator does, and no more.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { resourceFor } from '../../../operator/kube/resources.js';
import { renderAll } from '../../../operator/render.js';
import { everyField } from '../api/fixtures.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const file = (name: string) => fileURLToPath(new URL(`../../../operator/rbac/${name}`, import.meta.url));
const role = parse(readFileSync(file('clusterrole.yaml'), 'utf8')) as { kind: string; metadata: { name: string }; rules: Rule[] };

/** The verbs the role grants on group/resource. */
function verbsOn(group: string, resource: string): Set<string> {
  const verbs = new Set<string>();
  for (const rule of role.rules) {
    if (rule.apiGroups.includes(group) && rule.resources.includes(resource)) rule.verbs.forEach((v) => verbs.add(v));
  }
  return verbs;
}

describe('operator/rbac', function () {
  it('is one ClusterRole named keyward-operator', function () {
    expect(role.kind).to.equal('ClusterRole');
    expect(role.metadata.name).to.equal('keyward-operator');
  });

  it('lets the operator server-side apply, watch and delete every kind it renders, and nothing more on them', function () {
    const kinds = new Map(renderAll(everyField(), { activeColour: 'blue', secretsHash: 'h' }).map((o) => [`${o.apiVersion} ${o.kind}`, o]));
    expect(kinds.size).to.equal(11);
    for (const object of kinds.values()) {
      const { apiVersion, plural } = resourceFor(object.apiVersion, object.kind);
      const group = apiVersion.includes('/') ? apiVersion.split('/')[0] as string : '';
      // delete even on kinds never deleted: OwnerReferencesPermissionEnforcement asks for it to set an ownerReference.
      expect([...verbsOn(group, plural)], `${group}/${plural}`).to.have.members(['get', 'list', 'watch', 'create', 'patch', 'delete']);
    }
  });

  it('reads AuthServices, writes only their status, and may own children with blockOwnerDeletion', function () {
    expect([...verbsOn('auth.keyward.dev', 'authservices')]).to.have.members(['get', 'list', 'watch']);
    expect([...verbsOn('auth.keyward.dev', 'authservices/status')]).to.have.members(['get', 'patch']);
    expect([...verbsOn('auth.keyward.dev', 'authservices/finalizers')]).to.deep.equal(['update']);
  });

  it('only lists and watches Secrets, and may record events and hold its Lease; nothing on CRDs', function () {
    expect([...verbsOn('', 'secrets')]).to.have.members(['list', 'watch']);
    expect([...verbsOn('', 'events')]).to.have.members(['create', 'patch']);
    expect([...verbsOn('coordination.k8s.io', 'leases')]).to.have.members(['get', 'create', 'update']);
    expect(verbsOn('apiextensions.k8s.io', 'customresourcedefinitions').size).to.equal(0);
  });

  it('grants no wildcard, nothing on pods, namespaces or RBAC itself', function () {
    for (const rule of role.rules) {
      for (const list of [rule.apiGroups, rule.resources, rule.verbs]) expect(list).not.to.include('*');
    }
    expect(verbsOn('', 'pods').size).to.equal(0);
    expect(verbsOn('', 'namespaces').size).to.equal(0);
    expect(role.rules.some((r) => r.apiGroups.includes('rbac.authorization.k8s.io'))).to.equal(false);
  });

  it('ships a binding template for the operator’s ServiceAccount', function () {
    const [binding] = parseAllDocuments(readFileSync(file('clusterrolebinding.yaml'), 'utf8')).map((d) => d.toJS());
    expect(binding).to.deep.include({
      kind: 'ClusterRoleBinding',
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'keyward-operator' },
      subjects: [{ kind: 'ServiceAccount', name: 'keyward-operator', namespace: 'keyward-system' }],
    });
  });
});
