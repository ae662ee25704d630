// PostgreSQL outages under the real `serve` process: a throwaway PostgreSQL cluster of its own
// (never the machine's shared server) is stopped, restarted and has the controller's backends
// killed while jobs finish. The process stays up, /readyz goes 503 with the reason and back,
// /healthz stays 200, a write during the outage answers 503 with Retry-After, and afterwards every
// job run is recorded once with its result, and no job was launched twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { openPostgresStore } from '../../src/adapters/store/postgres/index.ts';
import { cleanup, tempDir, waitFor } from '../helpers/harness.ts';
import { freePort } from '../helpers/ports.ts';
import { http, startGatedScenario } from '../helpers/outage.ts';
import type { ServeProc } from '../helpers/serve-proc.ts';

const run = promisify(execFile);
const STREAM = '4.23.0-0.nightly';

/** the newest PostgreSQL server binaries installed (RC_TEST_PG_BIN overrides), or null */
function pgBin(): string | null {
  if (process.env.RC_TEST_PG_BIN) return process.env.RC_TEST_PG_BIN;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0]!, 'bin') : null;
}

/** A PostgreSQL cluster in a temp directory, run as user postgres when we are root (initdb refuses root). */
class Cluster {
  readonly dir: string;
  readonly url: string;
  constructor(
    private readonly bin: string,
    readonly port: number,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'rc-pg-'));
    this.url = `postgres://postgres@127.0.0.1:${port}/rc`;
  }

  private async as(cmd: string, args: string[]): Promise<string> {
    const full = join(this.bin, cmd);
    const r = userInfo().uid === 0 ? await run('runuser', ['-u', 'postgres', '--', full, ...args]) : await run(full, args);
    return r.stdout + r.stderr;
  }

  private ctl(...args: string[]): Promise<string> {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    return this.as('pg_ctl', ['-D', join(this.dir, 'data'), '-l', join(this.dir, 'server.log'), '-o', opts, '-w', ...args]);
  }

  async init(): Promise<void> {
    if (userInfo().uid === 0) chownSync(this.dir, Number((await run('id', ['-u', 'postgres'])).stdout.trim()), Number((await run('id', ['-g', 'postgres'])).stdout.trim()));
    await this.as('initdb', ['-D', join(this.dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    await this.start();
    await this.sql('postgres', 'CREATE DATABASE rc');
  }

  start = () => this.ctl('start');
  stop = () => this.ctl('-m', 'fast', 'stop');
  restart = () => this.ctl('-m', 'fast', 'restart');

  async sql<T extends pg.QueryResultRow>(db: string, text: string): Promise<T[]> {
    const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${this.port}/${db}` });
    await c.connect();
    try {
      return (await c.query<T>(text)).rows;
    } finally {
      await c.end();
    }
  }

  /** kills every backend of database rc but this one and `spare` (the controller's pooled connections) */
  async terminateBackends(spare = 0): Promise<number> {
    const rows = await this.sql<{ ok: boolean }>('rc', `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = 'rc' AND pid <> pg_backend_pid() AND pid <> ${Number(spare)}`);
    return rows.length;
  }

  /** backends of database rc waiting for a lock */
  waitingBackends(): Promise<{ pid: number }[]> {
    return this.sql('rc', "SELECT pid FROM pg_stat_activity WHERE datname = 'rc' AND wait_event_type = 'Lock'");
  }

  async destroy(): Promise<void> {
    await this.ctl('-m', 'immediate', 'stop').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const bin = pgBin();
const skip = bin ? false : 'PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql; set RC_TEST_PG_BIN';

test('postgres outage: server stopped, restarted and backends killed mid-run — serve stays up, /readyz 503 and back, no result lost, no job launched twice', { skip, timeout: 90_000 }, async () => {
  const cluster = new Cluster(bin!, await freePort());
  const dir = tempDir();
  let proc: ServeProc | undefined;
  try {
    await cluster.init();
    const sc = await startGatedScenario({ dir, db: cluster.url, stream: STREAM });
    const { base, readyz, putTags, tagList, newPayload, accepted, release } = sc;
    proc = sc.proc;
    const pid = proc.child.pid;

    // 1. the server goes away while jobs finish: the results wait, writes are refused, reads go on
    const t1 = await newPayload();
    await cluster.stop();
    const down = Date.now();
    release(t1);
    const ready = await sc.notReady();
    assert.match(ready, /^not ready: store unavailable: .*(ECONNREFUSED|terminat|shut).* \(since .*Z, \d+ attempts?\)\n$/);
    assert.equal((await http(`${base}/healthz`)).status, 200);
    const refused = await putTags();
    assert.equal(refused.status, 503, refused.text);
    assert.match(refused.headers.get('retry-after') ?? '', /^[1-5]$/);
    assert.match(JSON.parse(refused.text).error, /^store unavailable: /);
    assert.equal((await tagList()).find((t) => t.name === t1)?.phase, 'Ready', 'reads serve the last view');
    // long enough for the backoff to reach its cap (100, 200, 400 … 3200, 5000 ms)
    await waitFor('the backoff at its 5 s cap', () => /retrying in 5000 ms/.test(proc!.output()), 20_000);
    const later = await putTags();
    assert.equal(later.status, 503, later.text);
    assert.equal(later.headers.get('retry-after'), '5');
    await cluster.start();
    await waitFor('/readyz 200 again', async () => (await readyz()).status === 200, 20_000);
    const outageMs = Date.now() - down;
    await accepted(t1);

    // 2. a restart while results arrive
    const t2 = await newPayload();
    release(t2);
    await cluster.restart();
    await accepted(t2);

    // 3. the controller's backends are killed: idle ones, and one in the middle of recording a result
    const t3 = await newPayload();
    let killed = await cluster.terminateBackends();
    const locker = new pg.Client({ connectionString: cluster.url });
    await locker.connect();
    const lockerPid = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE job_runs IN ACCESS EXCLUSIVE MODE');
    release(t3);
    for (let i = 0; i < 2; i++) {
      // the controller's transaction waits for the lock: kill its backend mid-transaction
      await waitFor('a commit waiting for the lock', async () => (await cluster.waitingBackends()).length > 0, 20_000);
      killed += await cluster.terminateBackends(lockerPid);
      await waitFor('the killed commit retried', async () => (await readyz()).text.includes('administrator command'), 20_000);
    }
    await locker.query('ROLLBACK');
    await locker.end();
    await accepted(t3);
    assert.equal((await readyz()).status, 200);

    // the same process all along
    assert.equal(proc.child.exitCode, null, proc.output());
    assert.equal(proc.child.pid, pid);
    assert.doesNotMatch(proc.output(), /uncaught exception|unhandled promise rejection/);
    assert.match(proc.output(), /store commit failed \(attempt 1\), retrying in 100 ms/);
    assert.match(proc.output(), /store available again after \d+ failed attempts?/);
    proc.child.kill('SIGINT');
    assert.equal(await proc.exited, 0, proc.output());

    // every run recorded once with its result; every run launched exactly once
    const store = await openPostgresStore(cluster.url);
    const snap = await store.load();
    const events = await store.listEvents({ stream: STREAM, limit: 10_000 });
    await store.close();
    const counts = sc.assertRecordedOnce(snap, events, [t1, t2, t3]);
    for (const tag of [t1, t2, t3]) assert.equal(snap.payloads.find((p) => p.tag === tag)?.phase, 'Accepted');
    const attempts = [...proc.output().matchAll(/store commit failed \(attempt \d+\)/g)].length;
    console.log(`# postgres /readyz said ${JSON.stringify(ready.trim())}, a refused write got Retry-After: ${refused.headers.get('retry-after')}`);
    console.log(`# postgres: outage of ${(outageMs / 1000).toFixed(1)} s survived (${attempts} failed commit attempts logged), a fast restart, ${killed} backends killed; ${snap.jobRuns.length} runs recorded once each, ${counts.size} launches`);
  } finally {
    if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
    await cluster.destroy();
    cleanup(dir);
  }
});
