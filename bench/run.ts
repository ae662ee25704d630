// `npm run bench [-- --quick]`: the production-scale benchmark suite (issue 8). Prints a table of
// figures with their targets. Benchmarks print numbers; they never fail the test suite.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildState, runControllerBench } from './controller-bench.ts';

const quick = process.argv.includes('--quick');
const scale = quick ? { streams: 20, payloads: 50, open: 5, events: 100, duration: 3 } : { streams: 200, payloads: 100, open: 5, events: 1000, duration: 10 };
const OUT = resolve('bench-output');

interface Row {
  what: string;
  value: string;
  target: string;
  ok: boolean | null;
}
const rows: Row[] = [];
function row(what: string, value: string, target: string, ok: boolean | null): void {
  rows.push({ what, value, target, ok });
  console.error(`  ${what}: ${value}`);
}
const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 0)} ms`;

async function coldStart(dir: string, streams: number): Promise<number> {
  // the configs of the seeded streams, as files, so `serve` loads them like a real deployment
  const { benchConfig, streamNames } = await import('./seed.ts');
  const releases = join(dir, 'releases');
  mkdirSync(releases, { recursive: true });
  streamNames(streams).forEach((n, i) => writeFileSync(join(releases, `${n}.json`), JSON.stringify(benchConfig(n, i % 2 === 0))));
  const jobs = join(dir, 'jobs.yaml');
  writeFileSync(jobs, 'jobs:\n  "*": { command: ["true"] }\n');
  const t0 = performance.now();
  const child = spawn(process.execPath, [resolve('bin/release-controller.mjs'), 'serve', '--releases', releases, '--jobs', jobs, '--data', dir, '--db', `sqlite:${join(dir, 'bench.db')}`, '--port', '0', '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    let url = '';
    for (;;) {
      if (child.exitCode !== null) throw new Error(`serve exited: ${out}`);
      if (!url) url = /listening on (http:\/\/[^\s"]+)/.exec(out)?.[1] ?? '';
      if (url) {
        const r = await fetch(`${url}/readyz`).catch(() => null);
        if (r?.status === 200) break;
      }
      if (performance.now() - t0 > 120_000) throw new Error('cold start did not finish in 120 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    return performance.now() - t0;
  } finally {
    child.kill('SIGKILL');
  }
}

/** Runs autocannon in its own process (50 connections), so the load generator does not share the server's thread. */
async function load(url: string, duration: number): Promise<{ rps: number; p99: number; p50: number; errors: number }> {
  const cli = resolve('node_modules/autocannon/autocannon.js');
  const child = spawn(process.execPath, [cli, '-c', '50', '-d', String(duration), '-j', url], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise((r) => child.once('exit', r));
  const r = JSON.parse(out) as { requests: { average: number }; latency: { p99: number; p50: number }; errors: number; non2xx: number };
  return { rps: r.requests.average, p99: r.latency.p99, p50: r.latency.p50, errors: r.errors + r.non2xx };
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  console.error(`benchmark scale: ${scale.streams} streams × ${scale.payloads} payloads × ~40 job runs${quick ? ' (--quick)' : ''}`);
  const f = await buildState(join(OUT, 'state'), scale);
  row('seeded state', `${f.seeded.payloads} payloads, ${f.seeded.runs} job runs in ${f.seedSeconds.toFixed(1)} s`, '—', null);

  const c = await runControllerBench(f, { events: scale.events });
  row('event-to-verdict (n=' + c.eventToVerdict.n + ')', `p50 ${ms(c.eventToVerdict.p50)}, p99 ${ms(c.eventToVerdict.p99)}`, 'p99 ≤ 50 ms', c.eventToVerdict.p99 <= 50);
  row(`full resync of ${scale.streams} streams`, `${ms(c.resyncMs)}, ${c.resyncWrites} writes`, '≤ 500 ms, 0 writes', c.resyncMs <= 500 && c.resyncWrites === 0);
  row('in-process load + first reconcile', ms(c.loadMs), '—', null);
  row('RSS with the full state loaded', `${c.rssAfterLoadMB.toFixed(0)} MB`, '≤ 400 MB', c.rssAfterLoadMB <= 400);

  // API throughput against the same state, with a bare node:http baseline in the same run
  const { buildApp } = await import('../src/http/app.ts');
  const app = await buildApp({ ops: c.controller, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const stream = f.seeded.streams[0].name;
  const tag = c.controller.state.payloads(stream)[10].tag;
  const routes: [string, string, number][] = [
    ['latest', `/api/v1/releasestream/${stream}/latest`, 0.7],
    ['tags', `/api/v1/releasestream/${stream}/tags`, 0.5],
    ['release/{tag}', `/api/v1/releasestream/${stream}/release/${tag}`, 0],
    ['releasestreams/accepted', '/api/v1/releasestreams/accepted', 0],
  ];
  for (const [name, path, target] of routes) {
    const body = Buffer.from(await (await fetch(base + path)).arrayBuffer());
    const type = (await fetch(base + path)).headers.get('content-type') ?? 'application/json';
    const bare = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': type, 'content-length': body.length });
      res.end(body);
    });
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', () => r()));
    const bareAddr = bare.address();
    const bareUrl = `http://127.0.0.1:${typeof bareAddr === 'object' && bareAddr ? bareAddr.port : 0}/`;
    const b = await load(bareUrl, scale.duration);
    await new Promise((r) => bare.close(r));
    const a = await load(base + path, scale.duration);
    const ratio = a.rps / b.rps;
    row(
      `API ${name} (${(body.length / 1024).toFixed(1)} KiB)`,
      `${a.rps.toFixed(0)} req/s = ${ratio.toFixed(2)} × baseline ${b.rps.toFixed(0)}; p50 ${a.p50} ms, p99 ${a.p99} ms (baseline p99 ${b.p99} ms)${a.errors ? `, ${a.errors} errors` : ''}`,
      `${target ? `≥ ${target} × baseline, ` : ''}p99 ≤ 20 ms`,
      (target ? ratio >= target : true) && a.p99 <= 20 && a.errors === 0,
    );
  }
  const rss = process.memoryUsage().rss / 1048576;
  row('RSS after the API load', `${rss.toFixed(0)} MB`, '≤ 400 MB', rss <= 400);
  await app.close();

  // console render
  try {
    const { runConsoleBench } = await import('./console-render.ts');
    const r = (await runConsoleBench({ quick })) as Record<string, { p50: number; p99: number }>;
    for (const [k, v] of Object.entries(r)) row(`console ${k}`, `p50 ${ms(v.p50)}, p99 ${ms(v.p99)}`, 'p50 ≤ 30 ms', v.p50 <= 30);
  } catch (e) {
    row('console render', `not measured: ${(e as Error).message}`, 'p50 ≤ 30 ms', false);
  }
  await c.controller.stop();
  await c.store.close();

  const cold = await coldStart(f.dir, scale.streams);
  row('cold start (process start → /readyz)', ms(cold), '≤ 3000 ms', cold <= 3000);

  // the table
  const w = Math.max(...rows.map((r) => r.what.length));
  const v = Math.max(...rows.map((r) => r.value.length));
  console.log(`\n${'figure'.padEnd(w)}  ${'measured'.padEnd(v)}  target`);
  for (const r of rows) console.log(`${r.what.padEnd(w)}  ${r.value.padEnd(v)}  ${r.target}${r.ok === null ? '' : r.ok ? '  ✓' : '  ✗ missed'}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
