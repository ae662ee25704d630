// `npm run bench [-- --quick|--scale 2m] [--pg|--pg-only] [--replicas]`: the production-scale
// benchmark suite (issue 8). Prints a table of figures with their targets. Benchmarks print
// numbers; they never fail the test suite.
// - `--pg` adds the PostgreSQL figures at the same scale (issue 20 item 5, bench/pg-bench.ts): a
//   fresh database on RC_BENCH_PG_URL (default the tests' server), event→verdict and resync of a
//   Controller on it, cold start and RSS of a `serve --db postgres://…` replica; `--pg-only` prints
//   just those (it skips the SQLite figures).
// - `--replicas` adds the replica figures (issue 17): the same as `npm run bench:replicas` (see
//   bench/replicas-bench.ts for its own flags): API throughput of 1, 2 and 3 real replicas on one
//   PostgreSQL database and follower lag under ~100 writes/s, at its own moderate scale
//   (50 streams × 50 payloads; 10 × 20 with --quick).
// Neither runs by default, so `npm run bench` takes as long as it did.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isKept } from '../src/domain/lifecycle.ts';
import { buildState, runControllerBench } from './controller-bench.ts';
import { runPgScaleBench } from './pg-bench.ts';
import { ensureBuild, startServe, writeServeFiles } from './pg-helpers.ts';
import { DEFAULT_REPLICA_BENCH, QUICK_REPLICA_BENCH, runReplicaBench } from './replicas-bench.ts';
import { ms, Table } from './table.ts';

const quick = process.argv.includes('--quick');
const scaleArg = process.argv.includes('--scale') ? process.argv[process.argv.indexOf('--scale') + 1] : '800k';
if (!['800k', '2m'].includes(scaleArg ?? '')) throw new Error(`--scale: 800k or 2m (got ${scaleArg})`);
// 800k: 200 streams × 100 payloads × ~40 runs; 2m: the same streams and payloads with a real
// nightly's ~100 runs each (aggregated entries with analysis runs, upgrades, QE, retries)
const scale = quick
  ? { streams: 20, payloads: 50, open: 5, events: 100, duration: 2, rounds: 3, uncached: 50, mix: 'lean' as const }
  : { streams: 200, payloads: 100, open: 5, events: 1000, duration: 5, rounds: 3, uncached: 200, mix: scaleArg === '2m' ? ('real' as const) : ('lean' as const) };
// targets: issue 8's at 800k runs, issue 20's at 2M
const T = scale.mix === 'real' ? { verdictP99: 20, resyncMs: 200, coldMs: 2000 } : { verdictP99: 50, resyncMs: 500, coldMs: 3000 };
const OUT = resolve('bench-output');
const pgOnly = process.argv.includes('--pg-only');
const withPg = pgOnly || process.argv.includes('--pg');
const withReplicas = process.argv.includes('--replicas');

const table = new Table();
const row = table.row.bind(table);

/** process start → /readyz of `serve` on the seeded SQLite file, compiled build (as bench/pg-bench.ts measures PostgreSQL) */
async function coldStart(dir: string, streams: number): Promise<number> {
  // the configs of the seeded streams, as files, so `serve` loads them like a real deployment
  const files = writeServeFiles(dir, streams, scale.mix);
  // the production runtime: compiled JavaScript (built now if dist/ is older than the sources)
  ensureBuild();
  const p = await startServe(['--releases', files.releases, '--jobs', files.jobs, '--data', dir, '--db', `sqlite:${join(dir, 'bench.db')}`], 120_000);
  await p.stop();
  return p.readyMs;
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
  console.error(`benchmark scale: ${scale.streams} streams × ${scale.payloads} payloads × ~${scale.mix === 'real' ? 100 : 40} job runs${quick ? ' (--quick)' : ` (--scale ${scaleArg})`}`);
  if (withPg || withReplicas) ensureBuild(); // their replicas run the compiled dist/
  if (!pgOnly) await sqliteFigures();
  if (withPg) await runPgScaleBench({ ...scale, coldRounds: 3 }, { verdictP99: T.verdictP99, resyncMs: T.resyncMs, coldMs: 6000, rssMB: 400 }, join(OUT, 'pg'), table);
  if (withReplicas) await runReplicaBench(quick ? QUICK_REPLICA_BENCH : DEFAULT_REPLICA_BENCH, join(OUT, 'replicas'), table);
  table.print();
}

async function sqliteFigures(): Promise<void> {
  const f = await buildState(join(OUT, 'state'), scale);
  row('seeded state', `${f.seeded.payloads} payloads, ${f.seeded.runs} job runs in ${f.seedSeconds.toFixed(1)} s`, '—', null);

  const c = await runControllerBench(f, { events: scale.events });
  row('event-to-verdict (n=' + c.eventToVerdict.n + ')', `p50 ${ms(c.eventToVerdict.p50)}, p99 ${ms(c.eventToVerdict.p99)}`, `p99 ≤ ${T.verdictP99} ms`, c.eventToVerdict.p99 <= T.verdictP99);
  row(`full resync of ${scale.streams} streams (median of ${c.resyncPasses.length} passes)`, `${ms(c.resyncMs)} [${c.resyncPasses.map((x) => x.toFixed(0)).join(', ')} ms], ${c.resyncWrites} writes`, `≤ ${T.resyncMs} ms, 0 writes`, c.resyncMs <= T.resyncMs && c.resyncWrites === 0);
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
    ['release/{tag}', `/api/v1/releasestream/${stream}/release/${tag}`, 0.5],
    ['releasestreams/accepted', '/api/v1/releasestreams/accepted', 0],
  ];
  // Live state: the controller applies ~50 changes per second to the measured stream during the
  // load (keep on/off of one of its payloads: a committed change that every view of the stream
  // shows), so the response cache keeps invalidating; quiet: nothing changes (cache hits).
  const churnTag = c.controller.state.payloads(stream)[20].tag;
  let churning = false;
  let changes = 0;
  let kept = isKept(c.controller.state.payload(stream, churnTag)!);
  const toggle = async () => {
    await c.controller.keep(stream, churnTag, !kept, 'bench churn', 'bench');
    kept = !kept;
  };
  const churn = async () => {
    while (churning) {
      const t = performance.now();
      await toggle();
      changes++;
      const wait = 20 - (performance.now() - t);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  };
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
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
    for (const mode of ['quiet', 'live'] as const) {
      // baseline and product alternate (A B A B …) so machine noise falls on both alike
      const ratios: number[] = [];
      const ours: Awaited<ReturnType<typeof load>>[] = [];
      const bases: number[] = [];
      let perSecond = 0;
      for (let i = 0; i < scale.rounds; i++) {
        const b = await load(bareUrl, scale.duration);
        changes = 0;
        churning = mode === 'live';
        const churner = churning ? churn() : Promise.resolve();
        const t = performance.now();
        const a = await load(base + path, scale.duration);
        churning = false;
        await churner;
        perSecond += changes / ((performance.now() - t) / 1000) / scale.rounds;
        ratios.push(a.rps / b.rps);
        ours.push(a);
        bases.push(b.rps);
      }
      const ratio = median(ratios);
      const a = ours[ratios.indexOf(ratio)]!;
      const errors = ours.reduce((n, x) => n + x.errors, 0);
      const want = mode === 'live' ? target : 0;
      row(
        `API ${name}, ${mode}${mode === 'live' ? ` (${perSecond.toFixed(0)} changes/s)` : ''} (${(body.length / 1024).toFixed(1)} KiB)`,
        `median ratio ${ratio.toFixed(2)} (spread ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}, ${scale.rounds} rounds); ${a.rps.toFixed(0)} req/s vs baseline ${median(bases).toFixed(0)}; p50 ${a.p50} ms, p99 ${a.p99} ms${errors ? `, ${errors} errors` : ''}`,
        `${want ? `≥ ${want} × baseline, ` : ''}p99 ≤ 20 ms`,
        (want ? ratio >= want : true) && a.p99 <= 20 && errors === 0,
      );
    }
    await new Promise((r) => bare.close(r));
    // uncached: a fresh state version before every request, one request at a time
    const lat: number[] = [];
    for (let i = 0; i < scale.uncached; i++) {
      await toggle();
      const t = performance.now();
      const r = await fetch(base + path);
      await r.arrayBuffer();
      lat.push(performance.now() - t);
    }
    lat.sort((x, y) => x - y);
    row(`API ${name}, uncached (fresh state per request, n=${lat.length})`, `p50 ${ms(lat[Math.floor(lat.length / 2)]!)}, p99 ${ms(lat[Math.floor(lat.length * 0.99)]!)}`, '—', null);
  }
  const rss = process.memoryUsage().rss / 1048576;
  row('RSS after the API load', `${rss.toFixed(0)} MB`, '≤ 400 MB', rss <= 400);
  await app.close();

  // console render
  try {
    const { runConsoleBench } = await import('./console-render.ts');
    const r = (await runConsoleBench({ quick })) as Record<string, { p50: number; p99: number }>;
    // the release page (a payload's jobs, upgrades, changelog) has issue 20's tighter target
    for (const [k, v] of Object.entries(r)) {
      const target = k.startsWith('release page') ? 10 : 30;
      row(`console ${k}`, `p50 ${ms(v.p50)}, p99 ${ms(v.p99)}`, `p50 ≤ ${target} ms`, v.p50 <= target);
    }
  } catch (e) {
    row('console render', `not measured: ${(e as Error).message}`, 'p50 ≤ 30 ms', false);
  }
  await c.controller.stop();
  await c.store.close();

  const cold = await coldStart(f.dir, scale.streams);
  row('cold start (process start → /readyz)', ms(cold), `≤ ${T.coldMs} ms`, cold <= T.coldMs);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    if (table.rows.length) table.print();
    process.exit(1);
  },
);
