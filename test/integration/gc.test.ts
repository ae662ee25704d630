// Garbage collection removes everything of a deleted payload (issue 13): its job runs, the upgrade
// results of its runs, its run directories and logs, its manifests, and (after the event
// retention) its events — with the real controller, SQLite file, local executor and local builder.
// What live payloads still show stays: the upgrade results of their own runs from a deleted payload.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalBuilder } from '../../src/adapters/builder/local/index.ts';
import { LocalExecutor } from '../../src/adapters/jobs/local/index.ts';
import { parseJobsFile } from '../../src/adapters/jobs/local/jobsfile.ts';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import { Controller } from '../../src/controller/controller.ts';
import { Housekeeper, parseRetention } from '../../src/controller/housekeeping.ts';
import { serve } from '../../src/cli/serve.ts';
import { cleanup, config, pullSpec, tempDir, waitFor } from '../helpers/harness.ts';

const STREAM = '4.20.0-0.nightly';
const T0 = Date.parse('2024-05-01T00:00:00Z');
const MIN = 60_000;

test('garbage collection removes a deleted payload\'s runs, upgrade results, run directories, manifests and, after the retention, its events', async () => {
  const dir = tempDir('rc-gc-');
  let now = T0;
  const clock = { now: () => new Date(now) };
  // e2e passes for the first payload only (created at 00:00:00); the others are Rejected
  const jobsYaml = 'jobs:\n  e2e: { command: ["sh", "-c", "case \\"$PAYLOAD_TAG\\" in *-000000) exit 0;; esac; exit 1"] }\n  "*": { command: ["sh", "-c", "exit 0"] }\n';
  const executor = new LocalExecutor({ jobs: parseJobsFile(jobsYaml, join(dir, 'jobs.yaml')), runDir: join(dir, 'runs'), onShutdown: 'stop', now: clock.now });
  const builder = new LocalBuilder(join(dir, 'payloads'));
  const store = openSqliteStore(join(dir, 'rc.db'));
  const cfg = config({ name: STREAM, to: 'release', verify: { e2e: { prowJob: { name: 'e2e' } }, upgrade: { upgrade: true, optional: true, prowJob: { name: 'upgrade' } } } });
  const controller = await Controller.create({ store, executor, builder, clock, resyncMs: 0, streams: [{ name: STREAM, config: cfg, file: 'x.json', input: STREAM }] });
  const settle = async () => {
    await waitFor('jobs done, controller idle', async () => {
      await controller.idle();
      return ![...controller.state.allRuns()].some((r) => r.state === 'Pending');
    });
    await controller.idle();
  };
  try {
    await controller.start();
    const tags: string[] = [];
    for (let i = 0; i < 8; i++) {
      now = T0 + i * MIN;
      await controller.setInputTags(STREAM, { cli: pullSpec('cli') }, 'test');
      await settle();
      tags.push(`${STREAM}-2024-05-01-00${String(i).padStart(2, '0')}00`);
    }
    const [accepted, ...rejected] = tags;
    assert.equal(controller.state.payload(STREAM, accepted!)?.phase, 'Accepted');
    // 7 Rejected, the newest 5 are kept: the two oldest are gone
    const gone = rejected.slice(0, 2);
    const kept = rejected.slice(2);
    for (const t of kept) assert.equal(controller.state.payload(STREAM, t)?.phase, 'Rejected', t);
    for (const t of gone) assert.equal(controller.state.payload(STREAM, t), undefined, `${t} deleted`);

    const snap = await store.load();
    const runsOf = (tag: string) => snap.jobRuns.filter((r) => r.tag === tag);
    for (const t of gone) assert.deepEqual(runsOf(t), []);
    for (const t of kept) assert.equal(runsOf(t).length, 2);
    // upgrade results: those of the deleted payloads' runs are gone, in the store and in memory;
    // the Accepted payload's "upgrades to" lists the kept payloads only
    assert.deepEqual(snap.upgrades.map((u) => u.to).sort(), kept);
    assert.deepEqual(controller.state.upgradesOutOf(accepted!).map((u) => u.to).sort(), kept);
    for (const t of gone) assert.deepEqual(controller.state.upgradesInto(t), []);
    // files: a run directory per run the store has, a manifest directory per payload
    assert.deepEqual(readdirSync(join(dir, 'runs')).sort(), (await store.listRunIds()).sort());
    assert.deepEqual(readdirSync(join(dir, 'payloads')).sort(), [accepted!, ...kept].sort());
    // the deleted payloads' audit trail is still there …
    const trail = async (t: string) => (await store.listEvents({ stream: STREAM, tag: t })).map((e) => e.type);
    for (const t of gone) assert.ok((await trail(t)).includes('PayloadDeleted'));

    // … until the retention has passed since its last event; live payloads' trails stay
    const housekeeper = new Housekeeper({ store, executor, builder, clock, eventRetentionMs: parseRetention('1d'), isLiveTag: (t) => controller.state.findTag(t) !== undefined });
    assert.equal((await housekeeper.runOnce()).prunedEvents, 0, 'within the retention');
    now += 24 * 60 * MIN + MIN;
    // retention 0 keeps them forever
    const forever = new Housekeeper({ store, executor, builder, clock, eventRetentionMs: parseRetention('0'), isLiveTag: () => true });
    assert.equal((await forever.runOnce()).prunedEvents, 0);
    for (const t of gone) assert.ok((await trail(t)).includes('PayloadDeleted'));
    const report = await housekeeper.runOnce();
    assert.ok(report.prunedEvents > 0);
    for (const t of gone) assert.deepEqual(await trail(t), []);
    for (const t of [accepted!, ...kept]) assert.ok((await trail(t)).includes('PayloadCreated'), t);

    // leftovers of a crash between a deletion's commit and its clean-up are swept
    mkdirSync(join(dir, 'runs', `${gone[0]}-e2e`));
    writeFileSync(join(dir, 'runs', `${gone[0]}-e2e`, 'log'), 'left behind\n');
    mkdirSync(join(dir, 'payloads', gone[0]!, 'release-manifests'), { recursive: true });
    const swept = await housekeeper.runOnce();
    assert.deepEqual(swept.forgottenRuns, [`${gone[0]}-e2e`]);
    assert.deepEqual(swept.removedManifests, [gone[0]]);
    assert.equal(existsSync(join(dir, 'runs', `${gone[0]}-e2e`)), false);
    assert.equal(existsSync(join(dir, 'payloads', gone[0]!)), false);
    assert.deepEqual(await housekeeper.runOnce(), { prunedEvents: 0, removedManifests: [], forgottenRuns: [] }, 'a second pass finds nothing');
    await housekeeper.stop();
  } finally {
    await controller.stop();
    await store.close();
    cleanup(dir);
  }
});

test('--event-retention: days, Go durations and 0; anything else is refused with the accepted forms', async () => {
  const rows: [string, number][] = [['90d', 90 * 86_400_000], ['1.5d', 36 * 3_600_000], ['7d12h', 180 * 3_600_000], ['2160h', 90 * 86_400_000], ['36h30m', 36.5 * 3_600_000], ['0', 0], [' 30d ', 30 * 86_400_000]];
  for (const [text, ms] of rows) assert.equal(parseRetention(text), ms, text);
  for (const text of ['', 'soon', '90', '-1d', '-5h', 'd', '1w', '1d-2h']) {
    assert.throws(() => parseRetention(text), /invalid retention .*use e\.g\. 90d, 2160h or 0/, text);
  }
  const dir = tempDir('rc-gc-cli-');
  try {
    mkdirSync(join(dir, 'releases'));
    writeFileSync(join(dir, 'jobs.yaml'), 'jobs:\n  "*": { command: ["true"] }\n');
    await assert.rejects(
      serve({ releases: join(dir, 'releases'), jobs: join(dir, 'jobs.yaml'), data: join(dir, 'data'), port: 0, host: '127.0.0.1', executor: 'local', eventRetention: '3 months', logLevel: 'silent' }),
      (e: Error & { exitCode?: number }) => /^--event-retention: invalid retention "3 months"/.test(e.message) && e.exitCode === 2,
    );
  } finally {
    cleanup(dir);
  }
});
