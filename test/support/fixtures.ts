/** Mocha global fixtures: stop what the support modules started once per run. */
import { stopPostgresServer } from './postgres.js';

export async function mochaGlobalTeardown(): Promise<void> {
  await stopPostgresServer();
}
