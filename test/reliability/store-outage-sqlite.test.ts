// A full disk under the real `serve` process: the SQLite database lives on a small tmpfs of its
// own, which is filled until commits fail with SQLITE_FULL while jobs finish. The process stays
// up, /readyz answers 503 with the reason, writes answer 503 with Retry-After; once space is freed
// every result is recorded and nothing was launched twice. Needs root (mount); skipped otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import { cleanup, tempDir, waitFor } from '../helpers/harness.ts';
import { http, startGatedScenario } from '../helpers/outage.ts';
import type { ServeProc } from '../helpers/serve-proc.ts';

const run = promisify(execFile);
const STREAM = '4.24.0-0.nightly';

/** writes zeros to `file` until the filesystem is full; returns the bytes written */
function fill(file: string): number {
  const fd = openSync(file, 'w');
  let total = 0;
  try {
    for (const size of [1 << 20, 1 << 12, 1 << 9]) {
      const buf = Buffer.alloc(size);
      for (;;) {
        try {
          total += writeSync(fd, buf);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return total;
}

test('sqlite full disk: commits fail with SQLITE_FULL while jobs finish — serve stays up, /readyz 503 and back, no result lost, no job launched twice', { timeout: 60_000 }, async (t) => {
  const dir = tempDir();
  const dbDir = join(dir, 'db');
  mkdirSync(dbDir);
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dbDir]);
  } catch (e) {
    cleanup(dir);
    t.skip(`cannot mount a small tmpfs here (${((e as Error).message.split('\n')[0] ?? '').trim()}): the full-disk case needs root`);
    return;
  }
  let proc: ServeProc | undefined;
  try {
    const db = join(dbDir, 'rc.db');
    // only the database is on the small filesystem: job logs and manifests stay under --data
    const sc = await startGatedScenario({ dir, db: `sqlite:${db}`, stream: STREAM });
    const { base, readyz, putTags, tagList, newPayload, accepted, release } = sc;
    proc = sc.proc;

    const t1 = await newPayload();
    const filler = join(dbDir, 'filler');
    const filled = fill(filler);
    const full = Date.now();
    release(t1);
    const ready = await sc.notReady();
    assert.match(ready, /^not ready: store unavailable: .*\(SQLITE_(FULL|IOERR\w*)\) \(since .*Z, \d+ attempts?\)\n$/);
    assert.equal((await http(`${base}/healthz`)).status, 200);
    const refused = await putTags();
    assert.equal(refused.status, 503, refused.text);
    assert.match(refused.headers.get('retry-after') ?? '', /^[1-5]$/);
    assert.equal((await tagList()).find((x) => x.name === t1)?.phase, 'Ready', 'reads serve the last view');
    await waitFor('several failed attempts', () => /\((attempt [4-9]|attempt \d\d)\)/.test(proc!.output()), 20_000);

    // free the space: the kept results are recorded, and the store takes new work
    rmSync(filler);
    await waitFor('/readyz 200 again', async () => (await readyz()).status === 200, 20_000);
    const fullMs = Date.now() - full;
    await accepted(t1);
    const t2 = await newPayload();
    release(t2);
    await accepted(t2);

    assert.equal(proc.child.exitCode, null, proc.output());
    assert.doesNotMatch(proc.output(), /uncaught exception|unhandled promise rejection/);
    assert.match(proc.output(), /store available again after \d+ failed attempts?/);
    proc.child.kill('SIGINT');
    assert.equal(await proc.exited, 0, proc.output());

    const store = openSqliteStore(db);
    const snap = await store.load();
    const events = await store.listEvents({ stream: STREAM, limit: 10_000 });
    await store.close();
    sc.assertRecordedOnce(snap, events, [t1, t2]);
    const attempts = [...proc.output().matchAll(/store commit failed \(attempt \d+\)/g)].length;
    console.log(`# sqlite /readyz said ${JSON.stringify(ready.trim())}, a refused write got Retry-After: ${refused.headers.get('retry-after')}`);
    console.log(`# sqlite: disk full for ${(fullMs / 1000).toFixed(1)} s (filled ${(filled / 1048576).toFixed(1)} MiB of an 8 MiB tmpfs), ${attempts} failed commit attempts; ${snap.jobRuns.length} runs recorded once each`);
  } finally {
    if (proc && proc.child.exitCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    await run('umount', [dbDir]).catch(() => run('umount', ['-l', dbDir]));
    cleanup(dir);
  }
});
