// Shared pieces of the PostgreSQL benchmarks (issues 17 and 20): a fresh database that is dropped
// again (at the end, on failure and on Ctrl-C), the bench's release configs and jobs as files, and
// real `serve` processes of the compiled build with their readiness, RSS and exit.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { JOB_RUN_COLS, jobRunParams, type Param } from '../src/adapters/store/rows.ts';
import type { JobRun } from '../src/domain/types.ts';
import { benchConfig, streamNames, type SeedWriter } from './seed.ts';
import { adminSql } from '../test/helpers/postgres.ts';

/** the server the benchmarks create their databases on (RC_BENCH_PG_URL, else the tests' one) */
export const PG_URL = process.env.RC_BENCH_PG_URL || process.env.RC_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const BENCH_TOKEN = 'bench-admin-token-0123456789abcdef';
const BIN = resolve('bin/release-controller.mjs');

const admin = (text: string) => adminSql(text, PG_URL);

export interface BenchDatabase {
  url: string;
  name: string;
  drop: () => Promise<void>;
}

const live = new Set<BenchDatabase>();
const children = new Set<ChildProcess>();
let hooked = false;
/** Ctrl-C or SIGTERM: kill the serve processes and drop the databases before exiting */
function hookSignals(): void {
  if (hooked) return;
  hooked = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      for (const c of children) c.kill('SIGKILL');
      void Promise.allSettled([...live].map((d) => d.drop())).then(() => process.exit(130));
    });
  }
}

/** a new, empty database on the bench server; drop() removes it (idempotent) */
export async function freshDatabase(prefix: string): Promise<BenchDatabase> {
  hookSignals();
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  let dropped = false;
  const db: BenchDatabase = {
    url: u.toString(),
    name,
    drop: async () => {
      if (dropped) return;
      dropped = true;
      live.delete(db);
      await admin(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    },
  };
  live.add(db);
  return db;
}

/** the seeded streams' configs as files, a jobs file whose jobs succeed at once, and an admin token */
export function writeServeFiles(dir: string, streams: number, mix: 'lean' | 'real'): { releases: string; jobs: string; tokens: string } {
  const releases = join(dir, 'releases');
  mkdirSync(releases, { recursive: true });
  streamNames(streams).forEach((n, i) => writeFileSync(join(releases, `${n}.json`), JSON.stringify(benchConfig(n, i % 2 === 0, mix))));
  const jobs = join(dir, 'jobs.yaml');
  writeFileSync(jobs, 'jobs:\n  "*": { command: ["true"] }\n');
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, `- user: bench\n  token: ${BENCH_TOKEN}\n  roles: [admin, ci]\n`);
  return { releases, jobs, tokens };
}

/**
 * Seeding 2M runs through the store's one-row statements takes ~10 min on this machine, so the
 * PostgreSQL benchmarks write job runs with multi-row INSERTs of the store's own column list and
 * row mapping (src/adapters/store/rows.ts): the rows are the ones the store would write; everything
 * else (streams, payloads, input tags, published refs) goes through store.commit.
 */
export async function bulkRunWriter(url: string): Promise<SeedWriter & { close: () => Promise<void> }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const cols = JOB_RUN_COLS.split(',').length;
  const ROWS = 1000;
  return {
    bulkRuns: async (runs: JobRun[]) => {
      await c.query('BEGIN');
      for (let i = 0; i < runs.length; i += ROWS) {
        const batch = runs.slice(i, i + ROWS);
        const values: Param[] = [];
        const tuples = batch.map((r, k) => {
          values.push(...jobRunParams(r));
          return `(${Array.from({ length: cols }, (_, j) => `$${k * cols + j + 1}`).join(', ')})`;
        });
        await c.query(`INSERT INTO job_runs (${JOB_RUN_COLS}) VALUES ${tuples.join(', ')}`, values);
      }
      await c.query('COMMIT');
    },
    close: () => c.end(),
  };
}

/** builds dist/ (incremental: about a second when nothing changed) so the replicas run the compiled runtime */
export function ensureBuild(): void {
  const r = spawnSync(process.execPath, [resolve('scripts/build.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('the build failed: the benchmarks measure the compiled runtime');
}

export interface BenchServe {
  child: ChildProcess;
  url: string;
  /** process start → /readyz 200, ms */
  readyMs: number;
  output: () => string;
  /** resident set size now, MB (from /proc) */
  rssMB: () => number;
  stop: () => Promise<void>;
}

/**
 * Starts `serve ARGS` from the compiled build (RELEASE_CONTROLLER_SOURCES=0; ensureBuild() first)
 * and resolves once its /readyz answers 200.
 */
export async function startServe(args: string[], timeoutMs = 300_000): Promise<BenchServe> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, 'serve', ...args, '--port', '0', '--host', '127.0.0.1', '--no-watch', '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', RELEASE_CONTROLLER_SOURCES: '0' },
  });
  children.add(child);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let out = '';
  const keep = (d: Buffer) => {
    out += d;
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    children.delete(child);
  };
  try {
    let url = '';
    for (;;) {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${out.slice(-2000)}`);
      if (!url) {
        url = /listening on (http:\/\/[^\s"]+)/.exec(out)?.[1] ?? '';
        if (url && !out.includes('"runtime":"compiled"')) throw new Error(`serve runs the TypeScript sources, not dist/ (npm run build first): ${out.slice(0, 400)}`);
      }
      if (url) {
        const r = await fetch(`${url}/readyz`).catch(() => null);
        await r?.arrayBuffer();
        if (r?.status === 200) break;
      }
      if (performance.now() - t0 > timeoutMs) throw new Error(`serve not ready in ${timeoutMs / 1000} s: ${out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const readyMs = performance.now() - t0;
    return { child, url, readyMs, output: () => out, rssMB: () => rssOf(child.pid!), stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** the 1-minute load average, for the note next to a figure (another benchmark may share the machine) */
export const load1 = () => loadavg()[0]!.toFixed(2);

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
