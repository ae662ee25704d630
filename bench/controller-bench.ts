// Controller benchmarks on a production-scale state: event-to-verdict latency and full resync.
// The executor here is a port implementation whose runs finish when the benchmark says so: the
// measured span starts when a completion is reported to the executor port (issue 8, item 1).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { LocalBuilder } from '../src/adapters/builder/local/index.ts';
import { openSqliteStore } from '../src/adapters/store/sqlite/index.ts';
import { Controller } from '../src/controller/controller.ts';
import type { JobExecutor, JobSpec, JobStatus, JobStatusListener } from '../src/ports/executor.ts';
import type { Change, Store } from '../src/ports/store.ts';
import type { Seeded, SeedOptions } from './seed.ts';

export class ReportingExecutor implements JobExecutor {
  private listeners: JobStatusListener[] = [];
  readonly launched: JobSpec[] = [];
  async launch(spec: JobSpec): Promise<JobStatus> {
    this.launched.push(spec);
    return { runId: spec.runId, state: 'Pending', reason: '', url: `/logs/${spec.runId}`, logPath: '', startedAt: new Date().toISOString(), finishedAt: null };
  }
  async adopt(runId: string): Promise<JobStatus | 'unknown'> {
    return { runId, state: 'Pending', reason: '', url: `/logs/${runId}`, logPath: '', startedAt: null, finishedAt: null };
  }
  async cancel(): Promise<void> {}
  onStatus(l: JobStatusListener): void {
    this.listeners.push(l);
  }
  complete(runId: string, state: 'Succeeded' | 'Failed'): void {
    const now = new Date().toISOString();
    for (const l of this.listeners) l({ runId, state, reason: state === 'Failed' ? 'exit code 1' : '', url: `/logs/${runId}`, logPath: '', startedAt: now, finishedAt: now });
  }
  async shutdown(): Promise<void> {}
}

/** Counts store commits that change anything (a resync with no changes must write nothing). */
export class CountingStore implements Store {
  commits = 0;
  changes = 0;
  constructor(readonly inner: Store) {}
  migrate() {
    return this.inner.migrate();
  }
  load(opts?: { activeRunsOnly?: boolean }) {
    return this.inner.load(opts);
  }
  get runsOfSync() {
    return this.inner.runsOfSync?.bind(this.inner);
  }
  // the PostgreSQL store's on-demand reads of settled payloads' runs
  get runsOf() {
    return this.inner.runsOf?.bind(this.inner);
  }
  commit(c: Change[]) {
    this.commits++;
    this.changes += c.length;
    return this.inner.commit(c);
  }
  listEvents(q: Parameters<Store['listEvents']>[0]) {
    return this.inner.listEvents(q);
  }
  pruneEvents(before: string) {
    return this.inner.pruneEvents(before);
  }
  listRunIds() {
    return this.inner.listRunIds();
  }
  close() {
    return this.inner.close();
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export interface StateFixture {
  dir: string;
  dbPath: string;
  seeded: Seeded;
  seedSeconds: number;
}

/**
 * Seeds `target` (`sqlite:FILE` or a postgres:// URL) in a child process (bench/seed-main.ts), so
 * this process opens the state the way a production replica does, with none of the seeding's
 * garbage in its heap.
 */
export async function seedInChild(target: string, o: SeedOptions, dir: string): Promise<{ seeded: Seeded; seedSeconds: number }> {
  const out = join(dir, 'seeded.json');
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./seed-main.ts', import.meta.url)), out, target, JSON.stringify(o)], { stdio: ['ignore', 'inherit', 'inherit'] });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`seeding ${target.replace(/\/\/[^@]*@/, '//')} failed (exit ${code})`);
  return JSON.parse(readFileSync(out, 'utf8')) as { seeded: Seeded; seedSeconds: number };
}

export async function buildState(dir: string, o: SeedOptions): Promise<StateFixture> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const dbPath = join(dir, 'bench.db');
  const { seeded, seedSeconds } = await seedInChild(`sqlite:${dbPath}`, o, dir);
  return { dir, dbPath, seeded, seedSeconds };
}

export interface ControllerFigures {
  loadMs: number;
  rssAfterLoadMB: number;
  /** median of the passes */
  resyncMs: number;
  resyncPasses: number[];
  resyncWrites: number;
  eventToVerdict: { n: number; p50: number; p99: number; max: number };
}

/** `opts.openStore`: the store holding the seeded state (default: the fixture's SQLite file), e.g. a PostgreSQL one */
export async function runControllerBench(f: StateFixture, opts: { events: number; openStore?: () => Promise<Store> }): Promise<ControllerFigures & { controller: Controller; store: Store; executor: ReportingExecutor }> {
  const store = new CountingStore(opts.openStore ? await opts.openStore() : openSqliteStore(f.dbPath));
  const executor = new ReportingExecutor();
  const t0 = performance.now();
  const controller = await Controller.create({
    store,
    executor,
    builder: new LocalBuilder(join(f.dir, 'payloads')),
    streams: f.seeded.streams.map((s) => ({ name: s.name, config: s.config, file: s.sourceFile, input: s.input })),
    resyncMs: 0,
  });
  await controller.start();
  const loadMs = performance.now() - t0;
  const rssAfterLoadMB = process.memoryUsage().rss / 1048576;

  // full resync of every stream with no changes, 5 times: must not write; the figure is their median
  const before = store.commits;
  const resyncPasses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r0 = performance.now();
    for (const s of f.seeded.streams) await controller.reconcile(s.name);
    resyncPasses.push(performance.now() - r0);
  }
  const resyncMs = percentile(resyncPasses, 50);
  const resyncWrites = store.commits - before;

  // event-to-verdict latency
  const lat: number[] = [];
  const items = f.seeded.open.slice(0, opts.events);
  for (const item of items) {
    const done = new Promise<void>((resolve) => {
      const off = controller.subscribe((e) => {
        if (e.tag !== item.tag) return;
        if ((item.qe && e.type === 'QEStateChanged') || (!item.qe && e.type === 'PhaseChanged')) {
          off();
          resolve();
        }
      });
    });
    const t = performance.now();
    executor.complete(item.runId, 'Succeeded');
    await done;
    lat.push(performance.now() - t);
    // the verdict must be visible through the read view the API uses
    const p = controller.state.payload(item.stream, item.tag)!;
    if (item.qe ? p.qe.state !== 'QEAccepted' : p.phase !== 'Accepted') throw new Error(`unexpected state for ${item.tag}: ${p.phase}/${p.qe.state}`);
  }
  await controller.idle();
  return {
    loadMs,
    rssAfterLoadMB,
    resyncMs,
    resyncPasses,
    resyncWrites,
    eventToVerdict: { n: lat.length, p50: percentile(lat, 50), p99: percentile(lat, 99), max: Math.max(...lat) },
    controller,
    store,
    executor,
  };
}
