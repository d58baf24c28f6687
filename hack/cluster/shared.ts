// One control plane per test process, shared by every suite that asks for it.
// Starting one takes ~4 s; a mocha run should pay that once, not per suite.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ControlPlane, type ControlPlaneOptions, startControlPlane } from './control-plane.js';

let shared: Promise<ControlPlane> | undefined;
let sharedDir: string | undefined;

/**
 * The process-wide control plane, started on first use in a temporary
 * directory. Suites must not stop or restart it (start their own with
 * startControlPlane for that) and should work in their own namespaces. It is
 * stopped by stopSharedControlPlane(), or killed when the process exits (mocha
 * runs with `exit: true`), and its directory is removed then.
 */
export function sharedControlPlane(options: Omit<ControlPlaneOptions, 'dir' | 'detached'> = {}): Promise<ControlPlane> {
  if (shared === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-control-plane-'));
    sharedDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    shared = startControlPlane({ ...options, dir });
    // A failed start is not cached: the next caller gets the error again from a fresh try.
    shared.catch(() => {
      shared = undefined;
    });
  }
  return shared;
}

/** Stops the shared control plane if one was started; the next sharedControlPlane() starts a new one. */
export async function stopSharedControlPlane(): Promise<void> {
  const plane = shared;
  shared = undefined;
  if (plane === undefined) return;
  await (await plane.catch(() => undefined))?.stop();
  if (sharedDir !== undefined) rmSync(sharedDir, { recursive: true, force: true });
}
