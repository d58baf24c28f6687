/**
 * The V8 options the operator runs with: Dockerfile.operator sets them as NODE_OPTIONS, and
 * `npm run bench:operator` starts the operator with them, so the bench measures what the image runs
 * (test/images/dockerfiles.test.ts holds the two together).
 *
 * --max-semi-space-size=8 (MiB; Node 20's default is 16): the operator allocates in bursts, a watch
 * event and a pass per changed child, and V8 grew its young generation to the default's maximum in
 * every burst and kept it, which put the peak RSS with 205 AuthServices at 152-165 MiB against the
 * 150 MiB target. With 8 the same bench peaked at 136 MiB with reconciles/s unchanged (23.7 against
 * 24.7 /s, within the runs' noise); bench/README.md has the runs.
 */
export const OPERATOR_NODE_OPTIONS = '--max-semi-space-size=8';
