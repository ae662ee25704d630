// Multi-pass simulations of planStream (DESIGN.md §5, §6, §13; upstream-behavior.md §3.4, §3.7,
// §4.3, §4.6, §4.7, §4.11): plan → apply → advance `now` → plan again, on a small config shaped
// like test/fixtures/openshift-release/releases/release-ocp-4.16.json. Every step ends with an
// idempotency check: one more pass with no external change plans nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planChanges } from '../../src/controller/controller.ts';
import { State } from '../../src/controller/state.ts';
import { inputStreamOf, ReleaseConfigSchema, type ReleaseConfig } from '../../src/domain/config/schema.ts';
import { selectGarbage } from '../../src/domain/lifecycle.ts';
import { applyBuild, planStream, type Plan } from '../../src/domain/plan.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import { rfc3339 } from '../../src/domain/tagname.ts';
import type { JobRun, JobRunState, Payload, Phase, QEState, StreamRecord } from '../../src/domain/types.ts';

const STREAM = '4.16.0-0.nightly';
const INPUT = '4.16-art-latest';
const T0 = new Date('2024-05-01T12:00:00Z');
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

const CI_JOBS = ['aws-ovn-serial', 'aws-ovn-upgrade-micro', 'fips-scan', 'hypershift-ovn-conformance', 'metal-ipi-ovn-ipv6'];
const QE_JOBS = ['qe-disruption', 'qe-e2e-aws', 'qe-serial'];

/** 2 blocking, 2 informing, 1 (blocking) upgrade, 3 QE jobs (one optional, one with maxRetries 1). */
const BASE = {
  name: STREAM,
  to: 'release',
  mirrorPrefix: INPUT,
  expires: '336h',
  maxUnreadyReleases: 1,
  publish: {
    tag: { tagRef: { name: '4.16' } },
    'qe-accepted': { tagRef: { name: '4.16-qe-accepted' }, on: 'QEAccepted' },
  },
  verify: {
    'aws-ovn-serial': { maxRetries: 1, prowJob: { name: 'periodic-ci-openshift-release-master-nightly-4.16-e2e-aws-ovn-serial' } },
    'metal-ipi-ovn-ipv6': { prowJob: { name: 'periodic-ci-openshift-release-master-nightly-4.16-e2e-metal-ipi-ovn-ipv6' } },
    'aws-ovn-upgrade-micro': { upgrade: true, maxRetries: 1, prowJob: { name: 'periodic-ci-openshift-release-master-ci-4.16-e2e-aws-ovn-upgrade' } },
    'fips-scan': { optional: true, prowJob: { name: 'periodic-ci-openshift-release-master-nightly-4.16-fips-payload-scan' } },
    'hypershift-ovn-conformance': { optional: true, prowJob: { name: 'periodic-ci-openshift-hypershift-release-4.16-periodics-e2e-aws-ovn-conformance' } },
    'install-analysis-all': { disabled: true, multiJobAnalysis: true, prowJob: { name: 'periodic-ci-openshift-release-master-nightly-4.16-install-analysis-all' } },
    'qe-e2e-aws': { qe: true, maxRetries: 1, prowJob: { name: 'periodic-ci-openshift-openshift-tests-private-release-4.16-e2e-aws' } },
    'qe-serial': { qe: true, prowJob: { name: 'periodic-ci-openshift-openshift-tests-private-release-4.16-serial' } },
    'qe-disruption': { qe: true, optional: true, prowJob: { name: 'periodic-ci-openshift-openshift-tests-private-release-4.16-disruption' } },
  },
  qe: { gate: 'InformingPassed', timeout: '1h' },
};

type Raw = Record<string, unknown>;
function makeConfig(mod: (c: typeof BASE & Raw) => Raw = (c) => c): ReleaseConfig {
  return ReleaseConfigSchema.parse(mod(structuredClone(BASE) as typeof BASE & Raw));
}

function streamRecord(config: ReleaseConfig): StreamRecord {
  return { name: config.name, config, sourceFile: `${config.name}.json`, input: inputStreamOf(config), errors: [], warnings: [], locked: false };
}

const isEmpty = (p: Plan) => p.payloads.length + p.runs.length + p.events.length + p.launches.length + p.deletes.length + p.published.length + p.cancels.length === 0;

/** An in-memory world driven pass by pass, as the controller would (without its timers). */
class Sim {
  readonly state: State;
  now: Date;
  readonly plans: Plan[] = [];

  constructor(
    readonly config: ReleaseConfig,
    o: { payloads?: Payload[]; runs?: JobRun[]; now?: Date; extraStreams?: ReleaseConfig[] } = {},
  ) {
    this.now = o.now ?? T0;
    this.state = State.fromSnapshot({
      streams: [streamRecord(config), ...(o.extraStreams ?? []).map(streamRecord)],
      inputTags: [],
      payloads: o.payloads ?? [],
      jobRuns: o.runs ?? [],
      upgrades: [],
      published: [],
    });
  }

  get at(): string {
    return rfc3339(this.now);
  }

  advance(ms: number): void {
    this.now = new Date(this.now.getTime() + ms);
  }

  /** one atomic input change: every component gets a new digest derived from `n` */
  setInput(n: number): void {
    const tags = ['cli', 'installer', 'machine-config-operator'].map((component) => ({
      input: inputStreamOf(this.config),
      component,
      pullSpec: `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${String(n).padStart(2, '0')}${component.length}`,
      labels: { 'io.openshift.build.commit.id': `c${n}` },
      updatedAt: this.at,
    }));
    this.state.apply([{ kind: 'setInputTags', input: inputStreamOf(this.config), tags }]);
  }

  /** plan one pass and apply its changes */
  pass(opts: { since?: Date } = {}): Plan {
    const plan = planStream(this.state, this.config.name, this.now, opts);
    this.state.apply(planChanges(plan));
    this.plans.push(plan);
    return plan;
  }

  /** passes until one plans no change (as the controller's level-triggered loop), then checks idempotency */
  settle(opts: { since?: Date } = {}): Plan {
    const merged: Plan = { payloads: [], deletes: [], runs: [], events: [], published: [], inputUpdates: [], launches: [], cancels: [], builds: [], mirrors: [], requeueAfterMs: null, creationBlockedBy: '', streamUpdate: null };
    for (let i = 0; i < 20; i++) {
      const p = this.pass(opts);
      for (const k of ['payloads', 'deletes', 'runs', 'events', 'published', 'inputUpdates', 'launches', 'cancels'] as const) (merged[k] as unknown[]).push(...p[k]);
      merged.builds = p.builds;
      merged.requeueAfterMs = p.requeueAfterMs;
      merged.creationBlockedBy = p.creationBlockedBy;
      if (planChanges(p).length === 0 && p.cancels.length === 0) {
        this.assertIdle(opts);
        return merged;
      }
    }
    assert.fail('the stream did not converge in 20 passes');
  }

  /** a pass with no external change plans no payloads, runs, events or launches */
  assertIdle(opts: { since?: Date } = {}): void {
    const again = planStream(this.state, this.config.name, this.now, opts);
    assert.ok(isEmpty(again), `second pass not idle: ${JSON.stringify({ payloads: again.payloads.map((p) => `${p.tag}:${p.phase}/${p.qe.state}`), runs: again.runs.map((r) => r.id), events: again.events.map((e) => e.message), launches: again.launches.map((l) => l.runId), deletes: again.deletes.map((d) => d.tag), published: again.published, cancels: again.cancels })}`);
  }

  build(tag: string, ok = true): void {
    const p = this.payload(tag);
    const result = ok
      ? { ok: true as const, pullSpec: `registry.local/release@sha256:${tag.slice(-6)}`, digest: `sha256:${tag.slice(-6)}` }
      : { ok: false as const, reason: 'CreateReleaseFailed', message: 'could not build' };
    const applied = applyBuild(this.state, p, result, this.now);
    assert.ok(applied, `build of ${tag} applies`);
    this.state.apply([{ kind: 'putPayload', payload: applied.payload }, { kind: 'appendEvent', event: applied.event }]);
  }

  payload(tag: string): Payload {
    const p = this.state.payload(this.config.name, tag);
    assert.ok(p, `payload ${tag} exists`);
    return p;
  }

  newest(): Payload {
    const p = this.state.payloads(this.config.name)[0];
    assert.ok(p, 'a payload exists');
    return p;
  }

  runs(tag: string, pred: (r: JobRun) => boolean = () => true): JobRun[] {
    return this.state.runs(this.config.name, tag).filter(pred);
  }

  pendingRuns(tag: string): JobRun[] {
    return this.runs(tag, (r) => r.state === 'Pending');
  }

  /** the executor reports a result for a run */
  finish(run: JobRun, state: JobRunState): JobRun {
    const next: JobRun = { ...run, state, url: run.url || `https://prow.example/view/${run.id}`, startedAt: run.startedAt ?? run.createdAt, finishedAt: state === 'Pending' ? null : this.at };
    this.state.apply([{ kind: 'putJobRun', run: next }]);
    return next;
  }

  /** finishes the pending run of `verifyName` on `tag` */
  finishJob(tag: string, verifyName: string, state: JobRunState): JobRun {
    const r = this.pendingRuns(tag).filter((x) => x.verifyName === verifyName);
    assert.equal(r.length, 1, `one pending run of ${verifyName} on ${tag}: ${r.map((x) => x.id).join(', ')}`);
    return this.finish(r[0], state);
  }

  published(name: string): string | undefined {
    return this.state.published(this.config.name).find((r) => r.name === name)?.tag;
  }

  /** creates a payload from input `n` and builds it: returns its tag (Ready, jobs launched) */
  createReady(n: number): string {
    this.setInput(n);
    const created = this.settle();
    assert.equal(created.payloads.filter((p) => p.phase === 'Pending').length, 1, 'one payload created');
    const tag = created.payloads[0].tag;
    this.advance(2 * MIN);
    this.build(tag);
    this.settle();
    return tag;
  }
}

const tagAt = (d: Date) => {
  const s = d.toISOString();
  return `${STREAM}-${s.slice(0, 10)}-${s.slice(11, 13)}${s.slice(14, 16)}${s.slice(17, 19)}`;
};

// ---------------------------------------------------------------- the happy path, step by step

test('plan: input → Pending → Ready → CI launches (no QE) → Accepted → QE after informing → QEAccepted, published', () => {
  const sim = new Sim(makeConfig());

  // no input yet: nothing to do
  const empty = sim.settle();
  assert.equal(empty.payloads.length, 0);
  assert.equal(empty.creationBlockedBy, 'input stream has no components');

  // input set → payload created, Pending, asked to be built
  sim.setInput(1);
  const created = sim.pass();
  assert.equal(created.payloads.length, 1);
  const p0 = created.payloads[0];
  const tag = tagAt(T0);
  assert.equal(p0.tag, tag);
  assert.equal(tag, '4.16.0-0.nightly-2024-05-01-120000');
  assert.equal(p0.phase, 'Pending');
  assert.equal(p0.qe.state, 'QEPending', 'a stream with QE jobs starts payloads at QEPending');
  assert.deepEqual(p0.annotations, {
    'release.openshift.io/name': STREAM,
    'release.openshift.io/source': INPUT,
    'release.openshift.io/creationTimestamp': '2024-05-01T12:00:00Z',
    'release.openshift.io/phase': 'Pending',
    'release.openshift.io/hash': p0.inputHash,
    'release.openshift.io/qe-phase': 'QEPending',
    'release.openshift.io/qe-verify': JSON.stringify(Object.fromEntries(QE_JOBS.map((n) => [n, { state: 'Pending', url: '', retries: 0 }]))),
  });
  assert.deepEqual(Object.keys(p0.components), ['cli', 'installer', 'machine-config-operator']);
  assert.deepEqual(created.builds, [tag]);
  assert.deepEqual(created.events.map((e) => e.type), ['PayloadCreated']);
  assert.deepEqual(created.launches, []);
  sim.assertIdle();
  assert.deepEqual(planStream(sim.state, STREAM, sim.now).builds, [tag], 'the build is asked for again while Pending');

  // the builder finishes → Ready
  sim.advance(3 * MIN);
  sim.build(tag);
  assert.equal(sim.payload(tag).phase, 'Ready');
  assert.equal(sim.payload(tag).annotations['release.openshift.io/phase'], 'Ready');

  // a pass launches every non-QE entry but the upgrade one (the stream's first payload: no source, not run) and no QE job
  const verify = sim.settle();
  assert.deepEqual(verify.launches.map((l) => l.verifyName).sort(), ['aws-ovn-serial', 'fips-scan', 'hypershift-ovn-conformance', 'metal-ipi-ovn-ipv6']);
  assert.deepEqual(verify.launches.map((l) => l.runId).sort(), [
    `${tag}-aws-ovn-serial`,
    `${tag}-fips-scan`,
    `${tag}-hypershift-ovn-conformance`,
    `${tag}-metal-ipi-ovn-ipv6`,
  ]);
  for (const l of verify.launches) {
    assert.equal(l.pullSpec, sim.payload(tag).pullSpec);
    assert.equal(l.jobName, (BASE.verify as Record<string, { prowJob: { name: string } }>)[l.verifyName].prowJob.name);
  }
  const kinds = Object.fromEntries(verify.runs.map((r) => [r.verifyName, r.kind]));
  assert.deepEqual(Object.keys(kinds).sort(), CI_JOBS.filter((j) => j !== 'aws-ovn-upgrade-micro'), 'every enabled non-QE entry that can run, the disabled one not');
  assert.deepEqual(kinds, { 'aws-ovn-serial': 'blocking', 'fips-scan': 'informing', 'hypershift-ovn-conformance': 'informing', 'metal-ipi-ovn-ipv6': 'blocking' });
  assert.equal(sim.runs(tag, (r) => r.kind === 'qe').length, 0, 'no QE run before the gate opens');
  assert.equal(sim.payload(tag).phase, 'Ready');
  assert.equal(sim.payload(tag).qe.state, 'QEPending');

  // blocking jobs succeed → Accepted; informing still running → QE waits
  sim.advance(40 * MIN);
  sim.finishJob(tag, 'aws-ovn-serial', 'Succeeded');
  const one = sim.settle();
  assert.equal(sim.payload(tag).phase, 'Ready', 'one blocking job is not enough');
  assert.equal(one.launches.length, 0);
  sim.finishJob(tag, 'metal-ipi-ovn-ipv6', 'Succeeded');
  const accepted = sim.settle();
  const pa = sim.payload(tag);
  assert.equal(pa.phase, 'Accepted');
  assert.equal(pa.reason, 'ReleasePayloadAccepted');
  assert.equal(pa.annotations['release.openshift.io/phase'], 'Accepted');
  assert.equal(pa.qe.state, 'QEPending');
  assert.match(pa.qe.message, /waiting for informing jobs: fips-scan, hypershift-ovn-conformance/);
  assert.equal(accepted.launches.length, 0, 'no QE launch while informing jobs run (gate InformingPassed)');
  assert.equal(sim.published('4.16'), tag, 'publish tagRef follows the newest Accepted payload');
  assert.equal(sim.published('4.16-qe-accepted'), undefined, 'the on: QEAccepted step waits for QE');
  assert.ok(accepted.events.some((e) => e.type === 'Published' && e.data.tagRef === '4.16'));

  // one informing job done: still waiting
  sim.advance(10 * MIN);
  sim.finishJob(tag, 'fips-scan', 'Succeeded');
  assert.equal(sim.settle().launches.length, 0);
  assert.match(sim.payload(tag).qe.message, /waiting for informing jobs: hypershift-ovn-conformance/);

  // every informing job passed → QE launches, QERunning with a deadline of qe.timeout
  sim.advance(10 * MIN);
  sim.finishJob(tag, 'hypershift-ovn-conformance', 'Succeeded');
  const qeStart = sim.settle();
  assert.deepEqual(qeStart.launches.map((l) => l.verifyName).sort(), QE_JOBS);
  assert.ok(qeStart.runs.every((r) => r.kind === 'qe' && r.attempt === 0 && r.generation === 0));
  const pr = sim.payload(tag);
  assert.equal(pr.qe.state, 'QERunning');
  assert.equal(pr.qe.startedAt, sim.at);
  assert.equal(pr.qe.deadline, rfc3339(new Date(sim.now.getTime() + HOUR)));
  assert.deepEqual(pr.qe.jobs, QE_JOBS);
  assert.equal(pr.annotations['release.openshift.io/qe-phase'], 'QERunning');
  assert.equal(qeStart.requeueAfterMs, HOUR, 'woken at the QE deadline');

  // QE jobs succeed → QEAccepted, annotations, the QE publish step runs
  sim.advance(20 * MIN);
  const finishedAt = sim.at;
  for (const name of QE_JOBS) sim.finishJob(tag, name, 'Succeeded');
  const done = sim.settle();
  const pq = sim.payload(tag);
  assert.equal(pq.phase, 'Accepted');
  assert.equal(pq.qe.state, 'QEAccepted');
  assert.equal(pq.qe.reason, 'QEJobsPassed');
  assert.equal(pq.annotations['release.openshift.io/qe-phase'], 'QEAccepted');
  assert.deepEqual(JSON.parse(pq.annotations['release.openshift.io/qe-verify']), Object.fromEntries(
    QE_JOBS.map((n) => [n, { state: 'Succeeded', url: `https://prow.example/view/${tag}-${n}`, retries: 0, transitionTime: finishedAt }]),
  ));
  assert.equal(sim.published('4.16-qe-accepted'), tag);
  assert.ok(done.events.some((e) => e.type === 'QEStateChanged' && e.data.qePhase === 'QEAccepted'));
  assert.equal(done.launches.length, 0);
});

// ---------------------------------------------------------------- QE outcomes, table-driven

type Script = JobRunState[] | 'hang';

interface QERow {
  name: string;
  config?: (c: typeof BASE & Raw) => Raw;
  /** results per attempt for CI jobs (default: Succeeded) */
  ci?: Record<string, Script>;
  /** results per attempt for QE jobs (default: Succeeded) */
  qe?: Record<string, Script>;
  /** after everything else settled with runs hanging, set the clock this far from the QE deadline */
  fromDeadline?: number;
  expected: {
    phase: Phase;
    qeState: QEState;
    qeReason?: string;
    qeMessage?: string | RegExp;
    /** QE runs launched per verify name (attempts) */
    qeAttempts: Record<string, number>;
    cancels?: { runId: string; reason: string }[];
    qePublished: boolean;
  };
}

const qeRows: QERow[] = [
  {
    name: 'all pass → QEAccepted',
    expected: { phase: 'Accepted', qeState: 'QEAccepted', qeReason: 'QEJobsPassed', qeAttempts: { 'qe-disruption': 1, 'qe-e2e-aws': 1, 'qe-serial': 1 }, qePublished: true },
  },
  {
    name: 'a QE job with maxRetries 1 fails once then passes → retried (attempt 1), still QEAccepted',
    qe: { 'qe-e2e-aws': ['Failed', 'Succeeded'] },
    expected: { phase: 'Accepted', qeState: 'QEAccepted', qeAttempts: { 'qe-disruption': 1, 'qe-e2e-aws': 2, 'qe-serial': 1 }, qePublished: true },
  },
  {
    name: 'the optional QE job fails → still QEAccepted',
    qe: { 'qe-disruption': ['Failed'] },
    expected: { phase: 'Accepted', qeState: 'QEAccepted', qeAttempts: { 'qe-disruption': 1, 'qe-e2e-aws': 1, 'qe-serial': 1 }, qePublished: true },
  },
  {
    name: 'a required QE job fails with no retries → QERejected naming it',
    qe: { 'qe-serial': ['Failed'] },
    expected: { phase: 'Accepted', qeState: 'QERejected', qeReason: 'QEJobsFailed', qeMessage: 'QE jobs failed: qe-serial', qeAttempts: { 'qe-disruption': 1, 'qe-e2e-aws': 1, 'qe-serial': 1 }, qePublished: false },
  },
  {
    name: 'a required QE job fails twice with maxRetries 1 → QERejected',
    qe: { 'qe-e2e-aws': ['Failed', 'Aborted'] },
    expected: { phase: 'Accepted', qeState: 'QERejected', qeReason: 'QEJobsFailed', qeMessage: 'QE jobs failed: qe-e2e-aws', qeAttempts: { 'qe-disruption': 1, 'qe-e2e-aws': 2, 'qe-serial': 1 }, qePublished: false },
  },
  {
    name: 'QE timeout: past the deadline → QERejected QETimeout and the pending QE runs are cancelled',
    qe: { 'qe-serial': 'hang', 'qe-disruption': 'hang' },
    fromDeadline: 0,
    expected: {
      phase: 'Accepted',
      qeState: 'QERejected',
      qeReason: 'QETimeout',
      qeMessage: 'QE jobs did not finish within 1h',
      qeAttempts: { 'qe-disruption': 1, 'qe-e2e-aws': 1, 'qe-serial': 1 },
      cancels: [
        { runId: `{tag}-qe-disruption`, reason: 'QETimeout' },
        { runId: `{tag}-qe-serial`, reason: 'QETimeout' },
      ],
      qePublished: false,
    },
  },
  {
    name: 'QE still running just before the deadline → QERunning',
    qe: { 'qe-serial': 'hang' },
    fromDeadline: -1 * SEC,
    expected: { phase: 'Accepted', qeState: 'QERunning', qeAttempts: { 'qe-disruption': 1, 'qe-e2e-aws': 1, 'qe-serial': 1 }, qePublished: false },
  },
  {
    name: 'an informing job fails → QESkipped naming it, no QE launch',
    ci: { 'fips-scan': ['Failed'] },
    expected: { phase: 'Accepted', qeState: 'QESkipped', qeReason: 'InformingJobsFailed', qeMessage: 'informing jobs failed: fips-scan', qeAttempts: {}, qePublished: false },
  },
  {
    name: 'gate InformingCompleted: an informing job fails → QE still runs',
    config: (c) => ({ ...c, qe: { gate: 'InformingCompleted', timeout: '1h' } }),
    ci: { 'fips-scan': ['Failed'] },
    expected: { phase: 'Accepted', qeState: 'QEAccepted', qeAttempts: { 'qe-disruption': 1, 'qe-e2e-aws': 1, 'qe-serial': 1 }, qePublished: true },
  },
  {
    name: 'gate Accepted: QE starts while informing jobs still run',
    config: (c) => ({ ...c, qe: { gate: 'Accepted', timeout: '1h' } }),
    ci: { 'hypershift-ovn-conformance': 'hang' },
    expected: { phase: 'Accepted', qeState: 'QEAccepted', qeAttempts: { 'qe-disruption': 1, 'qe-e2e-aws': 1, 'qe-serial': 1 }, qePublished: true },
  },
  {
    name: 'informing job still running → QEPending, nothing launched',
    ci: { 'hypershift-ovn-conformance': 'hang' },
    expected: { phase: 'Accepted', qeState: 'QEPending', qeAttempts: {}, qePublished: false },
  },
  {
    name: 'Rejected payload never launches QE',
    ci: { 'metal-ipi-ovn-ipv6': ['Failed'] },
    expected: { phase: 'Rejected', qeState: 'QESkipped', qeReason: 'PayloadRejected', qeAttempts: {}, qePublished: false },
  },
  {
    name: 'Rejected after the blocking retry also failed (maxRetries 1)',
    ci: { 'aws-ovn-serial': ['Failed', 'Failed'] },
    expected: { phase: 'Rejected', qeState: 'QESkipped', qeReason: 'PayloadRejected', qeAttempts: {}, qePublished: false },
  },
  {
    name: 'blocking job passes on its retry → Accepted and QE runs',
    ci: { 'aws-ovn-serial': ['Failed', 'Succeeded'] },
    expected: { phase: 'Accepted', qeState: 'QEAccepted', qeAttempts: { 'qe-disruption': 1, 'qe-e2e-aws': 1, 'qe-serial': 1 }, qePublished: true },
  },
  {
    name: 'two required QE jobs fail at once → both named, the CI phase unchanged',
    qe: { 'qe-serial': ['Failed'], 'qe-e2e-aws': ['Failed'] },
    config: (c) => {
      (c.verify as Record<string, Raw>)['qe-e2e-aws'].maxRetries = 0;
      return c;
    },
    expected: { phase: 'Accepted', qeState: 'QERejected', qeMessage: 'QE jobs failed: qe-e2e-aws, qe-serial', qeAttempts: { 'qe-disruption': 1, 'qe-e2e-aws': 1, 'qe-serial': 1 }, qePublished: false },
  },
  {
    name: 'QE already rejected: a QE job that failed with retries left is not retried in the same pass',
    qe: { 'qe-serial': ['Failed'], 'qe-e2e-aws': ['Failed'] },
    expected: { phase: 'Accepted', qeState: 'QERejected', qeMessage: 'QE jobs failed: qe-serial', qeAttempts: { 'qe-disruption': 1, 'qe-e2e-aws': 1, 'qe-serial': 1 }, qePublished: false },
  },
];

/** Drives one payload: finish pending runs per script, follow requeues, until nothing moves. */
function drive(sim: Sim, tag: string, scripts: Record<string, Script>): void {
  for (let round = 0; round < 30; round++) {
    const plan = sim.settle();
    const pending = sim.pendingRuns(tag);
    const movable = pending.filter((r) => scripts[r.verifyName] !== 'hang');
    if (movable.length > 0) {
      sim.advance(5 * MIN);
      for (const r of movable) {
        const s = scripts[r.verifyName];
        sim.finish(r, (Array.isArray(s) ? s[r.attempt] : undefined) ?? 'Succeeded');
      }
      continue;
    }
    // a retry waiting for its backoff: follow the requeue (only when no QE deadline would pass)
    const p = sim.payload(tag);
    const deadline = p.qe.deadline ? Date.parse(p.qe.deadline) : Infinity;
    if (plan.requeueAfterMs !== null && sim.now.getTime() + plan.requeueAfterMs < deadline) {
      sim.advance(plan.requeueAfterMs);
      continue;
    }
    return;
  }
  assert.fail('drive did not finish');
}

for (const row of qeRows) {
  test(`plan QE outcome: ${row.name}`, () => {
    const sim = new Sim(makeConfig(row.config));
    const tag = sim.createReady(1);
    drive(sim, tag, { ...row.ci, ...row.qe });
    let end: Plan | null = null;
    if (row.fromDeadline !== undefined) {
      const deadline = sim.payload(tag).qe.deadline;
      assert.ok(deadline);
      assert.equal(Date.parse(deadline) - Date.parse(sim.payload(tag).qe.startedAt ?? ''), HOUR, 'deadline = first QE launch + qe.timeout');
      sim.now = new Date(Date.parse(deadline) + row.fromDeadline);
      end = sim.settle();
    }
    const p = sim.payload(tag);
    assert.equal(p.phase, row.expected.phase);
    assert.equal(p.qe.state, row.expected.qeState);
    assert.equal(p.annotations['release.openshift.io/qe-phase'], row.expected.qeState);
    if (row.expected.qeReason !== undefined) assert.equal(p.qe.reason, row.expected.qeReason);
    if (typeof row.expected.qeMessage === 'string') assert.equal(p.qe.message, row.expected.qeMessage);
    else if (row.expected.qeMessage) assert.match(p.qe.message, row.expected.qeMessage);
    const attempts: Record<string, number> = {};
    for (const r of sim.runs(tag, (x) => x.kind === 'qe')) attempts[r.verifyName] = (attempts[r.verifyName] ?? 0) + 1;
    assert.deepEqual(attempts, row.expected.qeAttempts);
    if (row.expected.cancels) {
      assert.ok(end);
      assert.deepEqual(
        [...end.cancels].sort((a, b) => (a.runId < b.runId ? -1 : 1)),
        row.expected.cancels.map((c) => ({ ...c, runId: c.runId.replace('{tag}', tag) })),
      );
    }
    assert.equal(sim.published('4.16'), p.phase === 'Accepted' ? tag : undefined);
    assert.equal(sim.published('4.16-qe-accepted'), row.expected.qePublished ? tag : undefined);
    // QE never launches before the payload is Accepted
    for (const r of sim.runs(tag, (x) => x.kind === 'qe')) assert.ok(r.createdAt >= p.phaseChangedAt, `${r.id} launched after Accepted`);
    // a verdict is final: later passes do not touch it
    sim.advance(3 * HOUR);
    sim.settle();
    assert.equal(sim.payload(tag).qe.state, row.expected.qeState === 'QERunning' ? 'QERejected' : row.expected.qeState);
  });
}

test('plan QE: a retried QE job appears in qe-verify with retries 1 and the URL of the passing attempt', () => {
  const sim = new Sim(makeConfig());
  const tag = sim.createReady(1);
  drive(sim, tag, { 'qe-e2e-aws': ['Failed', 'Succeeded'] });
  const p = sim.payload(tag);
  const verify = JSON.parse(p.annotations['release.openshift.io/qe-verify']);
  assert.deepEqual(Object.keys(verify), QE_JOBS);
  assert.equal(verify['qe-e2e-aws'].state, 'Succeeded');
  assert.equal(verify['qe-e2e-aws'].retries, 1);
  assert.equal(verify['qe-e2e-aws'].url, `https://prow.example/view/${tag}-qe-e2e-aws-1`);
  const retry = sim.runs(tag, (r) => r.verifyName === 'qe-e2e-aws' && r.attempt === 1)[0];
  const first = sim.runs(tag, (r) => r.verifyName === 'qe-e2e-aws' && r.attempt === 0)[0];
  assert.equal(retry.createdAt, first.finishedAt, 'the first retry launches at once (backoff 0)');
});

// ---------------------------------------------------------------- retries and backoff (CI)

test('plan: blocking retries follow upstream backoff — retry 1 at once, retry 2 requeued after 2 min, then 4 min', () => {
  const sim = new Sim(makeConfig((c) => {
    (c.verify as Record<string, Raw>)['aws-ovn-serial'].maxRetries = 3;
    return c;
  }));
  const tag = sim.createReady(1);
  sim.advance(10 * MIN);
  sim.finishJob(tag, 'metal-ipi-ovn-ipv6', 'Succeeded');
  sim.settle();
  const serial = (attempt: number) => sim.runs(tag, (r) => r.verifyName === 'aws-ovn-serial' && r.attempt === attempt);

  // attempt 0 fails → attempt 1 launched in the same pass
  sim.advance(30 * MIN);
  sim.finishJob(tag, 'aws-ovn-serial', 'Failed');
  const r1 = sim.settle();
  assert.deepEqual(r1.launches.map((l) => l.runId), [`${tag}-aws-ovn-serial-1`]);
  assert.equal(serial(1)[0].createdAt, sim.at);
  assert.equal(sim.payload(tag).phase, 'Ready', 'a failure with retries left is not a verdict');

  // attempt 1 fails → nothing launched, requeued after 2 minutes
  sim.advance(30 * MIN);
  sim.finishJob(tag, 'aws-ovn-serial', 'Failed');
  const wait = sim.settle();
  assert.equal(wait.launches.length, 0);
  assert.equal(wait.requeueAfterMs, 2 * MIN);
  sim.advance(1 * MIN);
  const still = sim.settle();
  assert.equal(still.launches.length, 0);
  assert.equal(still.requeueAfterMs, 1 * MIN);
  sim.advance(1 * MIN);
  assert.deepEqual(sim.settle().launches.map((l) => l.runId), [`${tag}-aws-ovn-serial-2`]);

  // attempt 2 fails → retry 3 after 4 minutes
  sim.advance(30 * MIN);
  sim.finishJob(tag, 'aws-ovn-serial', 'Failed');
  assert.equal(sim.settle().requeueAfterMs, 4 * MIN);
  sim.advance(4 * MIN);
  assert.deepEqual(sim.settle().launches.map((l) => l.runId), [`${tag}-aws-ovn-serial-3`]);

  // attempt 3 fails: retries exhausted → Rejected naming the job
  sim.advance(30 * MIN);
  sim.finishJob(tag, 'aws-ovn-serial', 'Failed');
  const rejected = sim.settle();
  assert.equal(rejected.launches.length, 0);
  const p = sim.payload(tag);
  assert.equal(p.phase, 'Rejected');
  assert.equal(p.reason, 'VerificationFailed');
  assert.equal(p.message, 'release verification failed: aws-ovn-serial');
  assert.equal(p.annotations['release.openshift.io/reason'], 'VerificationFailed');
  assert.equal(p.qe.state, 'QESkipped');
  assert.equal(sim.runs(tag, (r) => r.kind === 'qe').length, 0);
});

// ---------------------------------------------------------------- upgrade sources, second payload, publish

test('plan: upgrade entry of the stream\'s first payload → not run (no run, never Succeeded), not gating; the next payload upgrades from the first', () => {
  const sim = new Sim(makeConfig());
  const first = sim.createReady(1);
  assert.equal(sim.runs(first, (r) => r.verifyName === 'aws-ovn-upgrade-micro').length, 0, 'no run is recorded for a job that did not run');
  assert.ok(!sim.plans.some((pl) => pl.launches.some((l) => l.verifyName === 'aws-ovn-upgrade-micro')), 'never launched');

  // first payload: everything passes
  drive(sim, first, {});
  assert.equal(sim.payload(first).phase, 'Accepted');
  assert.equal(sim.payload(first).qe.state, 'QEAccepted');
  assert.equal(sim.published('4.16'), first);
  assert.equal(sim.published('4.16-qe-accepted'), first);

  // new input → second payload; its upgrade job starts from the first Accepted payload
  sim.advance(10 * MIN);
  const second = sim.createReady(2);
  assert.notEqual(second, first);
  const up = sim.runs(second, (r) => r.verifyName === 'aws-ovn-upgrade-micro');
  assert.equal(up.length, 1);
  assert.equal(up[0].state, 'Pending');
  assert.equal(up[0].upgradeFrom, first);
  assert.equal(up[0].upgradeFromPullSpec, sim.payload(first).pullSpec);
  const launch = sim.plans.flatMap((pl) => pl.launches).find((l) => l.runId === up[0].id);
  assert.ok(launch);
  assert.equal(launch.initialPullSpec, sim.payload(first).pullSpec);

  // second payload: CI passes, a required QE job fails → 4.16 moves, 4.16-qe-accepted stays on the first
  drive(sim, second, { 'qe-serial': ['Failed'] });
  assert.equal(sim.payload(second).phase, 'Accepted');
  assert.equal(sim.payload(second).qe.state, 'QERejected');
  assert.equal(sim.published('4.16'), second, 'tagRef follows the newest Accepted');
  assert.equal(sim.published('4.16-qe-accepted'), first, 'on: QEAccepted only for the QE-accepted payload');

  // third payload, QE accepted → the QE step moves to it
  sim.advance(10 * MIN);
  const third = sim.createReady(3);
  assert.equal(sim.runs(third, (r) => r.verifyName === 'aws-ovn-upgrade-micro')[0].upgradeFrom, second, 'Previous = newest Accepted (QE verdict does not matter)');
  drive(sim, third, {});
  assert.equal(sim.published('4.16'), third);
  assert.equal(sim.published('4.16-qe-accepted'), third);
});

test('plan: maxUnreadyReleases 1 holds a new input while a payload is Ready; creation follows the verdict', () => {
  const sim = new Sim(makeConfig());
  const first = sim.createReady(1);
  sim.advance(MIN);
  sim.setInput(2);
  const held = sim.settle();
  assert.equal(held.payloads.filter((p) => p.tag !== first).length, 0);
  assert.equal(held.creationBlockedBy, 'no more than 1 pending');
  drive(sim, first, {});
  // the pass that accepted the first payload leads to the next one on the following pass
  assert.equal(sim.state.payloads(STREAM).length, 2);
  assert.equal(sim.newest().phase, 'Pending');
});

// ---------------------------------------------------------------- several Pending

test('plan: more than one Pending payload → the older ones Failed with reason Aborted, the newest is built', () => {
  const mk = (ageMin: number, phase: Phase): Payload => {
    const at = new Date(T0.getTime() - ageMin * MIN);
    const tag = tagAt(at);
    return { stream: STREAM, tag, phase, createdAt: rfc3339(at), inputHash: `sha256:${ageMin}`, pullSpec: `registry.local/release:${tag}`, digest: '', components: {}, reason: '', message: '', annotations: {}, override: null, qe: { ...emptyQEStatus(), state: 'QEPending' }, phaseChangedAt: rfc3339(at) };
  };
  const newest = mk(5, 'Pending');
  const middle = mk(10, 'Pending');
  const oldest = mk(15, 'Pending');
  const accepted = mk(60, 'Accepted');
  const sim = new Sim(makeConfig(), { payloads: [oldest, accepted, newest, middle] });
  const plan = sim.pass();
  assert.deepEqual(plan.builds, [newest.tag]);
  assert.deepEqual(plan.payloads.filter((p) => p.phase === 'Failed').map((p) => p.tag).sort(), [middle.tag, oldest.tag].sort());
  for (const t of [middle.tag, oldest.tag]) {
    const p = sim.payload(t);
    assert.equal(p.reason, 'Aborted');
    assert.equal(p.annotations['release.openshift.io/phase'], 'Failed');
    assert.equal(p.annotations['release.openshift.io/reason'], 'Aborted');
  }
  assert.equal(sim.payload(newest.tag).phase, 'Pending');
  sim.settle();
  // an Aborted payload never runs QE
  assert.equal(sim.payload(middle.tag).qe.state, 'QESkipped');
  assert.equal(sim.payload(middle.tag).qe.reason, 'PayloadFailed');
});

test('plan: a failed build → Failed, no jobs, QESkipped; the next input creates a new payload', () => {
  const sim = new Sim(makeConfig());
  sim.setInput(1);
  const tag = sim.settle().payloads[0].tag;
  sim.advance(MIN);
  sim.build(tag, false);
  const after = sim.settle();
  assert.equal(after.launches.length, 0);
  const p = sim.payload(tag);
  assert.equal(p.phase, 'Failed');
  assert.equal(p.reason, 'CreateReleaseFailed');
  assert.equal(p.qe.state, 'QESkipped');
  assert.equal(sim.runs(tag).length, 0);
  // same input: no new images
  assert.equal(after.creationBlockedBy, 'no new images');
  sim.advance(MIN);
  sim.setInput(2);
  const next = sim.settle();
  assert.equal(next.payloads.filter((x) => x.phase === 'Pending').length, 1);
});

// ---------------------------------------------------------------- streams without QE jobs

test('plan: a stream without QE jobs keeps qe.state "" through its whole life (no qe annotations)', () => {
  const sim = new Sim(makeConfig((c) => {
    const v = c.verify as Record<string, Raw>;
    for (const n of QE_JOBS) delete v[n];
    const { qe: _qe, ...rest } = c;
    return rest;
  }));
  sim.setInput(1);
  const tag = sim.settle().payloads[0].tag;
  assert.equal(sim.payload(tag).qe.state, '');
  sim.advance(MIN);
  sim.build(tag);
  sim.settle();
  drive(sim, tag, {});
  const p = sim.payload(tag);
  assert.equal(p.phase, 'Accepted');
  assert.equal(p.qe.state, '');
  assert.equal(p.annotations['release.openshift.io/qe-phase'], undefined);
  assert.equal(p.annotations['release.openshift.io/qe-verify'], undefined);
  assert.ok(!sim.plans.some((pl) => pl.events.some((e) => e.type === 'QEStateChanged')));
  assert.equal(sim.published('4.16'), tag);
  assert.equal(sim.published('4.16-qe-accepted'), undefined, 'no QE verdict → the QE publish step never runs');
});

// ---------------------------------------------------------------- periodics

test('plan: an interval periodic launches against the newest Accepted payload, then not again until the interval passed', () => {
  const sim = new Sim(makeConfig((c) => ({ ...c, periodic: { 'upgrade-soak': { interval: '2h', prowJob: { name: 'periodic-ci-openshift-release-master-nightly-4.16-soak' } } } })));
  const first = sim.createReady(1);
  assert.ok(!sim.plans.some((pl) => pl.launches.some((l) => l.verifyName === 'upgrade-soak')), 'no Accepted payload yet → no periodic');
  drive(sim, first, { 'upgrade-soak': 'hang' });
  const launched = sim.state.periodicRuns(STREAM);
  assert.equal(launched.length, 1);
  assert.equal(launched[0].tag, first);
  assert.equal(launched[0].kind, 'periodic');
  const launchedAt = Date.parse(launched[0].createdAt);

  // a second Accepted payload arrives while the periodic runs: not launched again while running
  sim.advance(10 * MIN);
  const second = sim.createReady(2);
  drive(sim, second, { 'upgrade-soak': 'hang' });
  assert.equal(sim.state.periodicRuns(STREAM).length, 1);

  // finished; 1 h later it is not due yet, the plan wakes the stream when it is
  sim.finish(sim.state.periodicRuns(STREAM)[0], 'Succeeded');
  sim.now = new Date(launchedAt + HOUR);
  const early = sim.settle();
  assert.equal(early.launches.length, 0);
  assert.equal(early.requeueAfterMs, HOUR);
  sim.now = new Date(launchedAt + 2 * HOUR);
  const due = sim.settle();
  assert.equal(due.launches.length, 1);
  assert.equal(due.launches[0].tag, second, 'runs against the newest Accepted payload');
  assert.equal(sim.state.periodicRuns(STREAM).length, 2);
  // periodic runs never count as verification of the payload they ran against
  assert.equal(sim.payload(second).qe.state, 'QEAccepted');
});

// ---------------------------------------------------------------- garbage collection

test('plan: GC deletes exactly what selectGarbage selects, cancels their pending runs, then is idle', () => {
  const config = makeConfig();
  const phases: Phase[] = ['Ready', 'Accepted', 'Rejected', 'Failed', 'Accepted', 'Rejected', 'Rejected', 'Rejected', 'Rejected', 'Rejected', 'Rejected', 'Failed', 'Accepted', 'Failed', 'Rejected'];
  const payloads: Payload[] = phases.map((phase, i) => {
    const at = new Date(T0.getTime() - (i + 1) * HOUR);
    const tag = tagAt(at);
    return { stream: STREAM, tag, phase, createdAt: rfc3339(at), inputHash: `sha256:${i}`, pullSpec: `registry.local/release:${tag}`, digest: '', components: {}, reason: '', message: '', annotations: {}, override: null, qe: { ...emptyQEStatus(), state: phase === 'Accepted' ? 'QEAccepted' : 'QESkipped' }, phaseChangedAt: rfc3339(at) };
  });
  // a still-running informing job on the oldest (Rejected) payload
  const last = payloads[payloads.length - 1];
  const running: JobRun = {
    id: `${last.tag}-fips-scan`, stream: STREAM, tag: last.tag, verifyName: 'fips-scan', jobName: 'x', kind: 'informing', attempt: 0, generation: 0, state: 'Pending',
    url: '', upgradeFrom: '', upgradeFromPullSpec: '', createdAt: last.createdAt, startedAt: last.createdAt, finishedAt: null, reason: '', logPath: '',
  };
  const sim = new Sim(config, { payloads, runs: [running] });
  const expected = selectGarbage(config, sim.state.payloads(STREAM), sim.now).map((p) => p.tag).sort();
  // the oldest Accepted is index 12: Failed 13 and Rejected 14 are older and go; of the Rejected
  // newer than it (2, 5..10) the newest 5 stay, so 9 and 10 go; Failed 3 and 11 stay
  assert.deepEqual(expected, [payloads[9].tag, payloads[10].tag, payloads[13].tag, payloads[14].tag].sort());
  const gc = sim.pass();
  assert.deepEqual(gc.deletes.map((p) => p.tag).sort(), expected);
  assert.deepEqual(gc.cancels, [{ runId: running.id, reason: 'PayloadDeleted' }]);
  assert.deepEqual(gc.events.map((e) => e.type), ['PayloadDeleted', 'PayloadDeleted', 'PayloadDeleted', 'PayloadDeleted']);
  assert.equal(gc.launches.length + gc.payloads.length, 0, 'a GC pass does nothing else');
  assert.equal(gc.requeueAfterMs, 0, 'and asks for another pass at once');
  for (const t of expected) assert.equal(sim.state.payload(STREAM, t), undefined);
  assert.equal(sim.state.run(running.id), undefined);
  const after = sim.settle();
  assert.equal(after.deletes.length, 0);
  assert.equal(sim.state.payloads(STREAM).length, payloads.length - 4);
});

test('plan: GC of Accepted payloads beyond the newest 5 once past expires', () => {
  const config = makeConfig((c) => ({ ...c, expires: '24h' }));
  const payloads: Payload[] = Array.from({ length: 8 }, (_, i) => {
    const at = new Date(T0.getTime() - (i + 1) * 10 * HOUR);
    const tag = tagAt(at);
    return { stream: STREAM, tag, phase: 'Accepted', createdAt: rfc3339(at), inputHash: `sha256:${i}`, pullSpec: `registry.local/release:${tag}`, digest: '', components: {}, reason: '', message: '', annotations: (i === 7 ? { 'release.openshift.io/keep': 'yes' } : {}) as Record<string, string>, override: null, qe: { ...emptyQEStatus(), state: 'QEAccepted' }, phaseChangedAt: rfc3339(at) };
  });
  const sim = new Sim(config, { payloads });
  // ages 10..80 h; beyond the newest 5 (indexes 5, 6; 7 is kept): 60 h and 70 h are past 24 h
  const gc = sim.pass();
  assert.deepEqual(gc.deletes.map((p) => p.tag).sort(), [payloads[5].tag, payloads[6].tag].sort());
  sim.settle();
  assert.ok(sim.state.payload(STREAM, payloads[7].tag), 'a kept payload is never removed');
});

// ---------------------------------------------------------------- more gate and config cases

test('plan: an informing job retried after the payload is Accepted (QEPending) opens the gate once it passes', () => {
  const sim = new Sim(makeConfig((c) => {
    (c.verify as Record<string, Raw>)['fips-scan'].maxRetries = 1;
    return c;
  }));
  const tag = sim.createReady(1);
  sim.advance(20 * MIN);
  for (const n of ['aws-ovn-serial', 'metal-ipi-ovn-ipv6', 'hypershift-ovn-conformance']) sim.finishJob(tag, n, 'Succeeded');
  sim.settle();
  assert.equal(sim.payload(tag).phase, 'Accepted');
  sim.advance(5 * MIN);
  sim.finishJob(tag, 'fips-scan', 'Failed');
  const retry = sim.settle();
  assert.deepEqual(retry.launches.map((l) => l.runId), [`${tag}-fips-scan-1`], 'the informing retry still launches after Accepted while QE waits');
  assert.equal(sim.payload(tag).qe.state, 'QEPending');
  sim.advance(5 * MIN);
  sim.finishJob(tag, 'fips-scan', 'Succeeded');
  const open = sim.settle();
  assert.deepEqual(open.launches.map((l) => l.verifyName).sort(), QE_JOBS);
  assert.equal(sim.payload(tag).qe.state, 'QERunning');
});

test('plan: a QE job removed from the config while QE runs → its run is cancelled and no longer decides', () => {
  const sim = new Sim(makeConfig());
  const tag = sim.createReady(1);
  drive(sim, tag, { 'qe-serial': 'hang', 'qe-e2e-aws': 'hang' });
  assert.equal(sim.payload(tag).qe.state, 'QERunning');
  const next = makeConfig((c) => {
    const v = c.verify as Record<string, Raw>;
    delete v['qe-serial'];
    v['qe-new'] = { qe: true, prowJob: { name: 'periodic-qe-new' } };
    return c;
  });
  sim.state.apply([{ kind: 'putStream', stream: streamRecord(next) }]);
  const p = sim.pass();
  assert.deepEqual(p.cancels, [{ runId: `${tag}-qe-serial`, reason: 'RemovedFromConfig' }]);
  assert.equal(p.launches.length, 0, 'a QE job added after QE started is not launched');
  sim.finish(sim.pendingRuns(tag).find((r) => r.verifyName === 'qe-serial')!, 'Aborted');
  sim.settle();
  sim.advance(MIN);
  sim.finishJob(tag, 'qe-e2e-aws', 'Succeeded');
  sim.settle();
  const q = sim.payload(tag).qe;
  assert.equal(q.state, 'QEAccepted');
  assert.equal(q.message, 'QE jobs passed: qe-e2e-aws');
});

test('plan: minCreationIntervalSeconds holds a new input and requeues for the remaining wait', () => {
  const sim = new Sim(makeConfig((c) => ({ ...c, maxUnreadyReleases: 0, minCreationIntervalSeconds: 600 })));
  const first = sim.createReady(1); // created at T0, now T0 + 2 min
  sim.advance(MIN);
  sim.setInput(2);
  const held = sim.settle();
  assert.equal(held.payloads.filter((p) => p.tag !== first).length, 0);
  assert.equal(held.creationBlockedBy, 'waiting for 420s');
  assert.equal(held.requeueAfterMs, 7 * MIN);
  sim.advance(7 * MIN);
  const created = sim.settle();
  const p = created.payloads.find((x) => x.tag !== first);
  assert.ok(p);
  assert.equal(p.tag, tagAt(new Date(T0.getTime() + 10 * MIN)));
  assert.equal(p.phase, 'Pending');
});

test('plan: a payload pruned within the second it was created is not built again under its name; the next second gives another', () => {
  const sim = new Sim(makeConfig((c) => ({ ...c, maxUnreadyReleases: 0 })));
  sim.setInput(1);
  const first = sim.pass().payloads[0]!;
  assert.equal(first.tag, tagAt(T0));
  // pruned at once (the stream's input still holds the same tags)
  sim.state.apply([{ kind: 'deletePayload', stream: STREAM, tag: first.tag }]);
  sim.advance(400);
  const held = sim.pass();
  assert.deepEqual(held.payloads, [], 'no payload under the deleted name');
  assert.equal(held.requeueAfterMs, 1000);
  sim.advance(600);
  const again = sim.pass().payloads.find((p) => p.phase === 'Pending');
  assert.ok(again);
  assert.equal(again.tag, tagAt(new Date(T0.getTime() + SEC)));
  assert.equal(again.inputHash, first.inputHash, 'the same input, under a new name');
});
