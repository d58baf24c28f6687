/**
 * Baseline child: the raw bcrypt limit of this machine. `concurrency` loops of
 * bcrypt.compare (the async API, on libuv's pool, exactly as the service's
 * login) at the given cost, measured in a window that opens `settleSeconds`
 * after the start, the same way the login runs are: throughput = concurrency ÷
 * mean latency of the compares that end in the window (Little's law).
 * Started with the same UV_THREADPOOL_SIZE as the service. Reports over IPC.
 */
import bcrypt from 'bcrypt';

const [cost, concurrency, settleSeconds, durationSeconds] = process.argv.slice(2).map(Number) as [number, number, number, number];

async function main(): Promise<void> {
  const password = 'correct horse battery staple';
  const hash = await bcrypt.hash(password, cost);
  const started = performance.now();
  const from = started + settleSeconds * 1000;
  const until = from + durationSeconds * 1000;
  // CPU of the counting window only, so compares per CPU-second compare with the service's logins per CPU-second.
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  let windowCpu: NodeJS.CpuUsage | undefined;
  setTimeout(() => (cpuAtStart = process.cpuUsage()), from - performance.now());
  setTimeout(() => (windowCpu = process.cpuUsage(cpuAtStart)), until - performance.now());
  let completed = 0;
  let latencySum = 0;
  let mismatches = 0;
  const loop = async (): Promise<void> => {
    while (performance.now() < until) {
      const sent = performance.now();
      const ok = await bcrypt.compare(password, hash);
      const now = performance.now();
      if (!ok) mismatches++;
      if (now >= from && now < until) {
        completed++;
        latencySum += now - sent;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const cpuSeconds = windowCpu ? (windowCpu.user + windowCpu.system) / 1e6 : NaN;
  process.send!({
    type: 'result',
    value: {
      cost,
      concurrency,
      threadpool: Number(process.env['UV_THREADPOOL_SIZE'] ?? 4),
      seconds: durationSeconds,
      completed,
      meanLatencyMs: latencySum / completed,
      perSecond: concurrency / (latencySum / completed / 1000),
      countedPerSecond: completed / durationSeconds,
      cpuSeconds,
      cpuPercent: Math.round((cpuSeconds / durationSeconds) * 100),
      mismatches,
    },
  });
  process.disconnect();
}

main().catch((err: unknown) => {
  process.stderr.write(`bcrypt baseline failed: ${String(err)}\n`);
  process.exit(1);
});
