// Table tests for the operations people ask for (DESIGN §14 "Operations are domain functions"):
// state + request + now → the changes to apply, or a refusal with its HTTP status and message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { State } from '../../src/controller/state.ts';
import { ReleaseConfigSchema } from '../../src/domain/config/schema.ts';
import { freezeJobs } from '../../src/domain/judging.ts';
import {
  overridePhase, pinComponent, pokeStream, prunePayload, rerunQE, retryJob, setKeep, setLock, setQEVerdict, unpinComponent, updateInputTags, waiveJob,
  type OpChanges, type OpResult,
} from '../../src/domain/operations.ts';
import { inputHash, isKept, selectGarbage } from '../../src/domain/lifecycle.ts';
import { planStream } from '../../src/domain/plan.ts';
import { creationBlockedBy, notAcceptedBecause } from '../../src/domain/why.ts';
import type { Change } from '../../src/ports/store.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { InputTag, JobRun, Payload, QEStatus, StreamRecord } from '../../src/domain/types.ts';

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

test('input update with replace (a registry import): a component not in the update leaves the input; merge keeps it', () => {
  const merged = changes(updateInputTags(state, { input: S, tags: { installer: 'q/i@sha256:4' }, user: 'ci' }, NOW));
  assert.deepEqual(merged.inputTags?.tags.map((t) => t.component).sort(), ['cli', 'installer']);
  const replaced = changes(updateInputTags(state, { input: S, tags: { installer: 'q/i@sha256:4' }, user: 'registry-import', replace: true }, NOW));
  assert.deepEqual(replaced.inputTags?.tags.map((t) => t.component), ['installer']);
  assert.equal(replaced.events[0].message, `input stream ${S} updated: installer; removed: cli`);
  assert.deepEqual(replaced.events[0].data, { input: S, components: ['installer'], removed: ['cli'] });
  assert.deepEqual(replaced.wake, [S]);
  const same = changes(updateInputTags(state, { input: S, tags: { cli: 'q/cli@sha256:1' }, user: 'registry-import', replace: true }, NOW));
  assert.equal(same.inputTags, null, 'the registry has what the input has: nothing changes');
});

test('input update: prototype-named components are ordinary components; an unchanged update changes nothing', () => {
  const c = changes(updateInputTags(state, { input: S, tags: { constructor: 'q/c@sha256:2', toString: 'q/t@sha256:3' }, user: 'ci' }, NOW));
  assert.deepEqual(c.inputTags?.tags.map((t) => [t.component, t.labels]).sort(), [['cli', {}], ['constructor', {}], ['toString', {}]]);
  const same = changes(updateInputTags(state, { input: S, tags: { cli: 'q/cli@sha256:1' }, user: 'ci' }, NOW));
  assert.equal(same.inputTags, null);
  assert.equal(same.events.length, 0);
});

// ---------------------------------------------------------------- operator levers (issue 21)

const LS = '4.19.0-0.nightly';
const LINPUT = 'ocp-4.19';
const lconfig = ReleaseConfigSchema.parse({
  name: LS, to: 'release', source: LINPUT, maxUnreadyReleases: 2, minCreationIntervalSeconds: 3600,
  verify: { e2e: { prowJob: { name: 'e2e' }, maxRetries: 2 }, gcp: { optional: true, prowJob: { name: 'gcp' } }, upgrade: { upgrade: true, upgradeFrom: 'PreviousMinor', prowJob: { name: 'upgrade' } } },
});
const stable = ReleaseConfigSchema.parse({ name: '4-stable', as: 'Stable', to: 'release' });
const spec = (c: string, n: number) => `quay.io/ocp/${c}@sha256:${String(n).repeat(64).slice(0, 64)}`;
const itag = (component: string, n: number): InputTag => ({ input: LINPUT, component, pullSpec: spec(component, n), labels: { 'io.openshift.build.commit.id': `${n}`.repeat(40) }, updatedAt: AT });
const INPUT1 = [itag('cli', 1), itag('installer', 1)];
const lp = (tag: string, o: Partial<Payload> = {}): Payload => ({
  stream: LS, tag: `${LS}-${tag}`, phase: 'Accepted', createdAt: AT, inputHash: 'old', pullSpec: `r/release:${tag}`, digest: '', reason: '', message: '', annotations: {}, override: null,
  qe: emptyQEStatus(), phaseChangedAt: AT, jobs: freezeJobs(lconfig), components: { cli: { pullSpec: spec('cli', 1) }, installer: { pullSpec: spec('installer', 1) } }, ...o,
});
const lrec = (o: Partial<StreamRecord> = {}): StreamRecord => ({ name: LS, config: lconfig, sourceFile: 'n.json', input: LINPUT, errors: [], warnings: [], locked: false, ...o });

/** a world: the lever stream (input INPUT1 unless given) and a Stable stream */
function world(payloads: Payload[], o: { rec?: Partial<StreamRecord>; input?: InputTag[]; runs?: JobRun[] } = {}): State {
  return State.fromSnapshot({
    streams: [lrec(o.rec), { name: '4-stable', config: stable, sourceFile: 's.json', input: '4-stable', errors: [], warnings: [], locked: false }],
    inputTags: o.input ?? INPUT1, payloads, jobRuns: o.runs ?? [], upgrades: [], published: [],
  });
}

/** applies an operation's changes to the state the way the controller does */
function apply(st: State, c: OpChanges): void {
  const ch: Change[] = [];
  if (c.stream) ch.push({ kind: 'putStream', stream: c.stream });
  if (c.pins) ch.push({ kind: 'setPins', input: c.pins.input, pins: c.pins.pins });
  for (const d of c.deletes) ch.push({ kind: 'deletePayload', stream: d.stream, tag: d.tag });
  if (c.inputTags) ch.push({ kind: 'setInputTags', input: c.inputTags.input, tags: c.inputTags.tags });
  if (c.payload) ch.push({ kind: 'putPayload', payload: c.payload });
  for (const r of c.runs) ch.push({ kind: 'putJobRun', run: r });
  st.apply(ch);
}

const lreq = (o: Record<string, unknown> = {}) => ({ stream: LS, reason: 'incident 42', user: 'rel-eng', ...o });
const READY1 = lp('ready', { phase: 'Ready', createdAt: '2026-01-01T11:30:00Z' });
const KEPT = lp('kept', { annotations: { 'release.openshift.io/keep': 'GA candidate' } });
const PEND = lp('pending', { phase: 'Pending' });
const lstate = world([READY1, KEPT, PEND, lp('acc')], { runs: [run(READY1.tag, 'e2e', 0, 'Pending')].map((r) => ({ ...r, stream: LS })) });

const LEVER_REFUSALS: { name: string; op: () => OpResult; status: number; message: RegExp }[] = [
  { name: 'keep: empty reason', op: () => setKeep(lstate, { ...lreq({ tag: READY1.tag, keep: true }), reason: '  ' } as never, NOW), status: 400, message: /reason is required/ },
  { name: 'keep: unknown tag', op: () => setKeep(lstate, lreq({ tag: 'nope', keep: true }) as never, NOW), status: 404, message: /unknown release tag nope/ },
  { name: 'keep: a Pending payload', op: () => setKeep(lstate, lreq({ tag: PEND.tag, keep: true }) as never, NOW), status: 409, message: /still Pending/ },
  { name: 'unkeep: not kept', op: () => setKeep(lstate, lreq({ tag: READY1.tag, keep: false }) as never, NOW), status: 409, message: /is not kept/ },
  { name: 'keep: already kept with that reason', op: () => setKeep(lstate, lreq({ tag: KEPT.tag, keep: true, reason: 'GA candidate' }) as never, NOW), status: 409, message: /already kept: GA candidate/ },
  { name: 'lock: unknown stream', op: () => setLock(lstate, lreq({ stream: 'nope', locked: true }) as never, NOW), status: 404, message: /unknown release stream nope/ },
  { name: 'unlock: not locked', op: () => setLock(lstate, lreq({ locked: false }) as never, NOW), status: 409, message: /is not locked/ },
  { name: 'pin: neither pullSpec nor fromTag', op: () => pinComponent(lstate, { input: LINPUT, component: 'cli', reason: 'r', user: 'u' }, NOW), status: 400, message: /exactly one of pullSpec and fromTag/ },
  { name: 'pin: both pullSpec and fromTag', op: () => pinComponent(lstate, { input: LINPUT, component: 'cli', pullSpec: spec('cli', 1), fromTag: KEPT.tag, reason: 'r', user: 'u' }, NOW), status: 400, message: /exactly one/ },
  { name: 'pin: bad component name', op: () => pinComponent(lstate, { input: LINPUT, component: '../etc', pullSpec: 'x', reason: 'r', user: 'u' }, NOW), status: 400, message: /invalid component name/ },
  { name: 'pin: unknown input', op: () => pinComponent(lstate, { input: 'nope', component: 'cli', pullSpec: 'x', reason: 'r', user: 'u' }, NOW), status: 404, message: /unknown input stream nope/ },
  { name: 'pin: unknown fromTag', op: () => pinComponent(lstate, { input: LINPUT, component: 'cli', fromTag: 'nope', reason: 'r', user: 'u' }, NOW), status: 404, message: /unknown release tag nope/ },
  { name: 'pin: fromTag without the component', op: () => pinComponent(lstate, { input: LINPUT, component: 'oc', fromTag: KEPT.tag, reason: 'r', user: 'u' }, NOW), status: 404, message: /has no component oc/ },
  { name: 'pin: a component the input does not have (pull spec given)', op: () => pinComponent(lstate, { input: LINPUT, component: 'oc', pullSpec: 'x', reason: 'r', user: 'u' }, NOW), status: 404, message: /has no component oc/ },
  { name: 'unpin: not pinned', op: () => unpinComponent(lstate, { input: LINPUT, component: 'cli', reason: 'r', user: 'u' }, NOW), status: 404, message: /cli of input stream ocp-4.19 is not pinned/ },
  { name: 'poke: a payload is pending', op: () => pokeStream(lstate, lreq({ repository: 'r/release' }) as never, NOW), status: 409, message: /a payload is pending/ },
  { name: 'poke: Stable stream', op: () => pokeStream(lstate, lreq({ stream: '4-stable', repository: 'r' }) as never, NOW), status: 409, message: /Stable stream/ },
  { name: 'poke: locked', op: () => pokeStream(world([], { rec: { locked: true, lock: { reason: 'freeze', user: 'boss', at: AT } } }), lreq({ repository: 'r' }) as never, NOW), status: 409, message: /locked by boss: freeze; unlock it first/ },
  {
    name: 'poke: respects maxUnreadyReleases',
    op: () => pokeStream(world([lp('r1', { phase: 'Ready' }), lp('r2', { phase: 'Ready' })]), lreq({ repository: 'r' }) as never, NOW),
    status: 409, message: /no payload can be created now: no more than 2 pending/,
  },
  { name: 'poke: input has no components', op: () => pokeStream(world([], { input: [] }), lreq({ repository: 'r' }) as never, NOW), status: 409, message: /input stream has no components/ },
  { name: 'prune: refuses a kept payload', op: () => prunePayload(lstate, lreq({ tag: KEPT.tag }) as never, NOW), status: 409, message: /is kept \(GA candidate\): unkeep it before pruning/ },
  { name: 'prune: unknown tag', op: () => prunePayload(lstate, lreq({ tag: 'gone' }) as never, NOW), status: 404, message: /unknown release tag gone/ },
];

for (const row of LEVER_REFUSALS) {
  test(`lever refused: ${row.name}`, () => {
    const r = refused(row.op());
    assert.ok(r, 'refused');
    assert.equal(r[0], row.status);
    assert.match(r[1], row.message);
  });
}

test('keep: sets upstream’s keep annotation (value: the reason), audited; GC never selects it; unkeep removes it', () => {
  const st = world([lp('old-rejected', { phase: 'Rejected', createdAt: '2025-01-01T00:00:00Z' }), lp('acc')]);
  const tag = `${LS}-old-rejected`;
  assert.deepEqual(selectGarbage(lconfig, st.payloads(LS), NOW).map((p) => p.tag), [tag], 'garbage before keeping');
  const c = changes(setKeep(st, lreq({ tag, keep: true }) as never, NOW));
  assert.equal(c.payload?.annotations['release.openshift.io/keep'], 'incident 42');
  assert.deepEqual(c.events.map((e) => [e.type, e.actor, e.tag]), [['PayloadKept', 'rel-eng', tag]]);
  apply(st, c);
  assert.ok(isKept(st.payload(LS, tag)!));
  assert.deepEqual(selectGarbage(lconfig, st.payloads(LS), NOW), [], 'a kept payload is never garbage');
  const u = changes(setKeep(st, lreq({ tag, keep: false, reason: 'done' }) as never, NOW));
  assert.equal(u.payload?.annotations['release.openshift.io/keep'], undefined);
  assert.equal(u.events[0].type, 'PayloadUnkept');
});

test('lock: a locked stream creates nothing (creationBlockedBy "locked: <reason>"); verification of a Ready payload continues; unlock creates again', () => {
  const ready = lp('r', { phase: 'Ready', createdAt: '2025-12-31T00:00:00Z' });
  const st = world([ready], { input: [itag('cli', 9), itag('installer', 9)] });
  const c = changes(setLock(st, lreq({ locked: true }) as never, NOW));
  assert.equal(c.stream?.locked, true);
  assert.deepEqual(c.stream?.lock, { reason: 'incident 42', user: 'rel-eng', at: '2026-01-01T12:00:00Z' });
  assert.deepEqual(c.events.map((e) => [e.type, e.stream, e.tag, e.actor]), [['StreamLocked', LS, '', 'rel-eng']]);
  apply(st, c);
  const plan = planStream(st, LS, NOW);
  assert.equal(plan.creationBlockedBy, 'locked: incident 42');
  assert.equal(plan.payloads.filter((p) => p.phase === 'Pending').length, 0, 'no payload created');
  assert.ok(plan.launches.some((l) => l.tag === ready.tag && l.verifyName === 'e2e'), 'the Ready payload’s jobs still launch');
  assert.equal(creationBlockedBy(st, st.stream(LS)!, NOW), 'locked: incident 42');
  // relock with a new reason: recorded; same reason: refused
  assert.match(refused(setLock(st, lreq({ locked: true }) as never, NOW))![1], /already locked by rel-eng: incident 42/);
  apply(st, changes(setLock(st, lreq({ locked: false, reason: 'over' }) as never, NOW)));
  assert.equal(st.stream(LS)!.lock, undefined);
  const after = planStream(st, LS, NOW);
  assert.equal(after.payloads.filter((p) => p.phase === 'Pending').length, 1, 'unlocked: the new input makes a payload');
});

test('pin: a pinned component survives input updates (recorded, not used); fromTag takes its pull spec and labels; unpin follows the input again', () => {
  const made = lp('made', { createdAt: '2025-12-31T00:00:00Z', inputHash: inputHash(INPUT1), components: { cli: { pullSpec: spec('cli', 1), labels: { 'io.openshift.build.commit.id': 'c1' } }, installer: { pullSpec: spec('installer', 1) } } });
  const st = world([made]);
  assert.equal(planStream(st, LS, NOW).creationBlockedBy, 'no new images');
  const pin = changes(pinComponent(st, { input: LINPUT, component: 'cli', fromTag: made.tag, reason: 'cli 2 breaks installs', user: 'rel-eng' }, NOW));
  assert.deepEqual(pin.pins?.pins.map((p) => [p.component, p.pullSpec, p.fromTag, p.labels]), [['cli', spec('cli', 1), made.tag, { 'io.openshift.build.commit.id': 'c1' }]]);
  assert.deepEqual(pin.events.map((e) => [e.type, e.stream, e.actor]), [['ComponentPinned', LS, 'rel-eng']]);
  apply(st, pin);
  // cli moves on in the input: recorded, but the payload input is unchanged → nothing is created
  const upd = changes(updateInputTags(st, { input: LINPUT, tags: { cli: spec('cli', 2) }, user: 'ci' }, NOW));
  apply(st, upd);
  assert.equal(st.inputTags(LINPUT).find((t) => t.component === 'cli')?.pullSpec, spec('cli', 2), 'the update is recorded');
  let plan = planStream(st, LS, NOW);
  assert.equal(plan.creationBlockedBy, 'no new images', 'the pinned component’s update creates no payload');
  // another component changes: the new payload has the new installer and the pinned cli
  apply(st, changes(updateInputTags(st, { input: LINPUT, tags: { installer: spec('installer', 2) }, user: 'ci' }, NOW)));
  plan = planStream(st, LS, NOW);
  const created = plan.payloads.find((p) => p.phase === 'Pending')!;
  assert.equal(created.components.cli.pullSpec, spec('cli', 1), 'pinned pull spec used');
  assert.equal(created.components.installer.pullSpec, spec('installer', 2));
  assert.equal(refused(pinComponent(st, { input: LINPUT, component: 'cli', pullSpec: spec('cli', 1), reason: 'again', user: 'u' }, NOW))![0], 409, 'same pin twice');
  // unpinned: payloads follow the input (cli 2) again
  const un = changes(unpinComponent(st, { input: LINPUT, component: 'cli', reason: 'fixed', user: 'rel-eng' }, NOW));
  assert.deepEqual(un.pins?.pins, []);
  assert.equal(un.events[0].type, 'ComponentUnpinned');
  apply(st, un);
  const p2 = planStream(st, LS, NOW).payloads.find((p) => p.phase === 'Pending')!;
  assert.equal(p2.components.cli.pullSpec, spec('cli', 2));
});

test('poke: creates a payload now although the input is unchanged and the interval has not passed; audited with the user', () => {
  const recent = lp('recent', { createdAt: '2026-01-01T11:59:00Z', inputHash: inputHash(INPUT1) });
  const st = world([recent]);
  assert.match(planStream(st, LS, NOW).creationBlockedBy, /no new images/);
  const c = changes(pokeStream(st, lreq({ repository: 'registry.local/release' }) as never, NOW));
  assert.equal(c.payload?.phase, 'Pending');
  assert.equal(c.payload?.tag, `${LS}-2026-01-01-120000`);
  assert.equal(c.payload?.pullSpec, `registry.local/release:${LS}-2026-01-01-120000`);
  assert.equal(c.payload?.inputHash, recent.inputHash);
  assert.deepEqual(c.events.map((e) => [e.type, e.actor, e.data.poke]), [['PayloadCreated', 'rel-eng', true]]);
  apply(st, c);
  // the next pass builds it and creates nothing more
  const plan = planStream(st, LS, NOW);
  assert.deepEqual(plan.builds, [c.payload!.tag]);
  assert.equal(plan.payloads.filter((p) => p.phase === 'Pending' && p.tag !== c.payload!.tag).length, 0);
  assert.match(refused(pokeStream(st, lreq({ repository: 'r' }) as never, NOW))![1], /a payload is pending/);
});

test('prune: deletes the payload with the GC change, cancels its running jobs, audited', () => {
  const c = changes(prunePayload(lstate, lreq({ tag: READY1.tag }) as never, NOW));
  assert.deepEqual(c.deletes, [{ stream: LS, tag: READY1.tag }]);
  assert.deepEqual(c.cancels, [{ runId: `${READY1.tag}-e2e`, reason: 'PayloadDeleted' }]);
  assert.deepEqual(c.events.map((e) => [e.type, e.actor, e.data.pruned]), [['PayloadDeleted', 'rel-eng', true]]);
});

test('why: creationBlockedBy names each gate; notAcceptedBecause lists running, not started, retrying and waiting blocking jobs', () => {
  const rows: [string, State, RegExp | string][] = [
    ['unchanged input', world([lp('a', { inputHash: inputHash(INPUT1) })]), 'no new images'],
    ['pending payload', world([lp('p', { phase: 'Pending' })]), 'a payload is pending'],
    ['too many unready', world([lp('r1', { phase: 'Ready' }), lp('r2', { phase: 'Ready' })]), 'no more than 2 pending'],
    ['interval', world([lp('n', { createdAt: '2026-01-01T11:30:00Z' })]), 'waiting for 1800s'],
    ['creates', world([lp('n', { createdAt: '2025-01-01T00:00:00Z' })]), ''],
  ];
  for (const [name, st, want] of rows) {
    const got = creationBlockedBy(st, st.stream(LS)!, NOW);
    if (typeof want === 'string') assert.equal(got, want, name);
    else assert.match(got, want, name);
  }
  const ready = lp('w', { phase: 'Ready' });
  const r = (v: string, attempt: number, state: JobRun['state'], o: Partial<JobRun> = {}) => ({ ...run(ready.tag, v, attempt, state, o), stream: LS, finishedAt: state === 'Pending' ? null : '2026-01-01T11:59:00Z' });
  // an earlier Accepted payload: the upgrade job's missing source is waited for (not "not run")
  const running = world([ready, lp('earlier', { createdAt: '2025-12-01T00:00:00Z' })], { runs: [r('e2e', 0, 'Pending')] });
  assert.match(notAcceptedBecause(running, lconfig, ready, NOW), /; waiting for an upgrade source for upgrade: /, 'a blocking upgrade job without a source');
  assert.match(notAcceptedBecause(running, lconfig, ready, NOW), /^blocking job running: e2e/);
  const retrying = world([ready], { runs: [r('e2e', 0, 'Failed')] });
  assert.match(notAcceptedBecause(retrying, lconfig, ready, NOW), /failed with retries left: e2e \(attempt 2 of 3 due now\)/);
  const second = world([ready], { runs: [r('e2e', 0, 'Failed'), r('e2e', 1, 'Failed')] });
  assert.match(notAcceptedBecause(second, lconfig, ready, NOW), /e2e \(attempt 3 of 3 in 1m0s\)/, 'backoff of the 2nd retry: 2 min after the failure');
  assert.match(notAcceptedBecause(world([ready]), lconfig, ready, NOW), /blocking job not started yet: e2e/);
  assert.equal(notAcceptedBecause(lstate, lconfig, lp('x'), NOW), '', 'Accepted: nothing to say');
  assert.match(notAcceptedBecause(lstate, lconfig, lp('x', { phase: 'Pending' }), NOW), /being built/);
});
