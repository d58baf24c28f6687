// Where the control plane's executables are: the version-keyed cache that
// build.sh fills, or KUBEBUILDER_ASSETS for etcd and kube-apiserver.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const componentNames = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
export type ComponentName = (typeof componentNames)[number];
export type Binaries = Record<ComponentName, string>;

export const buildScript = join(dirname(fileURLToPath(import.meta.url)), 'build.sh');

/** The cache directory build.sh builds into; build.sh owns the versioned naming. */
export function cacheBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync('bash', [buildScript, '--print-bin-dir'], { env, encoding: 'utf8' }).trim();
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Paths of the five executables, or an Error telling how to build the missing ones. */
export function locateBinaries(env: NodeJS.ProcessEnv = process.env): Binaries {
  const binDir = cacheBinDir(env);
  const assets = env.KUBEBUILDER_ASSETS;
  const missing: string[] = [];
  const pick = (name: ComponentName): string => {
    if ((name === 'etcd' || name === 'kube-apiserver') && assets && executable(join(assets, name))) return join(assets, name);
    const path = join(binDir, name);
    if (!executable(path)) missing.push(name);
    return path;
  };
  const binaries = Object.fromEntries(componentNames.map((n) => [n, pick(n)])) as Binaries;
  if (missing.length > 0) {
    throw new Error(
      `control-plane binaries not built: ${missing.join(', ')} missing in ${binDir}.\n` +
        `Build them once with:  bash hack/cluster/build.sh   (a cold build takes about 7 minutes; later runs are instant)`,
    );
  }
  return binaries;
}

/**
 * The kubectl build.sh builds beside the control plane, of the API server's own version. The one
 * on the image is two minor versions older, outside kubectl's skew policy (one minor either way),
 * so the tests, the demo and `npm run cluster` drive the cluster with this one.
 */
export function locateKubectl(env: NodeJS.ProcessEnv = process.env): string {
  const path = join(cacheBinDir(env), 'kubectl');
  if (!executable(path)) {
    throw new Error(
      `kubectl of the control plane's version not built: ${path} is missing.\n` +
        `Build it with:  bash hack/cluster/build.sh   (it builds only what is missing: a few minutes)`,
    );
  }
  return path;
}
