// PostgreSQL figures at the benchmark's scale (issue 20, item 5; `npm run bench -- [--scale 2m] --pg`):
// the state seeded into a fresh PostgreSQL database (job runs by multi-row INSERTs, see
// bulkRunWriter), then event→verdict and resync of a Controller on the PostgreSQL store (opened the
// normal way, so it loads whatever the store's load gives it), then cold start of a real
// `serve --db postgres://…` replica (process start → /readyz) and its RSS once ready, then the same
// for a follower (--role api) that joins while a leader runs. The database
// is dropped at the end, on failure and on Ctrl-C.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openPostgresStore } from '../src/adapters/store/postgres/index.ts';
import { runControllerBench, seedInChild } from './controller-bench.ts';
import { freshDatabase, load1, median, startServe, writeServeFiles, type BenchServe } from './pg-helpers.ts';
import type { SeedOptions } from './seed.ts';
import { ms, type Table } from './table.ts';

export interface PgScaleOptions extends SeedOptions {
  events: number;
  /** cold starts measured (the first also warms the database's and the OS's caches) */
  coldRounds: number;
}

export interface PgTargets {
  verdictP99: number;
  resyncMs: number;
  coldMs: number;
  rssMB: number;
}

export async function runPgScaleBench(o: PgScaleOptions, T: PgTargets, dir: string, table: Table): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const db = await freshDatabase('rc_bench_pg');
  try {
    const { seeded, seedSeconds } = await seedInChild(db.url, { streams: o.streams, payloads: o.payloads, open: o.open, mix: o.mix }, dir);
    table.row('PostgreSQL: seeded state', `${seeded.payloads} payloads, ${seeded.runs} job runs in ${seedSeconds.toFixed(1)} s (runs by multi-row INSERT)`, '—', null);

    // a Controller on the PostgreSQL store, in this process
    const c = await runControllerBench({ dir, dbPath: '', seeded, seedSeconds }, { events: o.events, openStore: () => openPostgresStore(db.url) });
    const l = load1();
    table.row(`PostgreSQL: event-to-verdict (n=${c.eventToVerdict.n})`, `p50 ${ms(c.eventToVerdict.p50)}, p99 ${ms(c.eventToVerdict.p99)} (load ${l})`, `p99 ≤ ${T.verdictP99} ms`, c.eventToVerdict.p99 <= T.verdictP99);
    table.row(`PostgreSQL: full resync of ${o.streams} streams (median of ${c.resyncPasses.length} passes)`, `${ms(c.resyncMs)} [${c.resyncPasses.map((x) => x.toFixed(0)).join(', ')} ms], ${c.resyncWrites} writes (load ${l})`, `≤ ${T.resyncMs} ms, 0 writes`, c.resyncMs <= T.resyncMs && c.resyncWrites === 0);
    table.row('PostgreSQL: in-process load + first reconcile', `${ms(c.loadMs)} (load ${l})`, '—', null);
    await c.controller.stop();
    await c.store.close();

    // cold start of a real replica; the same replica id each time, so it takes its lease back at once
    const files = writeServeFiles(dir, o.streams, o.mix ?? 'lean');
    const args = (role: string, id: string) => ['--releases', files.releases, '--jobs', files.jobs, '--data', join(dir, 'data'), '--db', db.url, '--role', role, '--replica-id', id];
    const settledRss = async (p: BenchServe) => {
      // RSS once ready, and after it has settled (the first reconcile's garbage collected or not)
      const atReady = p.rssMB();
      await new Promise((r) => setTimeout(r, 3000));
      return Math.max(atReady, p.rssMB());
    };
    const colds: number[] = [];
    const rss: number[] = [];
    const loads: string[] = [];
    for (let i = 0; i < o.coldRounds; i++) {
      const p = await startServe(args('all', 'bench-cold'));
      try {
        colds.push(p.readyMs);
        rss.push(await settledRss(p));
        loads.push(load1());
      } finally {
        await p.stop();
      }
    }
    const cold = median(colds);
    table.row(`PostgreSQL: cold start, serve --db postgres:// → /readyz (${o.coldRounds} starts)`, `median ${ms(cold)} [${colds.map((x) => x.toFixed(0)).join(', ')} ms] (load ${loads.join(', ')})`, `≤ ${T.coldMs} ms`, cold <= T.coldMs);
    const r = median(rss);
    table.row('PostgreSQL: RSS of that replica once ready (max of at /readyz and 3 s later)', `median ${r.toFixed(0)} MB [${rss.map((x) => x.toFixed(0)).join(', ')}]`, `≤ ${T.rssMB} MB`, r <= T.rssMB);

    // a follower (--role api) joining while that replica leads: its start reads the state through the
    // replication snapshot, then follows the change log
    const leader = await startServe(args('all', 'bench-cold'));
    try {
      const f = await startServe(args('api', 'bench-follower'));
      try {
        const fr = await settledRss(f);
        const l2 = load1();
        table.row('PostgreSQL: cold start of a follower (--role api) → /readyz, beside a leader', `${ms(f.readyMs)} (load ${l2})`, `≤ ${T.coldMs} ms`, f.readyMs <= T.coldMs);
        table.row('PostgreSQL: RSS of that follower once ready; of its leader', `${fr.toFixed(0)} MB; ${leader.rssMB().toFixed(0)} MB`, `≤ ${T.rssMB} MB`, fr <= T.rssMB);
      } finally {
        await f.stop();
      }
    } finally {
      await leader.stop();
    }
  } finally {
    await db.drop();
  }
}
