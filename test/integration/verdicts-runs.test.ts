// Regression tests for issue 12 ("Verdicts you can trust"), one per bug of its list that is about
// runs and the serialised section: launch environments kept by retries and relaunches, QESkipped
// payloads settled, NoJobDefinition recorded once, no lost update with an asynchronous store, and
// interrupted attempts that never consume a retry. Real stores (SQLite, and PostgreSQL where the
// bug lives there) and real processes (LocalExecutor) unless a test needs to control timing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { LocalBuilder } from '../../src/adapters/builder/local/index.ts';
import { LocalExecutor } from '../../src/adapters/jobs/local/index.ts';
import { parseJobsFile } from '../../src/adapters/jobs/local/jobsfile.ts';
import { openPostgresStore } from '../../src/adapters/store/postgres/index.ts';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import { Controller } from '../../src/controller/controller.ts';
import { isSettled } from '../../src/controller/state.ts';
import { inputStreamOf, type ReleaseConfig } from '../../src/domain/config/schema.ts';
import { needsPass } from '../../src/domain/plan.ts';
import type { JobRun, JobRunState } from '../../src/domain/types.ts';
import type { JobExecutor, JobSpec, JobStatus, JobStatusListener } from '../../src/ports/executor.ts';
import type { Change, Store } from '../../src/ports/store.ts';
import { cleanup, config, pullSpec, startHarness, tempDir, waitFor, writeScripts, type Harness } from '../helpers/harness.ts';

const PG_URL = process.env.RC_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
const randomSchema = () => `rc_test_${randomBytes(6).toString('hex')}`;

async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await c.end();
  }
}

/** A real controller on `store` with the given executor (LocalBuilder, no resync timer). */
async function startController(store: Store, dir: string, configs: ReleaseConfig[], executor: JobExecutor, clock?: { now(): Date }): Promise<Controller> {
  const c = await Controller.create({
    store,
    executor,
    builder: new LocalBuilder(join(dir, 'payloads')),
    streams: configs.map((cfg) => ({ name: cfg.name, config: cfg, file: `${cfg.name}.json`, input: inputStreamOf(cfg) })),
    resyncMs: 0,
    ...(clock ? { clock } : {}),
  });
  await c.start();
  return c;
}

/** Delegates to a LocalExecutor, except that chosen launches never reach it (a crash between record and launch). */
class CrashBeforeLaunch implements JobExecutor {
  readonly dropped: string[] = [];
  drop: ((spec: JobSpec) => boolean) | null = null;
  constructor(private readonly inner: LocalExecutor) {}
  launch(spec: JobSpec): Promise<JobStatus> {
    if (this.drop?.(spec)) {
      this.dropped.push(spec.runId);
      return new Promise<JobStatus>(() => {}); // the process died here
    }
    return this.inner.launch(spec);
  }
  adopt(runId: string, jobName?: string) {
    return this.inner.adopt(runId, jobName);
  }
  cancel(runId: string, reason: string) {
    return this.inner.cancel(runId, reason);
  }
  onStatus(l: JobStatusListener) {
    this.inner.onStatus(l);
  }
  shutdown() {
    return this.inner.shutdown();
  }
}

/** An executor the test finishes runs of by hand (synchronously), to line up races exactly. */
class ManualExecutor implements JobExecutor {
  readonly launched = new Map<string, JobSpec>();
  private readonly listeners: JobStatusListener[] = [];
  constructor(private readonly now: () => Date) {}
  private status(runId: string, state: JobRunState, reason = ''): JobStatus {
    const at = this.now().toISOString();
    return { runId, state, reason, url: `https://prow.example/${runId}`, logPath: '', startedAt: at, finishedAt: state === 'Pending' ? null : at };
  }
  async launch(spec: JobSpec): Promise<JobStatus> {
    this.launched.set(spec.runId, spec);
    return this.status(spec.runId, 'Pending');
  }
  async adopt(): Promise<'unknown'> {
    return 'unknown';
  }
  async cancel(runId: string, reason: string): Promise<void> {
    this.finish(runId, 'Aborted', reason);
  }
  onStatus(l: JobStatusListener): void {
    this.listeners.push(l);
  }
  async shutdown(): Promise<void> {}
  finish(runId: string, state: JobRunState, reason = state === 'Failed' ? 'exit code 1' : ''): void {
    const st = this.status(runId, state, reason);
    for (const l of this.listeners) l(st);
  }
}

/** KEY=VALUE lines → object */
function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
test('a retried or relaunched run loses its launch environment (aggregators: ANALYSIS_JOB_COUNT etc.), so a retried aggregator always fails', async () => {
  const dir = tempDir();
  const envDir = join(dir, 'env');
  mkdirSync(envDir);
  // the aggregator records the environment it was launched with, refuses to run without its
  // analysis counts (as the demo's does), and fails until the test creates the `pass` file
  const s = writeScripts(dir, {
    analysis: 'exit 0',
    aggregator: [
      `env | grep -E '^(ANALYSIS_JOB_COUNT|ANALYSIS_JOBS_SUCCEEDED|VERIFICATION_JOB_NAME|PAYLOAD_TAG)=' | sort > "${envDir}/$BUILD_ID"`,
      '[ -n "${ANALYSIS_JOB_COUNT:-}" ] || { echo "ANALYSIS_JOB_COUNT is not set"; exit 2; }',
      `[ -e "${dir}/pass" ] || exit 1`,
      'exit 0',
    ].join('\n'),
  });
  const jobs = parseJobsFile(
    `jobs:\n  "release-openshift-release-analysis-aggregator": { command: ["bash", "${s.aggregator}"] }\n  "*": { command: ["bash", "${s.analysis}"] }\n`,
    join(dir, 'jobs.yaml'),
  );
  const cfg = config({
    name: '4.19.0-0.nightly',
    to: 'release',
    verify: { 'aggregated-aws': { maxRetries: 0, prowJob: { name: 'periodic-e2e-aws' }, aggregatedProwJob: { analysisJobCount: 2 } } },
  });
  const name = cfg.name;
  const dbFile = join(dir, 'rc.db');
  const newExecutor = () => new LocalExecutor({ jobs, runDir: join(dir, 'runs'), onShutdown: 'stop', killGraceMs: 200 });
  let store: Store | undefined;
  let c: Controller | undefined;
  try {
    store = openSqliteStore(dbFile);
    const crashing = new CrashBeforeLaunch(newExecutor());
    c = await startController(store, dir, [cfg], crashing);
    await c.setInputTags(name, { cli: pullSpec('cli') }, 'test');
    const aggregators = (tag: string) => c!.state.runs(name, tag).filter((r) => r.kind === 'aggregator').sort((a, b) => a.attempt - b.attempt);

    // ---- first launch: the aggregator gets its counts, and fails
    const p = await waitFor('payload rejected by the aggregator', () => c!.state.payloads(name).find((x) => x.phase === 'Rejected'), 20_000);
    const [first] = aggregators(p.tag);
    assert.equal(first.jobName, 'release-openshift-release-analysis-aggregator');
    const want = { ANALYSIS_JOBS_SUCCEEDED: '2', ANALYSIS_JOB_COUNT: '2', PAYLOAD_TAG: p.tag, VERIFICATION_JOB_NAME: 'periodic-e2e-aws' };
    assert.deepEqual(readEnvFile(join(envDir, first.id)), want, 'the first launch has the analysis environment');
    assert.equal(first.reason, 'exit code 1');

    // ---- a retry (POST …/retry) is launched exactly as the first attempt was
    await c.retryJob(name, p.tag, 'aggregated-aws', 'flaky aggregator', 'release-engineer');
    const retried = await waitFor('retried aggregator finished', () => {
      const r = aggregators(p.tag).find((x) => x.attempt === 1);
      return r && r.state !== 'Pending' ? r : null;
    });
    assert.ok(existsSync(join(envDir, retried.id)), 'the retried aggregator ran');
    assert.deepEqual(readEnvFile(join(envDir, retried.id)), want, 'the retried aggregator has the same ANALYSIS_* values');
    assert.equal(retried.reason, 'exit code 1', 'it failed only because the test said so, not for a missing ANALYSIS_JOB_COUNT');
    await waitFor('payload rejected again', () => c!.state.payload(name, p.tag)?.phase === 'Rejected');

    // ---- a retry recorded but never handed to the executor (the controller dies in between) …
    writeFileSync(join(dir, 'pass'), '');
    crashing.drop = (spec) => spec.tag === p.tag && spec.jobName === 'release-openshift-release-analysis-aggregator';
    void c.retryJob(name, p.tag, 'aggregated-aws', 'once more', 'release-engineer').catch(() => undefined);
    const lostId = await waitFor('retry recorded, launch lost', () => crashing.dropped[0]);
    assert.equal(c.state.run(lostId)?.state, 'Pending');
    await c.stop();
    await store.close();
    assert.ok(!existsSync(join(dir, 'runs', lostId)), 'the executor never saw the run');

    // … is launched by the next controller on start, with the environment it was recorded with
    store = openSqliteStore(dbFile);
    c = await startController(store, dir, [cfg], newExecutor());
    const relaunched = await waitFor('relaunched aggregator finished', () => {
      const r = c!.state.run(lostId);
      return r && r.state !== 'Pending' ? r : null;
    });
    assert.ok(existsSync(join(envDir, lostId)), 'the relaunched aggregator ran');
    assert.deepEqual(readEnvFile(join(envDir, lostId)), want, 'the relaunched aggregator has the same ANALYSIS_* values');
    assert.equal(relaunched.state, 'Succeeded', relaunched.reason);
    await waitFor('payload accepted after the relaunch', () => c!.state.payload(name, p.tag)?.phase === 'Accepted');
    await c.stop();
    c = undefined;
    await store.close();

    // ---- the launch environment is stored with every run (a fresh store handle reads it back)
    store = openSqliteStore(dbFile);
    const runs = (await store.load()).jobRuns.filter((r) => r.tag === p.tag && r.kind === 'aggregator').sort((a, b) => a.attempt - b.attempt);
    assert.deepEqual(runs.map((r) => [r.attempt, r.state]), [[0, 'Failed'], [1, 'Failed'], [2, 'Succeeded']]);
    for (const r of runs) {
      assert.ok(r.env, `${r.id} has its launch environment stored`);
      assert.equal(r.env.ANALYSIS_JOB_COUNT, '2', r.id);
      assert.equal(r.env.ANALYSIS_JOBS_SUCCEEDED, '2', r.id);
      assert.equal(r.env.VERIFICATION_JOB_NAME, 'periodic-e2e-aws', r.id);
      assert.equal(r.env.PAYLOAD_TAG, p.tag, r.id);
    }
  } finally {
    await c?.stop();
    await store?.close().catch(() => undefined);
    cleanup(dir);
  }
});

// ---------------------------------------------------------------------------------------------
test('QESkipped counts as still open: a Rejected payload of a QE stream is re-planned on every pass and its runs never leave memory', async () => {
  const dir = tempDir();
  const s = writeScripts(dir, { fail: 'exit 1', pass: 'exit 0' });
  const cfg = config({
    name: '4.20.0-0.nightly',
    to: 'release',
    verify: {
      'e2e-aws': { prowJob: { name: 'blocking-e2e-aws' } },
      'qe-e2e': { qe: true, prowJob: { name: 'qe-e2e' } },
    },
    qe: { timeout: '1h' },
  });
  const name = cfg.name;
  const jobsYaml = `jobs:\n  "blocking-*": { command: ["bash", "${s.fail}"] }\n  "*": { command: ["bash", "${s.pass}"] }\n`;
  const schema = randomSchema();
  let h: Harness | undefined;
  let c: Controller | undefined;
  let store: Store | undefined;
  let pgStore: Store | undefined;
  try {
    h = await startHarness({ dir, configs: [cfg], jobsYaml });
    await h.controller.setInputTags(name, { cli: pullSpec('cli') }, 'test');
    const p = await waitFor('payload rejected, QE skipped', () => h!.controller.state.payloads(name).find((x) => x.phase === 'Rejected' && x.qe.state === 'QESkipped'), 20_000);
    await h.controller.idle();
    const runIds = h.controller.state.runs(name, p.tag).map((r) => r.id);
    assert.ok(runIds.length > 0);
    assert.equal(p.qe.reason, 'PayloadRejected');

    // ---- the domain and the in-memory state call it settled
    assert.equal(needsPass(p), false, 'a Rejected payload with QE skipped needs no more passes');
    assert.equal(isSettled(p), true, 'a Rejected payload with QE skipped is settled');
    await h.close();
    h = undefined;

    // ---- the stores do not load its finished runs as active (SQLite …)
    store = openSqliteStore(join(dir, 'rc.db'));
    const full = await store.load();
    assert.deepEqual(full.jobRuns.filter((r) => r.tag === p.tag).map((r) => r.id).sort(), [...runIds].sort());
    const active = await store.load({ activeRunsOnly: true });
    assert.deepEqual(active.jobRuns.filter((r) => r.tag === p.tag).map((r) => r.id), [], 'SQLite: no active runs of a settled payload');

    // … and PostgreSQL, given the same rows
    pgStore = await openPostgresStore(PG_URL, { schema });
    await pgStore.migrate();
    const copy: Change[] = [
      ...full.streams.map((x): Change => ({ kind: 'putStream', stream: x })),
      ...full.payloads.map((x): Change => ({ kind: 'putPayload', payload: x })),
      ...full.jobRuns.map((x): Change => ({ kind: 'putJobRun', run: x })),
    ];
    await pgStore.commit(copy);
    const pgFull = await pgStore.load();
    assert.equal(pgFull.jobRuns.filter((r) => r.tag === p.tag).length, runIds.length);
    const pgActive = await pgStore.load({ activeRunsOnly: true });
    assert.deepEqual(pgActive.jobRuns.filter((r) => r.tag === p.tag).map((r) => r.id), [], 'PostgreSQL: no active runs of a settled payload');

    // ---- a restarted controller leaves it alone: its runs stay on disk, a pass does not touch it
    c = await startController(store, dir, [cfg], new LocalExecutor({ jobs: parseJobsFile(jobsYaml, join(dir, 'jobs.yaml')), runDir: join(dir, 'runs'), onShutdown: 'stop' }));
    await c.idle();
    for (const id of runIds) assert.equal(c.state.run(id), undefined, `${id} is not loaded into memory`);
    const before = JSON.stringify(c.state.payload(name, p.tag));
    const plan = await c.reconcile(name);
    assert.ok(plan);
    const touched = [
      ...plan.payloads.map((x) => x.tag),
      ...plan.runs.map((r) => r.tag),
      ...plan.events.map((e) => e.tag),
      ...plan.launches.map((l) => l.tag),
      ...plan.cancels.map((x) => x.runId),
    ].filter((t) => t.startsWith(p.tag));
    assert.deepEqual(touched, [], 'a pass changes nothing on a settled payload');
    assert.equal(JSON.stringify(c.state.payload(name, p.tag)), before);
    for (const id of runIds) assert.equal(c.state.run(id), undefined, `${id}: the pass did not read the settled payload's runs`);
  } finally {
    await h?.close();
    await c?.stop();
    await store?.close().catch(() => undefined);
    await pgStore?.close().catch(() => undefined);
    await dropSchema(schema);
    cleanup(dir);
  }
});

// ---------------------------------------------------------------------------------------------
test('a job launched with no definition (NoJobDefinition) is recorded twice in the audit trail', async () => {
  const dir = tempDir();
  const s = writeScripts(dir, { pass: 'exit 0' });
  const cfg = config({ name: '4.21.0-0.nightly', to: 'release', verify: { 'e2e-aws': { prowJob: { name: 'periodic-e2e-aws' } } } });
  let h: Harness | undefined;
  try {
    // the jobs file has no entry for periodic-e2e-aws
    h = await startHarness({ dir, configs: [cfg], jobsYaml: `jobs:\n  "other-*": { command: ["bash", "${s.pass}"] }\n` });
    const c = h.controller;
    await c.setInputTags(cfg.name, { cli: pullSpec('cli') }, 'test');
    const p = await waitFor('payload rejected', () => c.state.payloads(cfg.name).find((x) => x.phase === 'Rejected'), 20_000);
    await c.idle();
    const [run] = c.state.runs(cfg.name, p.tag);
    assert.equal(run.state, 'Failed');
    assert.match(run.reason, /^NoJobDefinition/);
    const events = await c.listEvents({ stream: cfg.name, tag: p.tag });
    const of = (type: string) => events.filter((e) => e.type === type && e.data.runId === run.id);
    assert.equal(of('JobLaunched').length, 1, 'one JobLaunched');
    assert.equal(of('JobStateChanged').length, 1, `one JobStateChanged, got: ${of('JobStateChanged').map((e) => e.message).join(' | ')}`);
    assert.equal(of('JobStateChanged')[0].data.state, 'Failed');
  } finally {
    await h?.close();
    cleanup(dir);
  }
});

// ---------------------------------------------------------------------------------------------
const stores: { kind: string; open: (dir: string) => Promise<{ store: Store; reopen: () => Promise<Store>; drop: () => Promise<void> }> }[] = [
  {
    kind: 'SQLite',
    open: async (dir) => ({ store: openSqliteStore(join(dir, 'rc.db')), reopen: async () => openSqliteStore(join(dir, 'rc.db')), drop: async () => {} }),
  },
  {
    kind: 'PostgreSQL',
    open: async () => {
      const schema = randomSchema();
      return { store: await openPostgresStore(PG_URL, { schema }), reopen: () => openPostgresStore(PG_URL, { schema }), drop: () => dropSchema(schema) };
    },
  },
];

for (const { kind, open } of stores) {
  test(`operations and passes in one serialised section (${kind}): concurrent input updates keep every component; an override racing a pass is neither lost nor half-applied`, async () => {
    const dir = tempDir();
    let t = Date.parse('2030-01-01T00:00:00Z');
    const clock = { now: () => new Date(t) };
    const executor = new ManualExecutor(clock.now);
    const conc = config({ name: '4.22.0-0.nightly', to: 'release', verify: {} });
    const race = config({ name: '4.23.0-0.nightly', to: 'release', verify: { 'e2e-aws': { maxRetries: 0, prowJob: { name: 'periodic-e2e-aws' } } } });
    const opened = await open(dir);
    let store: Store | undefined = opened.store;
    let c: Controller | undefined;
    try {
      const ctl = (c = await startController(store, dir, [conc, race], executor, clock));

      // ---- (1) 20 concurrent input updates, each of another component: all 20 are kept
      const components = Array.from({ length: 20 }, (_, i) => `component-${String(i).padStart(2, '0')}`);
      await Promise.all(components.map((n) => ctl.setInputTags(conc.name, { [n]: pullSpec(n) }, `user-${n}`)));
      assert.deepEqual(ctl.state.inputTags(conc.name).map((x) => x.component).sort(), components, 'in memory');
      const events = (await ctl.listEvents({ stream: conc.name })).filter((e) => e.type === 'InputUpdated');
      assert.equal(events.length, 20, 'one InputUpdated per update');

      // ---- (2) overrides fired while a job finishes and passes run: the override wins, whole
      for (let i = 0; i < 6; i++) {
        t += 60_000; // one payload per round (tag names have one-second resolution)
        const before = new Set(ctl.state.payloads(race.name).map((p) => p.tag));
        await ctl.setInputTags(race.name, { cli: pullSpec('cli') }, 'test');
        const tag = await waitFor(`round ${i}: payload created`, () => ctl.state.payloads(race.name).find((p) => !before.has(p.tag))?.tag);
        const run = await waitFor(`round ${i}: job launched`, () => ctl.state.runs(race.name, tag).find((r) => r.state === 'Pending' && r.startedAt && executor.launched.has(r.id)));
        await ctl.idle();
        assert.equal(ctl.state.payload(race.name, tag)?.phase, 'Ready');
        // the job's result would decide the payload one way, the override decides it the other
        const phase = i % 2 === 0 ? 'Accepted' : 'Rejected';
        const result = phase === 'Accepted' ? 'Failed' : 'Succeeded';
        const user = `user-${i}`;
        const override = () => ctl.overridePhase(race.name, tag, phase, `round ${i}`, user);
        const ops: Promise<unknown>[] = [];
        switch (i % 3) {
          case 0: // job result, then the override, passes in between
            executor.finish(run.id, result);
            ops.push(override(), ctl.reconcile(race.name));
            break;
          case 1: // override first
            ops.push(override());
            executor.finish(run.id, result);
            ops.push(ctl.reconcile(race.name), ctl.reconcile(race.name));
            break;
          default: // a pass first, then the result and the override
            ops.push(ctl.reconcile(race.name));
            executor.finish(run.id, result);
            ops.push(override(), ctl.reconcile(race.name));
        }
        await Promise.all(ops);
        await ctl.idle();
        const p = ctl.state.payload(race.name, tag)!;
        assert.equal(p.phase, phase, `round ${i}: the override is not lost (${p.reason}: ${p.message})`);
        assert.equal(p.override?.phase, phase, `round ${i}`);
        assert.equal(p.override?.user, user, `round ${i}`);
        assert.equal(p.annotations['release.openshift.io/phase'], phase, `round ${i}: annotations match the phase`);
        assert.equal(ctl.state.run(run.id)?.state, result, `round ${i}: the job result is recorded too`);
        // the durable row is the same payload (nothing half-applied)
        const row = (await opened.store.load()).payloads.find((x) => x.stream === race.name && x.tag === tag);
        assert.deepEqual(row, p, `round ${i}: the stored row matches`);
        const evs = await ctl.listEvents({ stream: race.name, tag });
        assert.equal(evs.filter((e) => e.type === 'PhaseOverridden').length, 1, `round ${i}: one PhaseOverridden`);
        assert.equal(evs.filter((e) => e.type === 'JobStateChanged' && e.data.runId === run.id).length, 1, `round ${i}: one JobStateChanged`);
      }
      await c.stop();
      c = undefined;
      await store.close();
      store = undefined;

      // ---- the input stream as stored keeps all 20 components
      store = await opened.reopen();
      const snap = await store.load();
      assert.deepEqual(snap.inputTags.filter((x) => x.input === conc.name).map((x) => x.component).sort(), components, 'after reloading the store');
    } finally {
      await c?.idle(); // no build left writing into dir
      await c?.stop();
      await store?.close().catch(() => undefined);
      await opened.drop();
      cleanup(dir);
    }
  });
}

// ---------------------------------------------------------------------------------------------
test('interrupted attempts: a run whose process is killed from outside (Interrupted) does not consume a retry and never rejects', async () => {
  const dir = tempDir();
  // the first launch waits (until killed); the relaunch passes
  const s = writeScripts(dir, {
    job: `f="${dir}/started-$PAYLOAD_TAG"; if [ -e "$f" ]; then echo "relaunch $BUILD_ID"; exit 0; fi; touch "$f"; sleep 300`,
  });
  const cfg = config({ name: '4.24.0-0.nightly', to: 'release', verify: { 'e2e-aws': { maxRetries: 0, prowJob: { name: 'periodic-e2e-aws' } } } });
  const name = cfg.name;
  let h: Harness | undefined;
  let pid = 0;
  try {
    h = await startHarness({ dir, configs: [cfg], jobsYaml: `jobs:\n  "*": { command: ["bash", "${s.job}"] }\n`, killGraceMs: 200 });
    const c = h.controller;
    await c.setInputTags(name, { cli: pullSpec('cli') }, 'test');
    const first = await waitFor('job running', () => c.state.payloads(name).flatMap((p) => c.state.runs(name, p.tag)).find((r) => r.state === 'Pending' && r.startedAt));
    const pidFile = join(dir, 'runs', first.id, 'pid');
    pid = await waitFor('wrapper pid written', () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) || 0 : 0));
    await waitFor('script started', () => existsSync(join(dir, `started-${first.tag}`)));
    // the wrapper process is killed from outside (OOM killer, a person, a lost node)
    process.kill(pid, 'SIGKILL');

    const p = await waitFor('payload decided', () => {
      const x = c.state.payload(name, first.tag);
      return x && x.phase !== 'Ready' && x.phase !== 'Pending' ? x : null;
    }, 20_000);
    const runs: JobRun[] = [...c.state.runs(name, first.tag)];
    const killed = runs.find((r) => r.id === first.id)!;
    assert.notEqual(killed.state, 'Failed', `a killed process is not a failed attempt (${killed.state} ${killed.reason})`);
    assert.equal(killed.state, 'Interrupted');
    assert.match(killed.reason, /^Lost/);
    assert.equal(p.phase, 'Accepted', `never Rejected by an interruption (${p.reason}: ${p.message})`);
    const relaunch = runs.find((r) => r.id !== first.id)!;
    assert.equal(relaunch.id, `${first.id}-i1`, 'the interrupted attempt is relaunched under the suffix -i1');
    assert.equal(relaunch.attempt, 0, 'the relaunch is the same attempt (no retry consumed)');
    assert.equal(relaunch.state, 'Succeeded');
    assert.equal(runs.length, 2);
  } finally {
    if (pid) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await h?.close();
    cleanup(dir);
  }
});
