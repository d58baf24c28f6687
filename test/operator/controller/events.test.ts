import { expect } from 'chai';
import { createEventRecorder } from '../../../operator/controller/events.js';
import type { KubeClient, KubeObject } from '../../../operator/kube/client.js';
import { adminClient, createNamespace } from '../../support/cluster.js';

type Event = KubeObject & { reason: string; message: string; count: number; involvedObject: { uid: string } };

describe('Event recorder', function () {
  this.timeout(60_000);
  let admin: KubeClient;
  let ns: string;
  let subject: KubeObject;

  before(async () => {
    admin = await adminClient();
    ns = await createNamespace(admin, 'events');
    subject = await admin.create(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'subject', namespace: ns } } as KubeObject);
  });

  const eventsAbout = async (): Promise<Event[]> =>
    (await admin.list<Event>(`/api/v1/namespaces/${ns}/events`)).items.filter((e) => e.involvedObject.uid === subject.metadata?.uid);

  it('bumps the count of one Event for a repeat, even one recorded before the first create answered', async () => {
    const errors: unknown[] = [];
    const recorder = createEventRecorder(admin, 'test', (err) => errors.push(err));
    const writesBefore = admin.writes;
    // Sent without waiting, as the reconciler does.
    await Promise.all([
      recorder.record(subject, 'Warning', 'ApplyFailed', 'Applying Deployment login-blue failed: quota'),
      recorder.record(subject, 'Warning', 'ApplyFailed', 'Applying Deployment login-blue failed: quota'),
    ]);
    await recorder.record(subject, 'Warning', 'ApplyFailed', 'Applying Deployment login-blue failed: quota');
    await recorder.record(subject, 'Normal', 'Created', 'Created Deployment login-blue, Service login-blue');
    expect(errors).to.deep.equal([]);
    const events = await eventsAbout();
    expect(events.map((e) => [e.reason, e.count]).sort()).to.deep.equal([['ApplyFailed', 3], ['Created', 1]]);
    expect(admin.writes - writesBefore, 'one create per Event, one patch per repeat').to.equal(4);
  });

  it('records afresh when the Event it would bump was deleted', async () => {
    const recorder = createEventRecorder(admin, 'test', () => undefined);
    await recorder.record(subject, 'Normal', 'Promoted', 'First revision abc serves on blue');
    const [first] = (await eventsAbout()).filter((e) => e.reason === 'Promoted');
    await admin.delete(`/api/v1/namespaces/${ns}/events/${first!.metadata!.name}`);
    await recorder.record(subject, 'Normal', 'Promoted', 'First revision abc serves on blue');
    const promoted = (await eventsAbout()).filter((e) => e.reason === 'Promoted');
    expect(promoted.map((e) => e.count)).to.deep.equal([1]);
  });
});
