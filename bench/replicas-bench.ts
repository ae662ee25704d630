// `npm run bench:replicas [-- --quick] [--streams N --payloads N --rounds N --duration S --connections N --rate N --lag-seconds S]`
// Several real `serve` replicas on one fresh PostgreSQL database (issue 17), seeded through the
// real store (default 50 streams × 50 payloads × ~40 runs):
// - API throughput of 1, 2 and 3 replicas: a fixed number of keep-alive connections (default 48)
//   spread evenly over the replicas of the configuration, cycling through `tags` and `latest` of 10
//   streams; configurations alternate in rounds (1, 2, 3, 1, 2, 3, …) so machine noise falls on all
//   alike, and the table prints each one's median req/s and its median ratio to 1 replica with the
//   spread. All three processes run throughout (the replicas outside a configuration stay idle);
//   the state is quiet, so this is the response cache's throughput per replica.
// - Follower lag: ~100 writes per second through the leader (stream locks with a numbered reason:
//   each a commit, a change-log entry and a NOTIFY), and on each follower's live feed
//   (/api/v1/events) the time from the write's acknowledgement to its event arriving.
// The replicas run the compiled dist/ (built first when older than the sources). Every figure notes
// the 1-minute load average (another benchmark may share the 2 cores). The database is dropped at
// the end, on failure and on Ctrl-C.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { openPostgresStore } from '../src/adapters/store/postgres/index.ts';
import { percentile } from './controller-bench.ts';
import { BENCH_TOKEN, bulkRunWriter, ensureBuild, freshDatabase, load1, median, startServe, writeServeFiles, type BenchServe } from './pg-helpers.ts';
import { seed } from './seed.ts';
import { readFeed } from '../test/helpers/sse.ts';
import { ms, Table } from './table.ts';

export interface ReplicaBenchOptions {
  streams: number;
  payloads: number;
  /** alternating rounds of 1, 2 and 3 replicas */
  rounds: number;
  /** seconds of load per configuration and round */
  duration: number;
  /** keep-alive connections of the load generator, split over the replicas */
  connections: number;
  /** writes per second through the leader during the lag measurement */
  rate: number;
  lagSeconds: number;
}

export const DEFAULT_REPLICA_BENCH: ReplicaBenchOptions = { streams: 50, payloads: 50, rounds: 3, duration: 5, connections: 48, rate: 100, lagSeconds: 10 };
export const QUICK_REPLICA_BENCH: ReplicaBenchOptions = { streams: 10, payloads: 20, rounds: 3, duration: 2, connections: 24, rate: 100, lagSeconds: 3 };

interface LoadResult {
  rps: number;
  perTarget: number[];
  p50: number;
  p99: number;
  errors: number;
}

async function load(targets: { url: string; connections: number }[], paths: string[], duration: number): Promise<LoadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve('bench/load-worker.ts'), JSON.stringify({ targets, paths, duration })], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`load generator exited ${code}: ${out}`);
  return JSON.parse(out) as LoadResult;
}

async function metric(p: BenchServe, name: string): Promise<number | null> {
  const r = await fetch(`${p.url}/metrics`, { signal: AbortSignal.timeout(5000) }).catch(() => null);
  if (!r || r.status !== 200) return null;
  const m = new RegExp(`^${name} (\\S+)`, 'm').exec(await r.text());
  return m ? Number(m[1]) : null;
}

/** reads the live feed of a replica; calls `on` with each event's type and data until aborted */
async function follow(p: BenchServe, signal: AbortSignal, on: (type: string, data: { data?: { reason?: string } }) => void): Promise<() => Promise<void>> {
  const feed = await readFeed(`${p.url}/api/v1/events`, signal, (e) => {
    if (e.data !== null) on(e.type, e.data as { data?: { reason?: string } });
  });
  if (feed.status !== 200) throw new Error(`live feed of ${p.url}: ${feed.status}`);
  return () => feed.done;
}

export async function runReplicaBench(o: ReplicaBenchOptions, dir: string, table: Table): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const db = await freshDatabase('rc_bench_replicas');
  const procs: BenchServe[] = [];
  try {
    const t0 = performance.now();
    const store = await openPostgresStore(db.url);
    await store.migrate();
    const writer = await bulkRunWriter(db.url);
    const seeded = await seed(store, { streams: o.streams, payloads: o.payloads, open: 0, mix: 'lean' }, undefined, writer);
    await writer.close();
    await store.close();
    table.row('replicas: seeded PostgreSQL state', `${seeded.payloads} payloads, ${seeded.runs} job runs in ${((performance.now() - t0) / 1000).toFixed(1)} s`, '—', null);

    const files = writeServeFiles(dir, o.streams, 'lean');
    const args = (id: string, role: string) => ['--releases', files.releases, '--jobs', files.jobs, '--tokens', files.tokens, '--data', join(dir, 'data'), '--db', db.url, '--role', role, '--replica-id', id, '--lease-duration', '10s'];
    // the first one leads (it is alone when the lease is free); the others follow
    procs.push(await startServe(args('bench-a', 'all')));
    procs.push(...(await Promise.all([startServe(args('bench-b', 'all')), startServe(args('bench-c', 'api'))])));
    table.row('replicas: start → /readyz (leader; followers)', `${ms(procs[0]!.readyMs)}; ${ms(procs[1]!.readyMs)}, ${ms(procs[2]!.readyMs)} (load ${load1()})`, '—', null);
    const leads = await Promise.all(procs.map((p) => metric(p, 'release_controller_leader')));
    if (leads.filter((l) => l === 1).length !== 1) throw new Error(`expected exactly one leader, got ${JSON.stringify(leads)}`);
    const leader = procs[leads.indexOf(1)]!;
    const followers = procs.filter((p) => p !== leader);

    // --- API throughput of 1, 2 and 3 replicas, alternating
    const names = seeded.streams.slice(0, 10).map((s) => s.name);
    const paths = names.flatMap((n) => [`/api/v1/releasestream/${n}/tags`, `/api/v1/releasestream/${n}/latest`]);
    for (const p of procs) await load([{ url: p.url, connections: 4 }], paths, 1); // warm each replica's cache and JIT
    const configs = [1, 2, 3];
    const rps = new Map<number, number[]>(configs.map((k) => [k, []]));
    const p99 = new Map<number, number[]>(configs.map((k) => [k, []]));
    let errors = 0;
    const loads: number[] = [];
    for (let r = 0; r < o.rounds; r++) {
      for (const k of configs) {
        const targets = procs.slice(0, k).map((p, i) => ({ url: p.url, connections: Math.floor(o.connections / k) + (i < o.connections % k ? 1 : 0) }));
        const res = await load(targets, paths, o.duration);
        rps.get(k)!.push(res.rps);
        p99.get(k)!.push(res.p99);
        errors += res.errors;
        loads.push(Number(load1()));
        console.error(`    round ${r + 1}, ${k} replica${k > 1 ? 's' : ''}: ${res.rps.toFixed(0)} req/s [${res.perTarget.map((x) => x.toFixed(0)).join(' + ')}], p99 ${res.p99} ms`);
      }
    }
    const loadNote = `load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`;
    for (const k of configs) {
      const ratios = rps.get(k)!.map((x, i) => x / rps.get(1)![i]!);
      const value = k === 1
        ? `${median(rps.get(1)!).toFixed(0)} req/s (rounds ${rps.get(1)!.map((x) => x.toFixed(0)).join(', ')}), p99 ${median(p99.get(1)!)} ms`
        : `${median(rps.get(k)!).toFixed(0)} req/s, median ratio to 1: ${median(ratios).toFixed(2)}× (spread ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}), p99 ${median(p99.get(k)!)} ms`;
      table.row(`replicas: API throughput, ${k} replica${k > 1 ? 's' : ''} (${o.connections} connections, ${o.rounds} rounds)`, `${value} (${loadNote}${errors && k === 3 ? `; ${errors} errors` : ''})`, '— (2 cores: server and load generator share them)', k === 3 && errors ? false : null);
    }

    // --- follower lag under ~o.rate writes per second through the leader
    const total = Math.round(o.rate * o.lagSeconds);
    const ack = new Array<number>(total).fill(NaN);
    const seen = followers.map(() => new Array<number>(total).fill(NaN));
    const aborter = new AbortController();
    const ends: (() => Promise<void>)[] = [];
    try {
      for (const [fi, f] of followers.entries()) {
        ends.push(await follow(f, aborter.signal, (type, e) => {
          const m = type === 'StreamLocked' ? /^bench lag (\d+)$/.exec(e.data?.reason ?? '') : null;
          if (m && Number(m[1]) < total) seen[fi]![Number(m[1])] = performance.now();
        }));
      }
      const ackLat: number[] = [];
      let failed = 0;
      let inFlight = 0;
      const pending: Promise<void>[] = [];
      const w0 = performance.now();
      for (let i = 0; i < total; i++) {
        const due = w0 + (i * 1000) / o.rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        while (inFlight >= 64) await new Promise((r) => setTimeout(r, 1));
        inFlight++;
        const sent = performance.now();
        pending.push(
          fetch(`${leader.url}/api/v1/releasestream/${seeded.streams[i % seeded.streams.length]!.name}/lock`, {
            method: 'POST',
            headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' },
            body: JSON.stringify({ locked: true, reason: `bench lag ${i}` }),
            signal: AbortSignal.timeout(10_000),
          })
            .then(async (r) => {
              await r.arrayBuffer();
              if (r.status !== 200) failed++;
              else {
                ack[i] = performance.now();
                ackLat.push(ack[i]! - sent);
              }
            })
            .catch(() => void failed++)
            .finally(() => void inFlight--),
        );
      }
      await Promise.all(pending);
      const writeSeconds = (performance.now() - w0) / 1000;
      // every acknowledged write reaches each follower's feed, or 5 s pass
      const w1 = performance.now();
      while (performance.now() - w1 < 5000 && seen.some((s) => ack.some((a, i) => !Number.isNaN(a) && Number.isNaN(s[i]!)))) await new Promise((r) => setTimeout(r, 20));
      const lags = seen.flatMap((s) => ack.flatMap((a, i) => (Number.isNaN(a) || Number.isNaN(s[i]!) ? [] : [Math.max(0, s[i]! - a)])));
      const missing = seen.reduce((n, s) => n + ack.filter((a, i) => !Number.isNaN(a) && Number.isNaN(s[i]!)).length, 0);
      const acked = ack.filter((a) => !Number.isNaN(a)).length;
      const viewLag = await Promise.all(followers.map((f) => metric(f, 'release_controller_view_lag_seconds')));
      const p99Lag = percentile(lags, 99);
      table.row(
        `replicas: follower lag (write ack → event on the follower's feed, ${followers.length} followers)`,
        `p50 ${ms(percentile(lags, 50))}, p99 ${ms(p99Lag)}, max ${ms(Math.max(...lags))}; ${(acked / writeSeconds).toFixed(0)} writes/s acknowledged (ack p99 ${ms(percentile(ackLat, 99))}), ${failed} failed, ${missing} never seen; view lag metric ${viewLag.map((v) => v?.toFixed(3)).join(', ')} s (load ${load1()})`,
        'p99 ≤ 1 s, none lost',
        p99Lag <= 1000 && missing === 0 && failed === 0 && acked / writeSeconds >= o.rate * 0.9,
      );
    } finally {
      aborter.abort();
      await Promise.all(ends.map((e) => e()));
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await db.drop();
  }
}

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name}: a positive number (got ${process.argv[i + 1]})`);
  return v;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const base = process.argv.includes('--quick') ? QUICK_REPLICA_BENCH : DEFAULT_REPLICA_BENCH;
  const o: ReplicaBenchOptions = {
    streams: flag('--streams', base.streams), payloads: flag('--payloads', base.payloads), rounds: flag('--rounds', base.rounds), duration: flag('--duration', base.duration),
    connections: flag('--connections', base.connections), rate: flag('--rate', base.rate), lagSeconds: flag('--lag-seconds', base.lagSeconds),
  };
  const table = new Table();
  ensureBuild();
  console.error(`replica benchmark: ${o.streams} streams × ${o.payloads} payloads on PostgreSQL, ${o.rounds} rounds of ${o.duration} s, ${o.connections} connections; lag under ${o.rate} writes/s for ${o.lagSeconds} s`);
  runReplicaBench(o, resolve('bench-output/replicas'), table).then(
    () => {
      table.print();
      process.exit(0);
    },
    (e) => {
      console.error(e);
      table.print();
      process.exit(1);
    },
  );
}
