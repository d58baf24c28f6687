/** Command-line settings of `npm run bench:rollout`, and its --help. */
import { resolve } from 'node:path';

export interface RolloutBenchSettings {
  quick: boolean;
  /** Which series run (default all three). */
  series: Array<'flip' | 'pre' | 'rollback'>;
  /** Rollouts per series (no analysis, pre-promotion analysis, post-promotion failure). */
  rollouts: number;
  /** Replicas of each AuthService, hence of the colour brought up by every rollout. */
  replicas: number;
  /** intervalSeconds of the pre-promotion analysis (count 1) of the `pre` series. */
  preIntervalSeconds: number;
  /** intervalSeconds of the post-promotion analysis (count 1) of the `rollback` series: the wait between the flip and the failing check. */
  postIntervalSeconds: number;
  /** scaleDownDelaySeconds of every AuthService. */
  scaleDownDelaySeconds: number;
  /** Baseline selector patches after each rollout (interleaved, so both see the same machine). */
  baselinePerRollout: number;
  /** Longest wait for one rollout to finish before the series is given up. */
  rolloutTimeoutSeconds: number;
  /** The whole run stops starting rollouts after this long and reports what it has. */
  budgetSeconds: number;
  nodes: number;
  outDir: string;
  /** Also keep the control plane's component logs next to the JSON. */
  keepLogs: boolean;
}

export const usage = `Usage: npm run bench:rollout [-- options]

Blue/green rollout latency of keyward-operator against a local control plane
(hack/cluster, kwok pods). The operator runs as a child process under its own
RBAC; the bench watches Deployments, Services and AuthServices itself.

Series (interleaved, one rollout of each per round):
  flip      no analysis: new colour fully available → stable Service selector flipped
  pre       pre-promotion analysis, count 1: the same, plus one HTTP check
  rollback  post-promotion analysis against a loopback server answering 503:
            failure detected → selector back on the old colour
Baseline, interleaved: the bench patches a Service selector itself (server-side
apply as the operator's user): API round trip, and until its own watch sees it.

Options:
  --quick                       5 rollouts per series (about a minute)
  --rollouts <n>                rollouts per series (default 20; quick 5)
  --series <list>               which series, comma-separated (default flip,pre,rollback)
  --replicas <n>                replicas per AuthService (default 3)
  --pre-interval <s>            pre-promotion intervalSeconds (default 2; count 1 measures at once)
  --post-interval <s>           post-promotion intervalSeconds (default 1)
  --scale-down-delay <s>        scaleDownDelaySeconds (default 1)
  --baseline-per-rollout <n>    selector patches by the bench after each rollout (default 3)
  --rollout-timeout <s>         give a series up when one rollout takes longer (default 60)
  --budget <s>                  start no rollout after this long (default 480; quick 150)
  --nodes <n>                   kwok nodes (default 3)
  --out-dir <dir>               where the JSON and the operator log go (default bench/results)
  --keep-logs                   also keep the control plane's logs (etcd, kube-apiserver, kwok, …) there
  -h, --help                    this text

Prints a table and writes <out-dir>/rollout-<timestamp>.json. Exit 0 when the
run completed, also when a target is missed; 1 when the run itself failed.
`;

export class UsageError extends Error {}

const integer = (flag: string, value: string | undefined, min: number): number => {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < min) throw new UsageError(`${flag} expects an integer ≥ ${min}, got ${value ?? 'nothing'}`);
  return n;
};

/** undefined for --help. */
export function parseSettings(argv: readonly string[], defaultOutDir: string): RolloutBenchSettings | undefined {
  const quick = argv.includes('--quick');
  const s: RolloutBenchSettings = {
    quick,
    series: ['flip', 'pre', 'rollback'],
    rollouts: quick ? 5 : 20,
    replicas: 3,
    preIntervalSeconds: 2,
    postIntervalSeconds: 1,
    scaleDownDelaySeconds: 1,
    baselinePerRollout: 3,
    rolloutTimeoutSeconds: 60,
    budgetSeconds: quick ? 150 : 480,
    nodes: 3,
    outDir: defaultOutDir,
    keepLogs: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const next = (): string | undefined => argv[++i];
    switch (flag) {
      case '-h':
      case '--help':
        return undefined;
      case '--quick':
        break;
      case '--keep-logs':
        s.keepLogs = true;
        break;
      case '--series': {
        const names = (next() ?? '').split(',').filter(Boolean);
        const known = ['flip', 'pre', 'rollback'] as const;
        const bad = names.filter((n) => !(known as readonly string[]).includes(n));
        if (names.length === 0 || bad.length > 0) throw new UsageError(`--series expects a comma-separated subset of ${known.join(',')}${bad.length ? `, got ${bad.join(',')}` : ''}`);
        s.series = known.filter((k) => names.includes(k));
        break;
      }
      case '--rollouts': s.rollouts = integer(flag, next(), 1); break;
      case '--replicas': s.replicas = integer(flag, next(), 1); break;
      case '--pre-interval': s.preIntervalSeconds = integer(flag, next(), 1); break;
      case '--post-interval': s.postIntervalSeconds = integer(flag, next(), 1); break;
      case '--scale-down-delay': s.scaleDownDelaySeconds = integer(flag, next(), 0); break;
      case '--baseline-per-rollout': s.baselinePerRollout = integer(flag, next(), 1); break;
      case '--rollout-timeout': s.rolloutTimeoutSeconds = integer(flag, next(), 5); break;
      case '--budget': s.budgetSeconds = integer(flag, next(), 10); break;
      case '--nodes': s.nodes = integer(flag, next(), 1); break;
      case '--out-dir': {
        const dir = next();
        if (!dir) throw new UsageError('--out-dir expects a directory');
        s.outDir = resolve(dir);
        break;
      }
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  return s;
}
