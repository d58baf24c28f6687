// The record `npm run cluster -- up` leaves behind so that `status` and `down`
// (separate processes, possibly much later) find what it started.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ComponentProcess } from './control-plane.js';

/** A process started next to the control plane (e.g. the operator, with `up --operator`). */
export interface ExtraProcess {
  name: string;
  pid: number;
  command: string;
  /** The script `command` runs (node's own path says nothing: another node process may reuse the pid). */
  script?: string;
  logFile: string;
}

export interface ClusterState {
  version: 1;
  startedAt: string;
  dir: string;
  server: string;
  kubeconfig: string;
  caFile: string;
  adminToken: string;
  nodes: number;
  components: ComponentProcess[];
  /** Stopped by `down` before the control plane itself. */
  extras: ExtraProcess[];
}

export const stateFile = (dir: string) => join(dir, 'state.json');

export function readState(dir: string): ClusterState | undefined {
  const file = stateFile(dir);
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as ClusterState;
  if (state.version !== 1) throw new Error(`${file}: unknown state version ${String(state.version)}; remove it and run up again`);
  return state;
}

export function writeState(dir: string, state: ClusterState): void {
  writeFileSync(stateFile(dir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

export function removeState(dir: string): void {
  rmSync(stateFile(dir), { force: true });
}
