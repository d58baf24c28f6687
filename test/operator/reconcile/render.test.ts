// operator/render.ts: the whole desired state of an AuthService, and its YAML.
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { renderAll, toYaml, type RenderedObject } from '../../../operator/render.js';
import { everyField, login, loginInput, UID } from '../api/fixtures.js';

const kindsAndNames = (objects: RenderedObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`);

describe('renderAll', function () {
  it('renders every child object for an AuthService that enables everything', function () {
    const objects = renderAll(everyField(), { activeColour: 'blue', secretsHash: 'h' });
    expect(kindsAndNames(objects)).to.deep.equal([
      'ServiceAccount/login',
      'ConfigMap/login-backup-scripts',
      'Service/login',
      'Service/login-blue',
      'Service/login-green',
      'Deployment/login-blue',
      'Deployment/login-green',
      'HorizontalPodAutoscaler/login',
      'VerticalPodAutoscaler/login',
      'PodDisruptionBudget/login',
      'NetworkPolicy/login',
      'ServiceMonitor/login',
      'PrometheusRule/login',
      'CronJob/login-backup',
    ]);
  });

  it('renders no backup and no VPA for the minimal AuthService, whose defaults leave them off', function () {
    const objects = renderAll(login(), { activeColour: 'blue', secretsHash: 'h' });
    expect(kindsAndNames(objects)).not.to.include.members(['VerticalPodAutoscaler/login', 'CronJob/login-backup', 'ConfigMap/login-backup-scripts']);
    expect(objects).to.have.length(11);
  });

  it('leaves out the objects of optional CRDs that the cluster does not have', function () {
    const objects = renderAll(everyField(), {
      activeColour: 'blue',
      secretsHash: 'h',
      crds: { verticalPodAutoscaler: false, serviceMonitor: false, prometheusRule: false },
    });
    expect(objects.map((o) => o.kind)).not.to.include.members(['VerticalPodAutoscaler', 'ServiceMonitor', 'PrometheusRule']);
    expect(objects).to.have.length(11);
  });

  it('gives every object its namespace, the standard labels and the AuthService as controlling owner', function () {
    for (const object of renderAll(everyField(), { activeColour: 'blue', secretsHash: 'h' })) {
      const where = `${object.kind}/${object.metadata.name}`;
      expect(object.metadata.namespace, where).to.equal('auth-service');
      expect(object.metadata.labels, where).to.include({
        'app.kubernetes.io/name': 'keyward-auth',
        'app.kubernetes.io/instance': 'login',
        'app.kubernetes.io/managed-by': 'keyward-operator',
      });
      expect(object.metadata.labels?.['app.kubernetes.io/component'], where).to.be.oneOf(['auth-service', 'backup']);
      expect(object.metadata.ownerReferences, where).to.deep.equal([
        { apiVersion: 'auth.keyward.dev/v1alpha1', kind: 'AuthService', name: 'login', uid: UID, controller: true, blockOwnerDeletion: true },
      ]);
    }
  });

  it('points traffic, the HPA and the VPA at the active colour, and scales the idle one to nothing', function () {
    const objects = renderAll(everyField(), { activeColour: 'green', secretsHash: 'h' });
    /** The value at a dotted path of the object kind/name. */
    const field = (name: string, path: string): unknown =>
      path.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], objects.find((o) => `${o.kind}/${o.metadata.name}` === name));
    expect(field('Service/login', 'spec.selector')).to.have.property('auth.keyward.dev/color', 'green');
    expect(field('HorizontalPodAutoscaler/login', 'spec.scaleTargetRef.name')).to.equal('login-green');
    expect(field('VerticalPodAutoscaler/login', 'spec.targetRef.name')).to.equal('login-green');
    expect(field('Deployment/login-green', 'spec.replicas')).to.equal(4);
    expect(field('Deployment/login-blue', 'spec.replicas')).to.equal(0);
  });

  it('uses the replica counts it is given, e.g. the HPA’s current count for the active colour', function () {
    const objects = renderAll(login(), { activeColour: 'blue', secretsHash: 'h', replicas: { blue: 17, green: 17 } });
    const replicas = objects.filter((o) => o.kind === 'Deployment').map((o) => (o as { spec?: { replicas?: number } }).spec?.replicas);
    expect(replicas).to.deep.equal([17, 17]);
  });

  it('defaults a manifest as written before rendering it', function () {
    expect(renderAll(loginInput(), { activeColour: 'blue', secretsHash: 'h' })).to.deep.equal(renderAll(login(), { activeColour: 'blue', secretsHash: 'h' }));
  });

  it('puts the objects of a manifest without a namespace where it is told, or in default', function () {
    const input = loginInput();
    delete input.metadata.namespace;
    const namespaces = (options: { namespace?: string }) =>
      new Set(renderAll(input, { activeColour: 'blue', secretsHash: 'h', ...options }).map((o) => o.metadata.namespace));
    expect([...namespaces({ namespace: 'auth-service' })]).to.deep.equal(['auth-service']);
    expect([...namespaces({})]).to.deep.equal(['default']);
    expect(input.metadata).not.to.have.property('namespace');
  });

  it('never renders the same kind and name twice', function () {
    const names = kindsAndNames(renderAll(everyField(), { activeColour: 'blue', secretsHash: 'h' }));
    expect(new Set(names).size).to.equal(names.length);
  });

  it('returns objects that share nothing, so changing one changes no other', function () {
    const objects = renderAll(login(), { activeColour: 'blue', secretsHash: 'h' });
    const labels = objects[0]?.metadata.labels as Record<string, string>;
    labels['app.kubernetes.io/instance'] = 'changed';
    expect(objects[1]?.metadata.labels?.['app.kubernetes.io/instance']).to.equal('login');
  });

  it('is a pure function of its inputs', function () {
    const options = { activeColour: 'blue', secretsHash: 'h' } as const;
    expect(renderAll(everyField(), options)).to.deep.equal(renderAll(everyField(), options));
  });
});

describe('toYaml', function () {
  it('prints one YAML document per object that reads back to the same objects, without anchors', function () {
    const objects = renderAll(everyField(), { activeColour: 'blue', secretsHash: 'h' });
    const text = toYaml(objects);
    const documents = parseAllDocuments(text);
    expect(Array.isArray(documents) ? documents.map((d) => d.toJS()) : []).to.deep.equal(JSON.parse(JSON.stringify(objects)));
    expect(text).not.to.match(/[&*]a\d+\b/);
    expect(text.split('\n---\n')).to.have.length(objects.length);
  });
});
