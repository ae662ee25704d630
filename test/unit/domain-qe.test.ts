// Table tests for QE jobs (DESIGN.md §6): the gate (mode × informing outcome × payload phase),
// the QE verdict, the frozen QE job set, time limit and gate defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QE_GATES, ReleaseConfigSchema, type QEGate, type ReleaseConfig } from '../../src/domain/config/schema.ts';
import { DEFAULT_QE_TIMEOUT_MS, emptyQEStatus, evaluateGate, qeGate, qeJobNames, qeStatuses, qeTimeoutMs, qeVerdict } from '../../src/domain/qe.ts';
import type { JobRun, JobRunState, Payload, Phase, QEState, QEStatus } from '../../src/domain/types.ts';
import { ciStatuses, entryStatus, type EntryStatus } from '../../src/domain/verification.ts';

const STREAM = '4.16.0-0.nightly';
const TAG = `${STREAM}-2024-05-01-120000`;
const HOUR = 3_600_000;

function run(name: string, attempt: number, state: JobRunState, o: Partial<JobRun> = {}): JobRun {
  return {
    id: `${TAG}-${name}${attempt ? `-${attempt}` : ''}`,
    stream: STREAM,
    tag: TAG,
    verifyName: name,
    jobName: `periodic-${name}`,
    kind: 'informing',
    attempt,
    generation: 0,
    state,
    url: `https://prow.example/${name}/${attempt}`,
    upgradeFrom: '',
    upgradeFromPullSpec: '',
    createdAt: '2024-05-01T12:10:00Z',
    startedAt: '2024-05-01T12:10:00Z',
    finishedAt: state === 'Pending' ? null : '2024-05-01T13:00:00Z',
    reason: '',
    logPath: '',
    ...o,
  };
}

function payload(phase: Phase, qe: Partial<QEStatus> = {}): Payload {
  return {
    stream: STREAM,
    tag: TAG,
    phase,
    createdAt: '2024-05-01T12:00:00Z',
    inputHash: 'sha256:x',
    pullSpec: `registry.local/release:${TAG}`,
    digest: '',
    components: {},
    reason: '',
    message: '',
    annotations: {},
    override: null,
    qe: { ...emptyQEStatus(), state: 'QEPending', ...qe },
    phaseChangedAt: '2024-05-01T12:00:00Z',
  };
}

const VERIFY = {
  'aws-ovn': { prowJob: { name: 'periodic-aws-ovn' } },
  'metal-ipi': { optional: true, maxRetries: 1, prowJob: { name: 'periodic-metal-ipi' } },
  'fips-scan': { optional: true, prowJob: { name: 'periodic-fips-scan' } },
  'install-analysis': { optional: true, async: true, prowJob: { name: 'periodic-install-analysis' } },
  'old-informing': { optional: true, disabled: true, prowJob: { name: 'periodic-old' } },
  'qe-e2e': { qe: true, maxRetries: 1, prowJob: { name: 'periodic-qe-e2e' } },
  'qe-serial': { qe: true, prowJob: { name: 'periodic-qe-serial' } },
  'qe-disruption': { qe: true, optional: true, prowJob: { name: 'periodic-qe-disruption' } },
};

const cfg = (gate?: string, verify: Record<string, unknown> = VERIFY, qe: Record<string, unknown> = {}): ReleaseConfig =>
  ReleaseConfigSchema.parse({ name: STREAM, to: 'release', verify, qe: gate ? { gate, ...qe } : Object.keys(qe).length ? qe : undefined });

// ---------------------------------------------------------------- the gate matrix

type InformingOutcome = 'passed' | 'failed after retries' | 'failed with retries left' | 'pending' | 'never ran' | 'async informing failing' | 'disabled informing failing';

/** runs of the CI entries for an informing outcome; the blocking job always passed */
function ciRuns(o: InformingOutcome): JobRun[] {
  const runs = [run('aws-ovn', 0, 'Succeeded', { kind: 'blocking' }), run('fips-scan', 0, 'Succeeded')];
  switch (o) {
    case 'passed':
      runs.push(run('metal-ipi', 0, 'Succeeded'));
      break;
    case 'failed after retries':
      runs.push(run('metal-ipi', 0, 'Failed'), run('metal-ipi', 1, 'Failed'));
      break;
    case 'failed with retries left':
      runs.push(run('metal-ipi', 0, 'Failed'));
      break;
    case 'pending':
      runs.push(run('metal-ipi', 0, 'Pending'));
      break;
    case 'never ran':
      break;
    case 'async informing failing':
      runs.push(run('metal-ipi', 0, 'Succeeded'), run('install-analysis', 0, 'Failed'));
      break;
    case 'disabled informing failing':
      runs.push(run('metal-ipi', 0, 'Succeeded'), run('old-informing', 0, 'Failed'));
      break;
  }
  return runs;
}

type GateExpect = 'open' | 'waiting' | { skipped: string; message: string };

const SKIP_INFORMING: GateExpect = { skipped: 'InformingJobsFailed', message: 'informing jobs failed: metal-ipi' };

/** expected gate for an Accepted payload: outcome → [InformingPassed, InformingCompleted, Accepted] */
const acceptedExpect: Record<InformingOutcome, [GateExpect, GateExpect, GateExpect]> = {
  passed: ['open', 'open', 'open'],
  'failed after retries': [SKIP_INFORMING, 'open', 'open'],
  'failed with retries left': ['waiting', 'waiting', 'open'],
  pending: ['waiting', 'waiting', 'open'],
  'never ran': ['waiting', 'waiting', 'open'],
  'async informing failing': ['open', 'open', 'open'],
  'disabled informing failing': ['open', 'open', 'open'],
};

interface GateRow {
  name: string;
  gate: QEGate;
  outcome: InformingOutcome;
  phase: Phase;
  expected: GateExpect;
}

const gateRows: GateRow[] = [];
for (const [outcome, byGate] of Object.entries(acceptedExpect) as [InformingOutcome, [GateExpect, GateExpect, GateExpect]][]) {
  QE_GATES.forEach((gate, i) => {
    for (const phase of ['Ready', 'Accepted', 'Rejected', 'Failed'] as Phase[]) {
      let expected: GateExpect;
      if (phase === 'Accepted') expected = byGate[i];
      // not decided yet: the gate waits for the CI verdict (even when an informing job already failed)
      else if (phase === 'Ready') expected = 'waiting';
      else expected = { skipped: `Payload${phase}`, message: `payload is ${phase}; QE jobs do not run` };
      gateRows.push({ name: `gate ${gate}, informing ${outcome}, payload ${phase}`, gate, outcome, phase, expected });
    }
  });
}

for (const row of gateRows) {
  test(`evaluateGate: ${row.name} → ${typeof row.expected === 'string' ? row.expected : `QESkipped (${row.expected.skipped})`}`, () => {
    const config = cfg(row.gate);
    const g = evaluateGate(config, payload(row.phase), ciStatuses(config, ciRuns(row.outcome)));
    if (row.expected === 'open') {
      assert.deepEqual([g.open, g.skipped], [true, null]);
      assert.match(g.description, /^open/);
    } else if (row.expected === 'waiting') {
      assert.deepEqual([g.open, g.skipped], [false, null]);
      assert.match(g.description, /^waiting/);
    } else {
      assert.equal(g.open, false);
      assert.deepEqual(g.skipped, { reason: row.expected.skipped, message: row.expected.message });
    }
  });
}

test('evaluateGate: the skip reason names every failed informing job, sorted', () => {
  const config = cfg('InformingPassed');
  const runs = [run('aws-ovn', 0, 'Succeeded', { kind: 'blocking' }), run('metal-ipi', 0, 'Failed'), run('metal-ipi', 1, 'Aborted'), run('fips-scan', 0, 'Failed')];
  const g = evaluateGate(config, payload('Accepted'), ciStatuses(config, runs));
  assert.deepEqual(g.skipped, { reason: 'InformingJobsFailed', message: 'informing jobs failed: fips-scan, metal-ipi' });
});

test('evaluateGate: waiting description names the informing jobs still running', () => {
  const config = cfg('InformingCompleted');
  const runs = [run('aws-ovn', 0, 'Succeeded', { kind: 'blocking' }), run('metal-ipi', 0, 'Pending')];
  const g = evaluateGate(config, payload('Accepted'), ciStatuses(config, runs));
  assert.equal(g.description, 'waiting for informing jobs: fips-scan, metal-ipi (gate InformingCompleted)');
});

test('evaluateGate: no informing jobs at all → open once Accepted, for every gate', () => {
  const verify = { 'aws-ovn': VERIFY['aws-ovn'], 'qe-e2e': VERIFY['qe-e2e'] };
  for (const gate of QE_GATES) {
    const config = cfg(gate, verify);
    const g = evaluateGate(config, payload('Accepted'), ciStatuses(config, [run('aws-ovn', 0, 'Succeeded', { kind: 'blocking' })]));
    assert.equal(g.open, true, gate);
  }
});

// ---------------------------------------------------------------- qeGate / qeTimeoutMs defaults

const gateDefaultRows: { name: string; qe: unknown; expected: QEGate }[] = [
  { name: 'no qe block → InformingPassed (the proposal rule)', qe: undefined, expected: 'InformingPassed' },
  { name: 'explicit InformingCompleted', qe: { gate: 'InformingCompleted' }, expected: 'InformingCompleted' },
  { name: 'explicit Accepted', qe: { gate: 'Accepted' }, expected: 'Accepted' },
  { name: 'unknown gate falls back to the default', qe: { gate: 'Whenever' }, expected: 'InformingPassed' },
];
for (const row of gateDefaultRows) {
  test(`qeGate: ${row.name}`, () => {
    assert.equal(qeGate(ReleaseConfigSchema.parse({ name: STREAM, qe: row.qe })), row.expected);
  });
}

const timeoutRows: { name: string; timeout?: string; expected: number }[] = [
  { name: 'default 24h', expected: 24 * HOUR },
  { name: '1h', timeout: '1h', expected: HOUR },
  { name: '12h30m', timeout: '12h30m', expected: 12.5 * HOUR },
  { name: 'invalid → default', timeout: '1d', expected: DEFAULT_QE_TIMEOUT_MS },
  { name: 'zero → default', timeout: '0', expected: DEFAULT_QE_TIMEOUT_MS },
];
for (const row of timeoutRows) {
  test(`qeTimeoutMs: ${row.name}`, () => {
    assert.equal(qeTimeoutMs(ReleaseConfigSchema.parse({ name: STREAM, qe: row.timeout ? { timeout: row.timeout } : undefined })), row.expected);
  });
}

// ---------------------------------------------------------------- qeVerdict

type QEOutcome = 'pass' | 'fail' | 'fail-retries-left' | 'pending' | 'none';
function qeStatus(name: string, o: QEOutcome, maxRetries: number): EntryStatus {
  const runs: Record<QEOutcome, JobRun[]> = {
    pass: [run(name, 0, 'Succeeded', { kind: 'qe' })],
    fail: Array.from({ length: maxRetries + 1 }, (_, i) => run(name, i, 'Failed', { kind: 'qe' })),
    'fail-retries-left': [run(name, 0, 'Failed', { kind: 'qe' })],
    pending: [run(name, 0, 'Pending', { kind: 'qe' })],
    none: [],
  };
  return entryStatus(name, { maxRetries }, runs[o]);
}

interface VerdictRow {
  name: string;
  outcomes: Partial<Record<'qe-e2e' | 'qe-serial' | 'qe-disruption', QEOutcome>>;
  names?: string[];
  verify?: Record<string, unknown>;
  expected: { state: QEState; reason: string; message?: string };
}

const verdictRows: VerdictRow[] = [
  {
    name: 'all required passed → QEAccepted',
    outcomes: { 'qe-e2e': 'pass', 'qe-serial': 'pass', 'qe-disruption': 'pass' },
    expected: { state: 'QEAccepted', reason: 'QEJobsPassed', message: 'QE jobs passed: qe-e2e, qe-serial' },
  },
  {
    name: 'optional QE job failing does not matter',
    outcomes: { 'qe-e2e': 'pass', 'qe-serial': 'pass', 'qe-disruption': 'fail' },
    expected: { state: 'QEAccepted', reason: 'QEJobsPassed' },
  },
  {
    name: 'optional QE job still running does not delay',
    outcomes: { 'qe-e2e': 'pass', 'qe-serial': 'pass', 'qe-disruption': 'pending' },
    expected: { state: 'QEAccepted', reason: 'QEJobsPassed' },
  },
  {
    name: 'required one failed with retries exhausted → QERejected naming it',
    outcomes: { 'qe-e2e': 'fail', 'qe-serial': 'pass', 'qe-disruption': 'pass' },
    expected: { state: 'QERejected', reason: 'QEJobsFailed', message: 'QE jobs failed: qe-e2e' },
  },
  {
    name: 'required one failed without retries, another still running → QERejected at once',
    outcomes: { 'qe-e2e': 'pending', 'qe-serial': 'fail', 'qe-disruption': 'pending' },
    expected: { state: 'QERejected', reason: 'QEJobsFailed', message: 'QE jobs failed: qe-serial' },
  },
  {
    name: 'two required failed → both named, sorted',
    outcomes: { 'qe-serial': 'fail', 'qe-e2e': 'fail' },
    expected: { state: 'QERejected', reason: 'QEJobsFailed', message: 'QE jobs failed: qe-e2e, qe-serial' },
  },
  {
    name: 'required one failed with retries left → QERunning',
    outcomes: { 'qe-e2e': 'fail-retries-left', 'qe-serial': 'pass', 'qe-disruption': 'pass' },
    expected: { state: 'QERunning', reason: '' },
  },
  {
    name: 'required one still running → QERunning',
    outcomes: { 'qe-e2e': 'pass', 'qe-serial': 'pending', 'qe-disruption': 'fail' },
    expected: { state: 'QERunning', reason: '' },
  },
  {
    name: 'required one not launched yet → QERunning',
    outcomes: { 'qe-e2e': 'pass', 'qe-serial': 'none' },
    expected: { state: 'QERunning', reason: '' },
  },
  {
    name: 'only optional QE jobs: decided once they all finished, pass or fail',
    names: ['qe-disruption'],
    outcomes: { 'qe-disruption': 'fail' },
    expected: { state: 'QEAccepted', reason: 'QEJobsPassed', message: 'no required QE jobs' },
  },
  {
    name: 'only optional QE jobs: still running → QERunning',
    names: ['qe-disruption'],
    outcomes: { 'qe-disruption': 'pending' },
    expected: { state: 'QERunning', reason: '' },
  },
  {
    name: 'a name whose verify entry is gone is ignored',
    names: ['qe-e2e', 'qe-serial', 'qe-gone'],
    outcomes: { 'qe-e2e': 'pass', 'qe-serial': 'pass' },
    expected: { state: 'QEAccepted', reason: 'QEJobsPassed' },
  },
];

for (const row of verdictRows) {
  test(`qeVerdict: ${row.name}`, () => {
    const config = cfg(undefined, row.verify ?? VERIFY);
    const statuses = new Map<string, EntryStatus>();
    const names = row.names ?? ['qe-disruption', 'qe-e2e', 'qe-serial'];
    for (const name of names) {
      const v = config.verify?.[name];
      if (!v) continue;
      statuses.set(name, qeStatus(name, row.outcomes[name as keyof VerdictRow['outcomes']] ?? 'none', v.maxRetries ?? 0));
    }
    const v = qeVerdict(config, names, statuses);
    assert.equal(v.state, row.expected.state);
    assert.equal(v.reason, row.expected.reason);
    if (row.expected.message !== undefined) assert.equal(v.message, row.expected.message);
  });
}

// ---------------------------------------------------------------- qeJobNames

interface NamesRow {
  name: string;
  verify: Record<string, unknown>;
  qe: Partial<QEStatus>;
  expected: string[];
}

const namesRows: NamesRow[] = [
  { name: 'before QE starts: the current QE entries, sorted', verify: VERIFY, qe: {}, expected: ['qe-disruption', 'qe-e2e', 'qe-serial'] },
  { name: 'stream without QE jobs → none (qe.state stays "")', verify: { 'aws-ovn': VERIFY['aws-ovn'] }, qe: {}, expected: [] },
  { name: 'disabled QE entries are not QE jobs', verify: { ...VERIFY, 'qe-serial': { ...VERIFY['qe-serial'], disabled: true } }, qe: {}, expected: ['qe-disruption', 'qe-e2e'] },
  {
    name: 'after QE started: a QE job added to the config is not added',
    verify: { ...VERIFY, 'qe-new': { qe: true, prowJob: { name: 'periodic-qe-new' } } },
    qe: { startedAt: '2024-05-01T13:00:00Z', jobs: ['qe-disruption', 'qe-e2e', 'qe-serial'] },
    expected: ['qe-disruption', 'qe-e2e', 'qe-serial'],
  },
  {
    name: 'after QE started: a QE job removed from the config is dropped',
    verify: { 'qe-e2e': VERIFY['qe-e2e'], 'qe-disruption': VERIFY['qe-disruption'] },
    qe: { startedAt: '2024-05-01T13:00:00Z', jobs: ['qe-disruption', 'qe-e2e', 'qe-serial'] },
    expected: ['qe-disruption', 'qe-e2e'],
  },
  {
    name: 'after QE started: a QE job disabled since is dropped',
    verify: { ...VERIFY, 'qe-e2e': { ...VERIFY['qe-e2e'], disabled: true } },
    qe: { startedAt: '2024-05-01T13:00:00Z', jobs: ['qe-disruption', 'qe-e2e', 'qe-serial'] },
    expected: ['qe-disruption', 'qe-serial'],
  },
  {
    name: 'after QE started: an entry that stopped being a QE job is dropped',
    verify: { ...VERIFY, 'qe-serial': { prowJob: { name: 'periodic-qe-serial' } } },
    qe: { startedAt: '2024-05-01T13:00:00Z', jobs: ['qe-disruption', 'qe-e2e', 'qe-serial'] },
    expected: ['qe-disruption', 'qe-e2e'],
  },
];

for (const row of namesRows) {
  test(`qeJobNames: ${row.name}`, () => {
    assert.deepEqual(qeJobNames(cfg(undefined, row.verify), { ...emptyQEStatus(), ...row.qe }), row.expected);
  });
}

// ---------------------------------------------------------------- qeStatuses

test('qeStatuses: only QE runs of the current generation count', () => {
  const config = cfg('InformingPassed');
  const p = payload('Accepted', { state: 'QERunning', startedAt: '2024-05-01T13:00:00Z', generation: 1, jobs: ['qe-disruption', 'qe-e2e', 'qe-serial'] });
  const runs = [
    run('qe-e2e', 0, 'Failed', { kind: 'qe', generation: 0, id: 'g0-e2e' }),
    run('qe-e2e', 0, 'Succeeded', { kind: 'qe', generation: 1, id: 'g1-e2e' }),
    run('qe-serial', 0, 'Failed', { kind: 'qe', generation: 0, id: 'g0-serial' }),
    run('qe-serial', 0, 'Succeeded', { kind: 'blocking', generation: 1, id: 'not-qe' }),
  ];
  const st = qeStatuses(config, p, runs);
  assert.deepEqual([...st.keys()], ['qe-disruption', 'qe-e2e', 'qe-serial']);
  assert.deepEqual([...st.values()].map((s) => s.state), ['Unknown', 'Success', 'Unknown']);
});

test('qeStatuses: stream without QE jobs → empty map', () => {
  const config = cfg(undefined, { 'aws-ovn': VERIFY['aws-ovn'] });
  assert.equal(qeStatuses(config, payload('Accepted', { state: '' }), [run('aws-ovn', 0, 'Succeeded')]).size, 0);
});
