// Table tests for the operations people ask for (DESIGN §14 "Operations are domain functions"):
// state + request + now → the changes to apply, or a refusal with its HTTP status and message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { State } from '../../src/controller/state.ts';
import { ReleaseConfigSchema } from '../../src/domain/config/schema.ts';
import { freezeJobs } from '../../src/domain/judging.ts';
import { overridePhase, rerunQE, retryJob, setQEVerdict, updateInputTags, waiveJob, type OpResult } from '../../src/domain/operations.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { JobRun, Payload, QEStatus } from '../../src/domain/types.ts';

const NOW = new Date('2026-01-01T12:00:00Z');
const AT = '2026-01-01T11:00:00Z';
const config = ReleaseConfigSchema.parse({
  name: '4.18.0-0.nightly',
  to: 'release',
  verify: {
    e2e: { prowJob: { name: 'e2e' }, maxRetries: 1 },
    informing: { optional: true, prowJob: { name: 'informing' } },
    upgrade: { upgrade: true, upgradeFromRelease: { candidate: { stream: 'nightly', version: '4.17' } }, prowJob: { name: 'upgrade' } },
    agg: { prowJob: { name: 'agg' }, aggregatedProwJob: { analysisJobCount: 2 } },
    'qe-e2e': { qe: true, prowJob: { name: 'qe-e2e' } },
  },
});
const S = config.name;

function payload(tag: string, o: Partial<Payload> = {}, qe: Partial<QEStatus> = {}): Payload {
  return {
    stream: S, tag, phase: 'Ready', createdAt: AT, inputHash: `h-${tag}`, pullSpec: `r/release:${tag}`, digest: '', components: {}, reason: '', message: '',
    annotations: {}, override: null, qe: { ...emptyQEStatus(), state: 'QEPending', ...qe }, phaseChangedAt: AT, jobs: freezeJobs(config), ...o,
  };
}

function run(tag: string, verifyName: string, attempt: number, state: JobRun['state'], o: Partial<JobRun> = {}): JobRun {
  return {
    id: `${tag}-${verifyName}${attempt ? `-${attempt}` : ''}`, stream: S, tag, verifyName, jobName: verifyName, kind: 'blocking', attempt, generation: 0, state, url: '',
    upgradeFrom: '', upgradeFromPullSpec: '', createdAt: AT, startedAt: AT, finishedAt: state === 'Pending' ? null : AT, reason: state === 'Failed' ? 'exit code 1' : '', logPath: '', ...o,
  };
}

const READY = payload('ready');
const PENDING = payload('pending', { phase: 'Pending' });
const FAILED = payload('failed', { phase: 'Failed' });
const REJECTED = payload('rejected', { phase: 'Rejected', reason: 'VerificationFailed' }, { state: 'QESkipped', reason: 'PayloadRejected' });
const QERUNNING = payload('qerunning', { phase: 'Accepted' }, { state: 'QERunning', startedAt: AT, deadline: '2026-01-02T11:00:00Z', jobs: ['qe-e2e'] });
const QEACCEPTED = payload('qeaccepted', { phase: 'Accepted' }, { state: 'QEAccepted', startedAt: AT, deadline: '2026-01-02T11:00:00Z', jobs: ['qe-e2e'] });
const WAIVED = payload('waived', {}, {});
WAIVED.jobs = { ...WAIVED.jobs!, waivers: { upgrade: { reason: 'r', user: 'u', at: AT } } };

const state = State.fromSnapshot({
  streams: [{ name: S, config, sourceFile: 's.json', input: S, errors: [], warnings: [], locked: false }],
  inputTags: [{ input: S, component: 'cli', pullSpec: 'q/cli@sha256:1', labels: {}, updatedAt: AT }],
  payloads: [READY, PENDING, FAILED, REJECTED, QERUNNING, QEACCEPTED, WAIVED],
  jobRuns: [
    run('ready', 'e2e', 0, 'Pending'),
    run('rejected', 'e2e', 0, 'Failed'),
    run('rejected', 'e2e', 1, 'Failed'),
    run('rejected', 'agg', 0, 'Failed', { id: 'rejected-agg-aggregator', kind: 'aggregator', jobName: 'release-openshift-release-analysis-aggregator', env: { ANALYSIS_JOB_COUNT: '2', ANALYSIS_JOBS_SUCCEEDED: '1' } }),
    run('rejected', 'informing', 0, 'Interrupted', { kind: 'informing' }),
    run('qerunning', 'qe-e2e', 0, 'Pending', { kind: 'qe' }),
    run('qerunning', 'e2e', 0, 'Succeeded'),
  ],
  upgrades: [],
  published: [],
});

const req = <O extends Record<string, string>>(tag: string, o: O = {} as O) => ({ stream: S, tag, reason: 'because', user: 'alice', ...o });

function refused(r: OpResult): [number, string] | null {
  return r.ok ? null : [r.refusal.status, r.refusal.message];
}

const REFUSALS: { name: string; op: () => OpResult; status: number; message: RegExp }[] = [
  { name: 'override: bad phase', op: () => overridePhase(state, req('ready', { phase: 'Ready' }), NOW), status: 400, message: /Accepted or Rejected/ },
  { name: 'override: empty reason', op: () => overridePhase(state, { ...req('ready', { phase: 'Accepted' }), reason: ' ' }, NOW), status: 400, message: /reason is required/ },
  { name: 'override: unknown stream', op: () => overridePhase(state, { ...req('ready', { phase: 'Accepted' }), stream: 'nope' }, NOW), status: 404, message: /unknown release stream nope/ },
  { name: 'override: unknown tag (__proto__)', op: () => overridePhase(state, req('__proto__', { phase: 'Accepted' }), NOW), status: 404, message: /unknown release tag __proto__/ },
  { name: 'override: Pending payload', op: () => overridePhase(state, req('pending', { phase: 'Accepted' }), NOW), status: 409, message: /still Pending/ },
  { name: 'override: Failed payload', op: () => overridePhase(state, req('failed', { phase: 'Rejected' }), NOW), status: 409, message: /could not be built/ },
  { name: 'QE verdict on a Ready payload', op: () => setQEVerdict(state, req('ready', { verdict: 'QEAccepted' }), NOW), status: 409, message: /only be set on an Accepted payload/ },
  { name: 'QE verdict on a Rejected payload', op: () => setQEVerdict(state, req('rejected', { verdict: 'QEAccepted' }), NOW), status: 409, message: /Rejected/ },
  { name: 'QE verdict: bad verdict', op: () => setQEVerdict(state, req('qerunning', { verdict: 'QEMaybe' }), NOW), status: 400, message: /QEAccepted or QERejected/ },
  { name: 'QE re-run on a Ready payload', op: () => rerunQE(state, req('ready'), NOW), status: 409, message: /only on Accepted/ },
  { name: 'retry: __proto__', op: () => retryJob(state, req('ready', { verifyName: '__proto__' }), NOW), status: 404, message: /no verification job __proto__/ },
  { name: 'retry: constructor', op: () => retryJob(state, req('ready', { verifyName: 'constructor' }), NOW), status: 404, message: /no verification job constructor/ },
  { name: 'retry: still running', op: () => retryJob(state, req('ready', { verifyName: 'e2e' }), NOW), status: 409, message: /still running/ },
  { name: 'retry: already succeeded', op: () => retryJob(state, req('qerunning', { verifyName: 'e2e' }), NOW), status: 409, message: /already succeeded/ },
  { name: 'retry: interrupted (being relaunched)', op: () => retryJob(state, req('rejected', { verifyName: 'informing' }), NOW), status: 409, message: /interrupted/ },
  { name: 'retry: upgrade job without a source', op: () => retryJob(state, req('ready', { verifyName: 'upgrade' }), NOW), status: 409, message: /no upgrade source.*waive it instead/ },
  { name: 'retry: aggregated entry not decided yet (analysis runs still going)', op: () => retryJob(state, req('ready', { verifyName: 'agg' }), NOW), status: 409, message: /not been decided yet/ },
  { name: 'retry: Pending payload', op: () => retryJob(state, req('pending', { verifyName: 'e2e' }), NOW), status: 409, message: /Pending/ },
  { name: 'waive: a job that can run', op: () => waiveJob(state, req('ready', { verifyName: 'e2e' }), NOW), status: 409, message: /can run/ },
  { name: 'waive: a QE job', op: () => waiveJob(state, req('ready', { verifyName: 'qe-e2e' }), NOW), status: 404, message: /QE jobs cannot be waived/ },
  { name: 'waive: toString', op: () => waiveJob(state, req('ready', { verifyName: 'toString' }), NOW), status: 404, message: /no verification job toString/ },
  { name: 'waive: already waived', op: () => waiveJob(state, req('waived', { verifyName: 'upgrade' }), NOW), status: 409, message: /already waived/ },
  { name: 'waive: Rejected payload', op: () => waiveJob(state, req('rejected', { verifyName: 'upgrade' }), NOW), status: 409, message: /Rejected/ },
  { name: 'input: no components', op: () => updateInputTags(state, { input: S, tags: {}, user: 'ci' }, NOW), status: 400, message: /at least one component/ },
  { name: 'input: bad component name', op: () => updateInputTags(state, { input: S, tags: { '../x': 'a' }, user: 'ci' }, NOW), status: 400, message: /invalid component name/ },
];

for (const row of REFUSALS) {
  test(`operation refused: ${row.name}`, () => {
    const r = refused(row.op());
    assert.ok(r, 'refused');
    assert.equal(r[0], row.status);
    assert.match(r[1], row.message);
  });
}

function changes(r: OpResult) {
  assert.ok(r.ok, r.ok ? '' : r.refusal.message);
  return r.changes;
}

test('override to Rejected of a QE-running payload: QE stops (QESkipped naming the override), its runs are cancelled', () => {
  const c = changes(overridePhase(state, req('qerunning', { phase: 'Rejected' }), NOW));
  assert.equal(c.payload?.phase, 'Rejected');
  assert.equal(c.payload?.qe.state, 'QESkipped');
  assert.equal(c.payload?.qe.reason, 'ReleasePayloadManuallyRejected');
  assert.match(c.payload!.qe.message, /alice: because/);
  assert.deepEqual(c.cancels, [{ runId: 'qerunning-qe-e2e', reason: 'ReleasePayloadManuallyRejected' }]);
  assert.equal(c.payload?.annotations['release.openshift.io/phase'], 'Rejected');
  assert.deepEqual(c.events.map((e) => e.type), ['PhaseOverridden', 'QEStateChanged']);
});

test('override to Rejected of a QE-accepted payload: no longer QE accepted', () => {
  const c = changes(overridePhase(state, req('qeaccepted', { phase: 'Rejected' }), NOW));
  assert.equal(c.payload?.qe.state, 'QESkipped');
});

test('override to Accepted of a Rejected payload reopens QE (QEPending)', () => {
  const c = changes(overridePhase(state, req('rejected', { phase: 'Accepted' }), NOW));
  assert.equal(c.payload?.phase, 'Accepted');
  assert.equal(c.payload?.override?.user, 'alice');
  assert.equal(c.payload?.qe.state, 'QEPending');
});

test('QE verdict on an Accepted payload: set as an override, running QE runs cancelled', () => {
  const c = changes(setQEVerdict(state, req('qerunning', { verdict: 'QERejected' }), NOW));
  assert.equal(c.payload?.qe.state, 'QERejected');
  assert.equal(c.payload?.qe.override?.user, 'alice');
  assert.deepEqual(c.cancels, [{ runId: 'qerunning-qe-e2e', reason: 'QEVerdict' }]);
});

test('QE re-run: a new generation, older runs cancelled', () => {
  const c = changes(rerunQE(state, req('qerunning'), NOW));
  assert.equal(c.payload?.qe.generation, 1);
  assert.equal(c.payload?.qe.state, 'QEPending');
  assert.equal(c.cancels.length, 1);
});

test('retry of the aggregator that rejected a payload: Ready again, the new run keeps the launch environment', () => {
  const c = changes(retryJob(state, req('rejected', { verifyName: 'agg' }), NOW));
  assert.equal(c.payload?.phase, 'Ready');
  assert.equal(c.payload?.jobs?.ciDone, false);
  assert.equal(c.payload?.qe.state, 'QEPending', 'QE reopens with the payload');
  assert.equal(c.runs.length, 1);
  assert.equal(c.runs[0].kind, 'aggregator');
  assert.equal(c.runs[0].attempt, 1);
  assert.deepEqual(c.runs[0].env, { ANALYSIS_JOB_COUNT: '2', ANALYSIS_JOBS_SUCCEEDED: '1' });
  assert.deepEqual(c.launches, [c.runs[0].id]);
});

test('waive an upgrade job waiting for a source: recorded with who and why', () => {
  const c = changes(waiveJob(state, req('ready', { verifyName: 'upgrade' }), NOW));
  assert.deepEqual(c.payload?.jobs?.waivers.upgrade, { reason: 'because', user: 'alice', at: '2026-01-01T12:00:00Z' });
  assert.equal(c.events[0].type, 'JobWaived');
  assert.equal(c.events[0].actor, 'alice');
});

test('input update: prototype-named components are ordinary components; an unchanged update changes nothing', () => {
  const c = changes(updateInputTags(state, { input: S, tags: { constructor: 'q/c@sha256:2', toString: 'q/t@sha256:3' }, user: 'ci' }, NOW));
  assert.deepEqual(c.inputTags?.tags.map((t) => [t.component, t.labels]).sort(), [['cli', {}], ['constructor', {}], ['toString', {}]]);
  const same = changes(updateInputTags(state, { input: S, tags: { cli: 'q/cli@sha256:1' }, user: 'ci' }, NOW));
  assert.equal(same.inputTags, null);
  assert.equal(same.events.length, 0);
});
