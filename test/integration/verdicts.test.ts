// Regression tests for the wrong verdicts of issue 12, one test per bug of its list (the QE
// deadline, QE-accepted without CI, upgrade jobs without a source, informing retries after
// Accepted, config edits on existing payloads). Real controller, real SQLite file, real job
// processes; the controller's clock (and the executor's) is the wall clock plus an offset the
// tests move forward, so "the controller looks after the deadline" needs no waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { LocalBuilder } from '../../src/adapters/builder/local/index.ts';
import { LocalExecutor } from '../../src/adapters/jobs/local/index.ts';
import { parseJobsFile } from '../../src/adapters/jobs/local/jobsfile.ts';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import { Controller } from '../../src/controller/controller.ts';
import { inputStreamOf, type ReleaseConfig } from '../../src/domain/config/schema.ts';
import { needsPass } from '../../src/domain/plan.ts';
import type { JobRun, Payload } from '../../src/domain/types.ts';
import { buildApp } from '../../src/http/app.ts';
import type { Clock } from '../../src/ports/clock.ts';
import type { JobExecutor, JobSpec, JobStatus, JobStatusListener } from '../../src/ports/executor.ts';
import type { Store } from '../../src/ports/store.ts';
import { cleanup, config, pidAlive, pullSpec, tempDir, waitFor, writeScripts } from '../helpers/harness.ts';

const HOUR = 3_600_000;

/** Wall clock plus an offset the test moves forward (shared by the controller and the executor). */
class OffsetClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  /** one more second, so the next payload of a stream gets a tag of its own without waiting */
  tick(): void {
    this.offsetMs += 1000;
  }
}

/**
 * The local executor, with the statuses of chosen runs held back until `release()`: the
 * controller sees a result later than the job produced it (a busy or backed-off controller).
 */
class HoldingExecutor implements JobExecutor {
  held: JobStatus[] = [];
  holdIf: (st: JobStatus) => boolean = () => false;
  private readonly listeners: JobStatusListener[] = [];
  constructor(readonly inner: LocalExecutor) {
    inner.onStatus((st) => {
      if (this.holdIf(st)) this.held.push(st);
      else this.emit(st);
    });
  }
  private emit(st: JobStatus): void {
    for (const l of this.listeners) l(st);
  }
  release(): void {
    this.holdIf = () => false;
    for (const st of this.held.splice(0)) this.emit(st);
  }
  launch(spec: JobSpec): Promise<JobStatus> {
    return this.inner.launch(spec);
  }
  adopt(runId: string, jobName?: string): Promise<JobStatus | 'unknown'> {
    return this.inner.adopt(runId, jobName);
  }
  cancel(runId: string, reason: string): Promise<void> {
    return this.inner.cancel(runId, reason);
  }
  onStatus(listener: JobStatusListener): void {
    this.listeners.push(listener);
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

interface Rig {
  store: Store;
  inner: LocalExecutor;
  executor: HoldingExecutor;
  controller: Controller;
  /** the controller goes away as in a crash: its job processes keep running, unreported */
  crash(): Promise<void>;
  /** a clean stop; running jobs are stopped (so no test leaves processes behind) */
  close(): Promise<void>;
}

/** A controller on `dir`'s SQLite file and run directory (the same dir = a restart). */
async function rig(dir: string, configs: ReleaseConfig[], jobsYaml: string, clock: Clock): Promise<Rig> {
  const store = openSqliteStore(join(dir, 'rc.db'));
  const inner = new LocalExecutor({ jobs: parseJobsFile(jobsYaml, join(dir, 'jobs.yaml')), runDir: join(dir, 'runs'), killGraceMs: 200, onShutdown: 'stop', now: () => clock.now() });
  const executor = new HoldingExecutor(inner);
  const controller = await Controller.create({
    store,
    executor,
    builder: new LocalBuilder(join(dir, 'payloads')),
    streams: configs.map((c) => ({ name: c.name, config: c, file: `${c.name}.json`, input: inputStreamOf(c) })),
    clock,
    resyncMs: 0,
  });
  await controller.start();
  let closed = false;
  return {
    store,
    inner,
    executor,
    controller,
    async crash() {
      if (closed) return;
      closed = true;
      inner.detach();
      await controller.stop();
      await store.close();
    },
    async close() {
      if (closed) return;
      closed = true;
      await controller.stop();
      await store.close();
    },
  };
}

/**
 * One job script for every job of a test, driven by the jobs file's env: FIRST is what the first
 * attempt of an entry on a payload does, LATER what later attempts do (default: as FIRST):
 * pass | fail | gate-pass | gate-fail (gate-*: wait for the file go-<verify>-<tag>, or go-all).
 * Each process writes its pid to pid-<run id> and appends "<run id> <RELEASE_IMAGE_INITIAL>" to launches.
 */
function jobScript(dir: string): { st: string; script: string } {
  const st = join(dir, 'st');
  mkdirSync(st, { recursive: true });
  const s = writeScripts(dir, {
    job: `echo $$ > "${st}/pid-$BUILD_ID"
echo "$BUILD_ID \${RELEASE_IMAGE_INITIAL:-}" >> "${st}/launches"
f="${st}/tried-$VERIFICATION_JOB_NAME-$PAYLOAD_TAG"
mode="\${FIRST:-pass}"
if [ -e "$f" ]; then mode="\${LATER:-$mode}"; fi
touch "$f"
case "$mode" in gate-*) while [ ! -e "${st}/go-$VERIFICATION_JOB_NAME-$PAYLOAD_TAG" ] && [ ! -e "${st}/go-all" ]; do sleep 0.05; done;; esac
case "$mode" in *fail) exit 1;; esac
exit 0`,
  });
  return { st, script: s.job };
}

/** a jobs file: job name (or glob) → FIRST[/LATER] behaviour; unlisted jobs pass */
function jobsYamlFor(script: string, modes: Record<string, string>): string {
  const lines = ['jobs:'];
  for (const [pattern, mode] of Object.entries(modes)) {
    const [first, later] = mode.split('/');
    lines.push(`  "${pattern}": { command: ["bash", "${script}"], env: { FIRST: "${first}"${later ? `, LATER: "${later}"` : ''} } }`);
  }
  lines.push(`  "*": { command: ["bash", "${script}"], env: { FIRST: "pass" } }`);
  return lines.join('\n') + '\n';
}

const go = (st: string, verifyName: string, tag: string) => writeFileSync(join(st, `go-${verifyName}-${tag}`), '');
const goAll = (st: string) => {
  if (existsSync(st)) writeFileSync(join(st, 'go-all'), '');
};
const pidOf = (st: string, runId: string): number | null => {
  const f = join(st, `pid-${runId}`);
  return existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) : null;
};

function runsOf(c: Controller, stream: string, tag: string, verifyName?: string): JobRun[] {
  return c.state.runs(stream, tag).filter((r) => verifyName === undefined || r.verifyName === verifyName);
}

/** the payload created after `known` (tags seen before), once `ok` holds for it */
function newPayload(c: Controller, stream: string, known: Set<string>, ok: (p: Payload) => boolean = () => true): Promise<Payload> {
  return waitFor(`a new payload of ${stream}`, () => c.state.payloads(stream).find((p) => !known.has(p.tag) && ok(p)));
}

/** the running (process started) run of an entry on a payload */
function running(c: Controller, st: string, stream: string, tag: string, verifyName: string, kind?: string): Promise<JobRun> {
  return waitFor(`${verifyName} running on ${tag}`, () =>
    runsOf(c, stream, tag, verifyName).find((r) => r.state === 'Pending' && (kind === undefined || r.kind === kind) && pidOf(st, r.id) !== null),
  );
}

function payloadState(p: Payload | undefined): string {
  return p ? JSON.stringify({ phase: p.phase, reason: p.reason, message: p.message, qe: p.qe, jobs: p.jobs }) : 'no payload';
}

function runsState(c: Controller, stream: string, tag: string): string {
  return JSON.stringify(runsOf(c, stream, tag).map((r) => [r.id, r.kind, r.state, r.reason, r.finishedAt]));
}

// ---------------------------------------------------------------------------------------------

test('QE jobs that passed before the QE deadline are QEAccepted even when the controller looks after it (back-off, restart); a run that finished after it is QETimeout', async () => {
  const dir = tempDir('rc-verdicts-qe-deadline-');
  const { st, script } = jobScript(dir);
  const jobsYaml = jobsYamlFor(script, { 'qe-*': 'gate-pass' });
  const stream = (name: string, timeout: string) =>
    config({ name, to: 'release', verify: { e2e: { prowJob: { name: 'e2e' } }, 'qe-e2e': { qe: true, prowJob: { name: 'qe-e2e' } } }, qe: { timeout } });
  // deadlines: backoff and late at +1h, restart at +3h (the clock jumps to +2h, then to +4h)
  const backoff = stream('4.30.0-0.backoff', '1h');
  const late = stream('4.30.0-0.late', '1h');
  const restart = stream('4.30.0-0.restart', '3h');
  const configs = [backoff, late, restart];
  const clock = new OffsetClock();
  let r: Rig | undefined;
  try {
    r = await rig(dir, configs, jobsYaml, clock);
    let c = r.controller;
    for (const cfg of configs) await c.setInputTags(cfg.name, { cli: pullSpec('cli') }, 'test');
    const qe: Record<string, { tag: string; run: JobRun; deadline: number }> = {};
    for (const cfg of configs) {
      const p = await newPayload(c, cfg.name, new Set(), (x) => x.qe.state === 'QERunning');
      const run = await running(c, st, cfg.name, p.tag, 'qe-e2e', 'qe');
      qe[cfg.name] = { tag: p.tag, run, deadline: Date.parse(c.state.payload(cfg.name, p.tag)!.qe.deadline!) };
    }

    // back-off: the QE job passes before the deadline; the controller hears of it after the deadline
    const b = qe[backoff.name];
    r.executor.holdIf = (s) => s.runId === b.run.id;
    go(st, 'qe-e2e', b.tag);
    const held = await waitFor('the QE result (held back)', () => r!.executor.held.find((s) => s.runId === b.run.id && s.state !== 'Pending'));
    assert.equal(held.state, 'Succeeded');
    assert.ok(Date.parse(held.finishedAt!) < b.deadline, 'the QE job finished before the deadline');
    clock.offsetMs = 2 * HOUR;
    r.executor.release();
    const pb = await waitFor('QE verdict (back-off)', () => {
      const p = c.state.payload(backoff.name, b.tag);
      return p && p.qe.state !== 'QERunning' ? p : null;
    });
    assert.equal(pb.qe.state, 'QEAccepted', `looked at after the deadline, the QE jobs that passed in time must count: ${payloadState(pb)} ${runsState(c, backoff.name, b.tag)}`);
    assert.equal(pb.phase, 'Accepted');

    // the contrary: the QE job ends after the deadline (the clock is at +2h, the deadline at +1h)
    const l = qe[late.name];
    go(st, 'qe-e2e', l.tag);
    const pl = await waitFor('QE verdict (late)', () => {
      const p = c.state.payload(late.name, l.tag);
      return p && p.qe.state !== 'QERunning' ? p : null;
    });
    assert.deepEqual([pl.qe.state, pl.qe.reason], ['QERejected', 'QETimeout'], payloadState(pl));
    const lateRun = c.state.run(l.run.id)!;
    if (lateRun.state === 'Succeeded') assert.ok(Date.parse(lateRun.finishedAt!) > l.deadline, 'a success after the deadline does not count');

    // restart: the controller goes away while the QE job runs; the job passes before the deadline;
    // the controller comes back after the deadline
    const s = qe[restart.name];
    await r.crash();
    go(st, 'qe-e2e', s.tag);
    await waitFor('the QE job ended while no controller ran', () => existsSync(join(dir, 'runs', s.run.id, 'rc')));
    assert.ok(Date.now() < s.deadline, 'the job ended before the deadline');
    clock.offsetMs = 4 * HOUR;
    r = await rig(dir, configs, jobsYaml, clock);
    c = r.controller;
    const ps = await waitFor('QE verdict (restart)', () => {
      const p = c.state.payload(restart.name, s.tag);
      return p && p.qe.state !== 'QERunning' ? p : null;
    });
    assert.equal(ps.qe.state, 'QEAccepted', `a QE job that ended before the deadline while the controller was down must count: ${payloadState(ps)} ${runsState(c, restart.name, s.tag)}`);
  } finally {
    goAll(st);
    await r?.close();
    cleanup(dir);
  }
});

test('QE accepted only with CI accepted: a QE verdict on a Ready payload is refused (409); an override to Rejected stops the QE jobs and withdraws the payload from every QEAccepted consumer', async () => {
  const dir = tempDir('rc-verdicts-qe-ci-');
  const { st, script } = jobScript(dir);
  const jobsYaml = jobsYamlFor(script, { e2e: 'gate-pass', 'qe-e2e': 'gate-pass' });
  const cfg = config({
    name: '4.31.0-0.nightly',
    to: 'release',
    verify: { e2e: { prowJob: { name: 'e2e' } }, 'qe-e2e': { qe: true, prowJob: { name: 'qe-e2e' } } },
    publish: { qe: { tagRef: { name: '4.31-qe' }, on: 'QEAccepted' } },
  });
  const name = cfg.name;
  const TOKENS = [
    { user: 'ada-admin', token: 'verdicts-admin-token-0123', roles: ['admin' as const] },
    { user: 'quinn-qe', token: 'verdicts-qe-token-0123456', roles: ['qe' as const] },
    { user: 'casey-ci', token: 'verdicts-ci-token-0123456', roles: ['ci' as const] },
  ];
  const clock = new OffsetClock();
  let r: Rig | undefined;
  let app: FastifyInstance | undefined;
  try {
    r = await rig(dir, [cfg], jobsYaml, clock);
    const c = r.controller;
    app = await buildApp({ ops: c, tokens: TOKENS, logger: false });
    const a = app;
    const post = (url: string, user: string, body: unknown) =>
      a.inject({ method: 'POST', url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS.find((t) => t.user === user)!.token}` } });
    const put = async () => {
      clock.tick();
      const res = await a.inject({ method: 'PUT', url: `/api/v1/inputstreams/${name}/tags`, payload: JSON.stringify({ tags: { cli: pullSpec('cli') } }), headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS[2].token}` } });
      assert.equal(res.statusCode, 200, res.body);
    };
    const base = `/api/v1/releasestream/${name}`;
    const latestQE = async () => {
      const res = await a.inject({ url: `${base}/latest?phase=QEAccepted` });
      return res.statusCode === 200 ? (JSON.parse(res.body) as { name: string }).name : `${res.statusCode}`;
    };
    const qeAcceptedList = async () => (JSON.parse((await a.inject({ url: '/api/v1/releasestreams/qeaccepted' })).body) as Record<string, string[] | null>)[name];
    const publishedQE = () => c.state.published(name).find((x) => x.name === '4.31-qe')?.tag ?? null;
    const known = new Set<string>();

    // ---- p1 is Ready (its blocking job runs): a QE verdict is refused, nothing changes
    await put();
    const p1 = await newPayload(c, name, known, (p) => p.phase === 'Ready');
    known.add(p1.tag);
    await running(c, st, name, p1.tag, 'e2e');
    const refused = await post(`${base}/release/${p1.tag}/qe`, 'quinn-qe', { verdict: 'QEAccepted', reason: 'looks good to me' });
    assert.equal(refused.statusCode, 409, refused.body);
    assert.match((JSON.parse(refused.body) as { error: string }).error, /Ready.*Accepted/);
    await c.idle();
    const p1r = c.state.payload(name, p1.tag)!;
    assert.equal(p1r.phase, 'Ready');
    assert.notEqual(p1r.qe.state, 'QEAccepted');
    assert.equal(p1r.qe.override, null);
    assert.equal(await latestQE(), '404');
    assert.equal(await qeAcceptedList(), null);
    assert.equal(publishedQE(), null, 'nothing published on QEAccepted');
    assert.ok(!(await c.listEvents({ stream: name, tag: p1.tag })).some((e) => e.type === 'QEVerdictOverridden'));

    // p1 goes through: Accepted, then QE accepted, published
    go(st, 'e2e', p1.tag);
    await running(c, st, name, p1.tag, 'qe-e2e', 'qe');
    go(st, 'qe-e2e', p1.tag);
    await waitFor('p1 QE accepted and published', () => c.state.payload(name, p1.tag)?.qe.state === 'QEAccepted' && publishedQE() === p1.tag);

    // ---- p2: Accepted, its QE job runs; an admin overrides it to Rejected
    await put();
    const p2 = await newPayload(c, name, known);
    known.add(p2.tag);
    go(st, 'e2e', p2.tag);
    const qeRun = await running(c, st, name, p2.tag, 'qe-e2e', 'qe');
    const pid = pidOf(st, qeRun.id)!;
    assert.ok(pidAlive(pid));
    const ov = await post(`${base}/release/${p2.tag}/override`, 'ada-admin', { phase: 'Rejected', reason: 'bad build' });
    assert.equal(ov.statusCode, 200, ov.body);
    await waitFor('the QE job process of p2 is gone', () => !pidAlive(pid), 30_000);
    const aborted = await waitFor('the QE run of p2 ended', () => (c.state.run(qeRun.id)?.state !== 'Pending' ? c.state.run(qeRun.id) : null), 10_000);
    assert.equal(aborted.state, 'Aborted', `${aborted.state} ${aborted.reason}`);
    await c.idle();
    const p2r = c.state.payload(name, p2.tag)!;
    assert.equal(p2r.phase, 'Rejected');
    assert.equal(p2r.qe.state, 'QESkipped', payloadState(p2r));
    assert.match(`${p2r.qe.reason} ${p2r.qe.message}`, /overrid|Manually/i);
    assert.equal(await latestQE(), p1.tag);
    assert.deepEqual(await qeAcceptedList(), [p1.tag]);
    assert.equal(publishedQE(), p1.tag);

    // ---- p3: QE accepted and published, then an admin rejects it: withdrawn from every consumer
    await put();
    const p3 = await newPayload(c, name, known);
    known.add(p3.tag);
    go(st, 'e2e', p3.tag);
    go(st, 'qe-e2e', p3.tag);
    await waitFor('p3 QE accepted and published', () => c.state.payload(name, p3.tag)?.qe.state === 'QEAccepted' && publishedQE() === p3.tag);
    assert.equal(await latestQE(), p3.tag);
    const ov3 = await post(`${base}/release/${p3.tag}/override`, 'ada-admin', { phase: 'Rejected', reason: 'regression found after QE' });
    assert.equal(ov3.statusCode, 200, ov3.body);
    await c.idle();
    const p3r = c.state.payload(name, p3.tag)!;
    assert.equal(p3r.phase, 'Rejected');
    assert.notEqual(p3r.qe.state, 'QEAccepted', payloadState(p3r));
    assert.notEqual((JSON.parse(ov3.body) as { qePhase: string }).qePhase, 'QEAccepted', 'the override answer still shows it QE accepted');
    assert.equal(await latestQE(), p1.tag);
    assert.deepEqual(await qeAcceptedList(), [p1.tag]);
    await waitFor('the QEAccepted publish step points at p1 again', () => publishedQE() === p1.tag, 5000);
    // and a QE verdict on the rejected payload is refused too
    const again = await post(`${base}/release/${p3.tag}/qe`, 'quinn-qe', { verdict: 'QEAccepted', reason: 'still fine' });
    assert.equal(again.statusCode, 409, again.body);
  } finally {
    goAll(st);
    await app?.close();
    await r?.close();
    cleanup(dir);
  }
});

test('no blocking upgrade job passes without running: no source on a first payload is "not run"; any other missing source keeps the payload Ready until someone waives it', async () => {
  const dir = tempDir('rc-verdicts-upgrade-');
  const { st, script } = jobScript(dir);
  const jobsYaml = jobsYamlFor(script, {});
  const upgrade = (extra: Record<string, unknown>) => ({ upgrade: true, prowJob: { name: 'upgrade' }, ...extra });
  const prev = config({ name: '4.40.0-0.prev', to: 'release', verify: { e2e: { prowJob: { name: 'e2e' } }, upgrade: upgrade({ upgradeFrom: 'Previous' }) } });
  const minor = config({ name: '4.16.0-0.minor', to: 'release', verify: { e2e: { prowJob: { name: 'e2e' } }, 'upgrade-minor': upgrade({ upgradeFrom: 'PreviousMinor' }) } });
  const cand = config({
    name: '4.17.0-0.cand',
    to: 'release',
    verify: { e2e: { prowJob: { name: 'e2e' } }, 'upgrade-candidate': upgrade({ upgradeFromRelease: { candidate: { stream: 'nightly', version: '4.15' } } }) },
  });
  const TOKENS = [
    { user: 'casey-ci', token: 'verdicts-ci-token-0123456', roles: ['ci' as const] },
  ];
  const clock = new OffsetClock();
  let r: Rig | undefined;
  let app: FastifyInstance | undefined;
  try {
    r = await rig(dir, [prev, minor, cand], jobsYaml, clock);
    const c = r.controller;
    app = await buildApp({ ops: c, tokens: TOKENS, logger: false });
    const a = app;
    const waive = (stream: string, tag: string, job: string, reason: string) =>
      a.inject({ method: 'POST', url: `/api/v1/releasestream/${stream}/release/${tag}/jobs/${job}/waive`, payload: JSON.stringify({ reason }), headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS[0].token}` } });
    const info = async (stream: string, tag: string) => {
      const res = await a.inject({ url: `/api/v1/releasestream/${stream}/release/${tag}` });
      assert.equal(res.statusCode, 200, res.body);
      return JSON.parse(res.body) as { phase: string; results?: { blockingJobs?: Record<string, { state: string; waived?: unknown }> } };
    };
    const input = async (stream: string) => {
      clock.tick();
      await c.setInputTags(stream, { cli: pullSpec('cli') }, 'test');
    };
    const settled = (stream: string, known: Set<string>) =>
      newPayload(c, stream, known, (p) => (p.phase !== 'Pending' && p.phase !== 'Ready') || (p.phase === 'Ready' && runsOf(c, stream, p.tag, 'e2e').some((x) => x.state === 'Succeeded') && p.message !== ''));

    // ---- (1) a stream's first payload, upgradeFrom Previous: nothing to upgrade from → not run, does not gate
    const kp = new Set<string>();
    await input(prev.name);
    const q1 = await settled(prev.name, kp);
    kp.add(q1.tag);
    await c.idle();
    assert.deepEqual(runsOf(c, prev.name, q1.tag, 'upgrade').map((x) => [x.state, x.reason]), [], 'no upgrade run is recorded for the first payload');
    assert.equal(c.state.payload(prev.name, q1.tag)!.phase, 'Accepted', payloadState(c.state.payload(prev.name, q1.tag)));
    assert.notEqual((await info(prev.name, q1.tag)).results?.blockingJobs?.upgrade?.state, 'Succeeded', 'release info shows the upgrade job as not run, not Succeeded');
    // the next payload upgrades from it, for real
    await input(prev.name);
    const q2 = await settled(prev.name, kp);
    kp.add(q2.tag);
    assert.equal(q2.phase, 'Accepted', payloadState(q2));
    const up = runsOf(c, prev.name, q2.tag, 'upgrade');
    assert.deepEqual(up.map((x) => [x.state, x.upgradeFrom]), [['Succeeded', q1.tag]]);
    assert.match(readFileSync(join(st, 'launches'), 'utf8'), new RegExp(`${up[0].id} ${q1.pullSpec.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

    // ---- (2a) PreviousMinor on a semver stream with no stable 4.15 release, after an Accepted payload → waiting
    const km = new Set<string>();
    await input(minor.name);
    const m1 = await settled(minor.name, km);
    km.add(m1.tag);
    assert.equal(m1.phase, 'Accepted', `the first payload (no earlier accepted payload at all) is not held: ${payloadState(m1)}`);
    await input(minor.name);
    const m2 = await settled(minor.name, km);
    km.add(m2.tag);
    await c.idle();
    const m2r = c.state.payload(minor.name, m2.tag)!;
    assert.equal(m2r.phase, 'Ready', `no upgrade source for PreviousMinor must hold the payload: ${payloadState(m2r)} ${runsState(c, minor.name, m2.tag)}`);
    assert.match(m2r.message, /^waiting for an upgrade source for upgrade-minor: \S/);
    assert.ok(!runsOf(c, minor.name, m2.tag, 'upgrade-minor').some((x) => x.state === 'Succeeded'), 'no Succeeded run without running');
    // an entry that can run (and did) cannot be waived
    const canRun = await waive(minor.name, m2.tag, 'e2e', 'skip it');
    assert.equal(canRun.statusCode, 409, canRun.body);
    // a ci user waives the entry: Accepted, audited, Succeeded on the wire
    const w = await waive(minor.name, m2.tag, 'upgrade-minor', 'no 4.15 stable release exists yet');
    assert.equal(w.statusCode, 200, w.body);
    await waitFor('m2 accepted after the waiver', () => c.state.payload(minor.name, m2.tag)?.phase === 'Accepted', 5000);
    const ev = (await c.listEvents({ stream: minor.name, tag: m2.tag })).find((e) => e.type === 'JobWaived');
    assert.ok(ev, 'a JobWaived event');
    assert.equal(ev.actor, 'casey-ci');
    assert.equal(ev.data.reason, 'no 4.15 stable release exists yet');
    assert.equal(ev.data.verifyName, 'upgrade-minor');
    const wired = (await info(minor.name, m2.tag)).results?.blockingJobs?.['upgrade-minor'];
    assert.equal(wired?.state, 'Succeeded', `release info shows the waived entry as Succeeded: ${JSON.stringify(wired)}`);
    if (wired && 'waived' in wired) assert.ok(wired.waived, 'the waiver is visible in our field');
    // waiving again is refused
    assert.equal((await waive(minor.name, m2.tag, 'upgrade-minor', 'again')).statusCode, 409);

    // ---- (2b) a candidate stream that is not loaded → waiting, already on the first payload
    const kc = new Set<string>();
    await input(cand.name);
    const k1 = await settled(cand.name, kc);
    kc.add(k1.tag);
    await c.idle();
    const k1r = c.state.payload(cand.name, k1.tag)!;
    assert.equal(k1r.phase, 'Ready', `a candidate stream that is not loaded must hold the payload: ${payloadState(k1r)} ${runsState(c, cand.name, k1.tag)}`);
    assert.match(k1r.message, /^waiting for an upgrade source for upgrade-candidate: .*4\.15\.0-0\.nightly/);
    assert.deepEqual(runsOf(c, cand.name, k1.tag, 'upgrade-candidate'), []);
    assert.equal((await waive(cand.name, k1.tag, 'upgrade-candidate', 'the 4.15 nightly stream is not deployed here')).statusCode, 200);
    await waitFor('k1 accepted after the waiver', () => c.state.payload(cand.name, k1.tag)?.phase === 'Accepted', 5000);
    // with an earlier Accepted payload the next one still waits (the source is missing, not the history)
    await input(cand.name);
    const k2 = await settled(cand.name, kc);
    await c.idle();
    const k2r = c.state.payload(cand.name, k2.tag)!;
    assert.equal(k2r.phase, 'Ready', payloadState(k2r));
    assert.match(k2r.message, /^waiting for an upgrade source for upgrade-candidate: /);
  } finally {
    goAll(st);
    await app?.close();
    await r?.close();
    cleanup(dir);
  }
});

test('a failed informing job with retries left is retried after Accepted on a stream without QE jobs', async () => {
  const dir = tempDir('rc-verdicts-informing-retry-');
  const { st, script } = jobScript(dir);
  // the informing job's first attempt waits until the payload is Accepted, then fails; the retry passes
  const jobsYaml = jobsYamlFor(script, { metal: 'gate-fail/pass' });
  const cfg = config({ name: '4.32.0-0.okd', to: 'release', verify: { e2e: { prowJob: { name: 'e2e' } }, metal: { optional: true, maxRetries: 1, prowJob: { name: 'metal' } } } });
  const name = cfg.name;
  const clock = new OffsetClock();
  let r: Rig | undefined;
  let app: FastifyInstance | undefined;
  try {
    r = await rig(dir, [cfg], jobsYaml, clock);
    const c = r.controller;
    await c.setInputTags(name, { cli: pullSpec('cli') }, 'test');
    const p = await newPayload(c, name, new Set(), (x) => x.phase === 'Accepted');
    assert.equal(p.qe.state, '');
    const first = await running(c, st, name, p.tag, 'metal');
    assert.equal(first.attempt, 0);
    go(st, 'metal', p.tag);
    const retried = await waitFor('the informing retry succeeded', () => runsOf(c, name, p.tag, 'metal').find((x) => x.attempt === 1 && x.state === 'Succeeded'), 10_000).catch((e: Error) => {
      throw new Error(`${e.message}: ${runsState(c, name, p.tag)} ${payloadState(c.state.payload(name, p.tag))}`);
    });
    assert.equal(c.state.run(first.id)!.state, 'Failed');
    assert.ok(retried);
    await c.idle();
    const after = c.state.payload(name, p.tag)!;
    assert.equal(after.phase, 'Accepted');
    app = await buildApp({ ops: c, logger: false });
    const res = await app.inject({ url: `/api/v1/releasestream/${name}/release/${p.tag}` });
    const metal = (JSON.parse(res.body) as { results: { informingJobs: Record<string, { state: string; retries?: number }> } }).results.informingJobs.metal;
    assert.equal(metal.state, 'Succeeded');
    assert.equal(metal.retries, 1);
    assert.equal(needsPass(after), false, `a payload whose CI entries are all final is settled: ${payloadState(after)}`);
  } finally {
    goAll(st);
    await app?.close();
    await r?.close();
    cleanup(dir);
  }
});

test('a stream config edit (restart or reload) does not re-judge existing payloads: an added blocking job is not launched on them, a removed failing one still holds them', async () => {
  const dir = tempDir('rc-verdicts-config-edit-');
  const { st, script } = jobScript(dir);
  // e2e-flaky: the first attempt fails at once, the retry waits (and would fail)
  const jobsYaml = jobsYamlFor(script, { flaky: 'fail/gate-fail' });
  type V = 1 | 2 | 3;
  const version = (name: string, v: V) => {
    const verify: Record<string, unknown> = { 'e2e-a': { prowJob: { name: 'e2e-a' } } };
    if (v < 3) verify['e2e-flaky'] = { maxRetries: 1, prowJob: { name: 'flaky' } };
    if (v >= 2) verify['e2e-new'] = { prowJob: { name: 'e2e-new' } };
    return config({ name, to: 'release', verify });
  };
  const R = '4.33.0-0.restart';
  const L = '4.33.0-0.reload';
  const clock = new OffsetClock();
  let r: Rig | undefined;
  /** a Ready payload: e2e-a passed, e2e-flaky failed once and its retry runs */
  const readyWithRetry = async (c: Controller, stream: string, known: Set<string>): Promise<{ p: Payload; retry: JobRun }> => {
    clock.tick();
    await c.setInputTags(stream, { cli: pullSpec('cli') }, 'test');
    const p = await newPayload(c, stream, known, (x) => x.phase === 'Ready');
    known.add(p.tag);
    const retry = await waitFor(`the e2e-flaky retry of ${p.tag} running`, () =>
      runsOf(c, stream, p.tag, 'e2e-flaky').find((x) => x.attempt === 1 && x.state === 'Pending' && pidOf(st, x.id) !== null),
    );
    await waitFor('e2e-a passed', () => runsOf(c, stream, p.tag, 'e2e-a').some((x) => x.state === 'Succeeded'));
    return { p, retry };
  };
  /** the removed entry's retry is cancelled and still holds the payload */
  const heldByRemoval = async (c: Controller, stream: string, p: Payload, retry: JobRun) => {
    const ended = await waitFor(`the e2e-flaky retry of ${p.tag} cancelled`, () => (c.state.run(retry.id)?.state !== 'Pending' ? c.state.run(retry.id) : null), 10_000).catch((e: Error) => {
      throw new Error(`${e.message}: ${payloadState(c.state.payload(stream, p.tag))} ${runsState(c, stream, p.tag)}`);
    });
    await c.idle();
    const cur = c.state.payload(stream, p.tag)!;
    assert.equal(cur.phase, 'Ready', `removing a failing blocking entry must not accept ${p.tag}: ${payloadState(cur)} ${runsState(c, stream, p.tag)}`);
    assert.deepEqual([ended.state, ended.reason], ['Aborted', 'RemovedFromConfig']);
    await waitFor('the retry process is gone', () => !pidAlive(pidOf(st, retry.id)!), 5000);
    assert.ok(cur.jobs?.removed['e2e-flaky'], 'the entry is marked removed on the payload');
    assert.match(cur.message, /e2e-flaky.*removed from the stream config.*waive/);
  };
  try {
    // ---------------- across restarts
    r = await rig(dir, [version(R, 1), version(L, 1)], jobsYaml, clock);
    const kr = new Set<string>();
    const q1 = await readyWithRetry(r.controller, R, kr);
    await r.crash();
    // restart with a blocking job added
    r = await rig(dir, [version(R, 2), version(L, 1)], jobsYaml, clock);
    let c = r.controller;
    await c.idle();
    assert.deepEqual(runsOf(c, R, q1.p.tag, 'e2e-new').map((x) => x.id), [], 'a blocking job added to the config is not launched on an existing payload');
    assert.equal(c.state.payload(R, q1.p.tag)!.phase, 'Ready');
    clock.tick();
    await c.setInputTags(R, { cli: pullSpec('cli') }, 'test');
    const q2 = await newPayload(c, R, kr, (x) => runsOf(c, R, x.tag, 'e2e-new').length > 0);
    kr.add(q2.tag);
    await r.crash();
    // restart with the failing blocking job removed
    r = await rig(dir, [version(R, 3), version(L, 1)], jobsYaml, clock);
    c = r.controller;
    await heldByRemoval(c, R, q1.p, q1.retry);

    // ---------------- live reload (applyConfigs)
    const kl = new Set<string>();
    const l1 = await readyWithRetry(c, L, kl);
    await c.applyConfigs([
      { name: R, config: version(R, 3), file: `${R}.json` },
      { name: L, config: version(L, 2), file: `${L}.json` },
    ]);
    await c.idle();
    assert.deepEqual(runsOf(c, L, l1.p.tag, 'e2e-new').map((x) => x.id), [], 'a reloaded config does not launch its new blocking job on an existing payload');
    assert.equal(c.state.payload(L, l1.p.tag)!.phase, 'Ready');
    clock.tick();
    await c.setInputTags(L, { cli: pullSpec('cli') }, 'test');
    const l2 = await newPayload(c, L, kl, (x) => runsOf(c, L, x.tag, 'e2e-new').length > 0);
    kl.add(l2.tag);
    await c.applyConfigs([
      { name: R, config: version(R, 3), file: `${R}.json` },
      { name: L, config: version(L, 3), file: `${L}.json` },
    ]);
    await heldByRemoval(c, L, l1.p, l1.retry);
    // waiving the removed entry accepts the payload
    await c.waiveJob(L, l1.p.tag, 'e2e-flaky', 'dropped from the stream on purpose', 'casey-ci');
    await waitFor('l1 accepted after the waiver', () => c.state.payload(L, l1.p.tag)?.phase === 'Accepted', 5000);
  } finally {
    goAll(st);
    await r?.close();
    cleanup(dir);
  }
});
