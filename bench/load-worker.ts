// The replica benchmark's load generator, in its own process so it does not share a thread with
// anything it measures: `node --import tsx bench/load-worker.ts JSON` runs one autocannon instance
// per target at once (each with its connections, cycling through the same request paths) for
// `duration` seconds and prints one JSON line: the summed req/s, the worst p99, errors.
import autocannon from 'autocannon';

interface Job {
  targets: { url: string; connections: number }[];
  paths: string[];
  duration: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const results = await Promise.all(
  job.targets.map(
    (t) =>
      new Promise<autocannon.Result>((resolve, reject) => {
        autocannon({ url: t.url, connections: t.connections, duration: job.duration, requests: job.paths.map((path) => ({ method: 'GET', path })) }, (err, r) => (err ? reject(err) : resolve(r)));
      }),
  ),
);
const perTarget = results.map((r) => r.requests.total / r.duration);
console.log(
  JSON.stringify({
    rps: perTarget.reduce((a, b) => a + b, 0),
    perTarget,
    p50: Math.max(...results.map((r) => r.latency.p50)),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    errors: results.reduce((n, r) => n + r.errors + r.timeouts + r.non2xx, 0),
  }),
);
