// Bounded growth (issue 13, "Bounded growth"): a simulated clock drives days of payload churn,
// compressed into seconds, through the REAL controller on a REAL SQLite file, the real local
// builder (manifest directories on disk) and the real local executor (one child process per job,
// run directories on disk), with garbage collection and hourly housekeeping (event retention,
// sweeps). Two streams get a new input every two hours each; a third of the payloads fail a
// blocking job (Rejected), the others are Accepted and expire after a day; upgrade jobs and a
// periodic upgrade job record upgrade results.
//
// The schedule repeats every simulated day, so once the garbage-collection window (a day of
// Accepted payloads, 5 of each phase) and the event retention (2 days) have passed, the state at
// the same hour of each later day must be the same: rows, files and the in-memory indexes at every
// later daily checkpoint are not larger than at the first one after the warm-up, and the heap
// (after a forced GC) stays within a margin of it. Stream-level events (each input update's
// InputUpdated audit record) are never pruned by design; they grow by one per input update and
// are printed, not bounded.
//
// SOAK_DAYS=<n> changes the simulated days (default 20: about 10 s on an idle machine).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { LocalBuilder } from '../../src/adapters/builder/local/index.ts';
import { LocalExecutor } from '../../src/adapters/jobs/local/index.ts';
import { parseJobsFile } from '../../src/adapters/jobs/local/jobsfile.ts';
import { openSqliteDatabase, openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import { Controller } from '../../src/controller/controller.ts';
import { Housekeeper } from '../../src/controller/housekeeping.ts';
import { cleanup, config, tempDir, waitFor } from '../helpers/harness.ts';

const DAYS = Number(process.env.SOAK_DAYS ?? 20);
const WARMUP_DAYS = 4;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const RETENTION_MS = 2 * DAY;
const T0 = Date.parse('2024-05-01T00:00:00Z');
/**
 * heap may grow by this much over the later checkpoints: V8 keeps compiling hot code (about 0.5 MiB
 * of code space over 40 days here; the old space stays flat), and keeps some slack after a full GC
 */
const HEAP_MARGIN = 1.1;
const HEAP_SLACK_BYTES = 3 * 1024 * 1024;

const A = '4.20.0-0.nightly';
const B = '4.21.0-0.ci';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function countDirs(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).length;
}

function duBytes(dir: string): number {
  let n = 0;
  if (!existsSync(dir)) return 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? duBytes(p) : statSync(p).size;
  }
  return n;
}

test(`soak: ${DAYS} simulated days of payload churn level off in rows, files and memory`, { timeout: 120_000 }, async () => {
  const dir = tempDir('rc-soak-');
  let now = T0;
  const clock = { now: () => new Date(now) };
  // the blocking `flaky` job fails for payloads created at hours ≡ 2 (mod 6) (stream A) or ≡ 3 (B)
  const jobsFile = join(dir, 'jobs.yaml');
  writeFileSync(
    jobsFile,
    [
      'concurrency: 16',
      'jobs:',
      // h = the hour of the tag (…-HHMMSS); (100 + h) % 6 is 0 for h ≡ 2 and 1 for h ≡ 3 (mod 6)
      `  flaky: { command: ["sh", "-c", 't=\${PAYLOAD_TAG%????}; h=\${t#"\${t%??}"}; case "$RELEASE_STREAM:$((1$h % 6))" in ${A}:0|${B}:1) echo "fails at hour $h"; exit 1;; esac; exit 0'] }`,
      '  "*": { command: ["sh", "-c", "exit 0"] }',
      '',
    ].join('\n'),
  );
  const streams = [
    config({
      name: A, to: 'release', expires: '24h',
      verify: {
        e2e: { prowJob: { name: 'e2e' } },
        flaky: { prowJob: { name: 'flaky' } },
        upgrade: { upgrade: true, optional: true, prowJob: { name: 'upgrade' } },
      },
      periodic: { 'upgrade-minus1': { interval: '6h', upgrade: true, prowJob: { name: 'periodic-upgrade' } } },
    }),
    config({ name: B, to: 'release', expires: '24h', verify: { e2e: { prowJob: { name: 'b-e2e' } }, flaky: { prowJob: { name: 'flaky' } }, upgrade: { upgrade: true, prowJob: { name: 'b-upgrade' } } } }),
  ];
  const dbFile = join(dir, 'rc.db');
  const store = openSqliteStore(dbFile);
  const executor = new LocalExecutor({ jobs: parseJobsFile(readFileSync(jobsFile, 'utf8'), jobsFile), runDir: join(dir, 'runs'), onShutdown: 'stop', now: clock.now });
  const builder = new LocalBuilder(join(dir, 'payloads'));
  const controller = await Controller.create({
    store, executor, builder, clock, resyncMs: 0,
    streams: streams.map((c) => ({ name: c.name, config: c, file: `${c.name}.json`, input: c.name })),
  });
  const housekeeper = new Housekeeper({
    store, executor, builder, clock, eventRetentionMs: RETENTION_MS,
    isLiveTag: (tag) => controller.state.findTag(tag) !== undefined,
  });
  const forget = executor.forget.bind(executor);
  const remove = builder.remove.bind(builder);
  const db = openSqliteDatabase(dbFile);
  const count = (sql: string) => db.prepare(sql).pluck().get() as number;
  const t0 = Date.now();
  let created = 0;
  let pruned = 0;
  let swept = 0;
  let inputUpdates = 0;
  const checkpoints: { day: number; rows: Record<string, number>; files: Record<string, number>; memory: Record<string, number>; heapMiB: number; extra: Record<string, number> }[] = [];
  /** the last phase seen of each live payload; a deleted one's is counted in `phases` (bounded, like the rest) */
  const seen = new Map<string, string>();
  const phases: Record<string, number> = {};

  /** no pass, build or job outstanding, and nothing changed over one more round */
  async function settle(): Promise<void> {
    let version = -1;
    for (;;) {
      await waitFor('jobs finished and the controller idle', async () => {
        await controller.idle();
        return ![...controller.state.allRuns()].some((r) => r.state === 'Pending');
      }, 30_000, 2);
      await new Promise((r) => setImmediate(r));
      if (controller.state.version === version) return;
      version = controller.state.version;
    }
  }

  try {
    await controller.start();
    await housekeeper.start();
    for (let hour = 0; hour < DAYS * 24; hour++) {
      now = T0 + hour * HOUR;
      // stream A at even hours, B at odd ones: each gets a new image every 2 h
      const stream = hour % 2 === 0 ? A : B;
      // on day 2 the process "dies" right after each garbage-collection commit for a few hours: the
      // deleted runs' directories and payloads' manifests stay behind until the hourly sweep
      const crashAfterCommit = hour >= 30 && hour < 34;
      executor.forget = crashAfterCommit ? async () => {} : forget;
      builder.remove = crashAfterCommit ? async () => {} : remove;
      await controller.setInputTags(stream, { cli: `quay.io/ocp/cli@sha256:${hour.toString(16).padStart(64, '0')}` }, 'soak');
      inputUpdates++;
      controller.resyncAll();
      await settle();
      // housekeeping once per simulated hour, as serve does
      const r = await housekeeper.runOnce();
      pruned += r.prunedEvents;
      swept += r.removedManifests.length + r.forgottenRuns.length;
      const live = new Set<string>();
      for (const s of [A, B]) {
        for (const p of controller.state.payloads(s)) {
          if (!seen.has(`${s}/${p.tag}`)) created++;
          seen.set(`${s}/${p.tag}`, p.phase);
          live.add(`${s}/${p.tag}`);
        }
      }
      for (const [k, ph] of seen) {
        if (live.has(k)) continue;
        phases[ph] = (phases[ph] ?? 0) + 1;
        seen.delete(k);
      }
      if ((hour + 1) % 24 === 0) {
        const day = (hour + 1) / 24;
        gc();
        gc();
        const heap = process.memoryUsage().heapUsed;
        const sizes = controller.state.sizes();
        checkpoints.push({
          day,
          rows: {
            payloads: count('SELECT count(*) FROM payloads'),
            job_runs: count('SELECT count(*) FROM job_runs'),
            upgrades: count('SELECT count(*) FROM upgrades'),
            'events of live payloads': count("SELECT count(*) FROM events e WHERE tag <> '' AND EXISTS (SELECT 1 FROM payloads p WHERE p.stream = e.stream AND p.tag = e.tag)"),
            'events of deleted payloads (retained)': count("SELECT count(*) FROM events e WHERE tag <> '' AND NOT EXISTS (SELECT 1 FROM payloads p WHERE p.stream = e.stream AND p.tag = e.tag)"),
          },
          files: {
            'run dirs': countDirs(join(dir, 'runs')),
            'manifest dirs': countDirs(join(dir, 'payloads')),
            'run+manifest KiB': Math.round((duBytes(join(dir, 'runs')) + duBytes(join(dir, 'payloads'))) / 1024),
          },
          memory: sizes,
          heapMiB: Math.round((heap / 1048576) * 10) / 10,
          extra: {
            'stream-level events': count("SELECT count(*) FROM events WHERE tag = ''"),
            'db KiB': Math.round((count('PRAGMA page_count') * count('PRAGMA page_size')) / 1024),
            heapBytes: heap,
          },
        });
      }
    }
    for (const ph of seen.values()) phases[ph] = (phases[ph] ?? 0) + 1;
    const seconds = (Date.now() - t0) / 1000;
    const fmt = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${k}=${v}`).join(' ');
    console.log(`soak: ${DAYS} simulated days (${DAYS * 24} input updates) in ${seconds.toFixed(1)} s real; ${created} payloads created (${fmt(phases)}); ${pruned} events pruned; ${swept} leftovers of a crash after commit swept`);
    for (const c of checkpoints) {
      console.log(`  day ${c.day}: rows ${fmt(c.rows)} | files ${fmt(c.files)} | heap ${c.heapMiB} MiB | stream-level events ${c.extra['stream-level events']} | db ${c.extra['db KiB']} KiB`);
      console.log(`         memory ${fmt(c.memory)}`);
    }

    // garbage collection worked at all: far fewer payloads are kept than were created
    const base = checkpoints.find((c) => c.day === WARMUP_DAYS + 1)!;
    assert.ok(base, 'a checkpoint after the warm-up');
    assert.ok(created > 4 * base.rows.payloads, `${created} payloads created, ${base.rows.payloads} kept`);
    assert.ok(pruned > 0, 'events of deleted payloads were pruned');
    assert.ok(swept > 0, 'what a crash after a garbage-collection commit left behind was swept');
    assert.ok((phases.Accepted ?? 0) > 0 && (phases.Rejected ?? 0) > 0, JSON.stringify(phases));
    assert.ok(base.rows.upgrades > 0 && base.rows['events of deleted payloads (retained)'] > 0, 'upgrades and retained events exist to be bounded');
    // stop growing: every later checkpoint is no larger than the first one after the warm-up
    for (const c of checkpoints.filter((x) => x.day > base.day)) {
      for (const [k, v] of Object.entries(c.rows)) assert.ok(v <= base.rows[k]!, `day ${c.day}: ${k} grew from ${base.rows[k]} to ${v}`);
      for (const [k, v] of Object.entries(c.files)) {
        // file sizes vary by a few bytes (log lines, timestamps); counts must not grow at all
        const limit = k.endsWith('KiB') ? base.files[k]! * 1.05 + 4 : base.files[k]!;
        assert.ok(v <= limit, `day ${c.day}: ${k} grew from ${base.files[k]} to ${v}`);
      }
      for (const [k, v] of Object.entries(c.memory)) assert.ok(v <= base.memory[k]!, `day ${c.day}: in-memory ${k} grew from ${base.memory[k]} to ${v}`);
      const heapLimit = base.extra.heapBytes! * HEAP_MARGIN + HEAP_SLACK_BYTES;
      assert.ok(c.extra.heapBytes! <= heapLimit, `day ${c.day}: heap ${c.heapMiB} MiB above ${(heapLimit / 1048576).toFixed(1)} MiB`);
    }
    // every file on disk belongs to something the store still has
    const runIds = new Set(await store.listRunIds());
    for (const d of readdirSync(join(dir, 'runs'))) assert.ok(runIds.has(d), `run dir ${d} has no run`);
    for (const d of readdirSync(join(dir, 'payloads'))) assert.ok(controller.state.findTag(d), `manifest dir ${d} has no payload`);
    // stream-level audit records are kept: one InputUpdated per input update, nothing else accumulates there
    assert.equal(checkpoints[checkpoints.length - 1]!.extra['stream-level events'], inputUpdates);
  } finally {
    await housekeeper.stop();
    await controller.stop();
    db.close();
    await store.close();
    cleanup(dir);
  }
});
