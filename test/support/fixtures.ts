/** Mocha global fixtures: stop what the support modules started once per run. */
import { stopSharedControlPlane } from './cluster.js';
import { stopPostgresServer } from './postgres.js';

export async function mochaGlobalTeardown(): Promise<void> {
  await Promise.all([stopPostgresServer(), stopSharedControlPlane()]);
}
