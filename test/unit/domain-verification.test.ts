// Table tests for verification: the state of one verify entry from its runs (upstream §4.10 with
// §4.3 retries and backoff), the aggregate, the CI verdict (§4.11, DESIGN §13 item 9, QE excluded
// per DESIGN §6) and the API / annotation view of one entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReleaseConfigSchema, type ReleaseConfig } from '../../src/domain/config/schema.ts';
import type { JobRun, JobRunState } from '../../src/domain/types.ts';
import {
  aggregateStates,
  ciStatuses,
  ciVerdict,
  entryStatus,
  retryBackoffMs,
  verificationStatus,
  type EntryStatus,
  type JobState,
} from '../../src/domain/verification.ts';

const MIN = 60_000;
const TAG = '4.16.0-0.nightly-2024-05-01-120000';
const T0 = Date.parse('2024-05-01T13:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A run of `name`; `end` minutes after T0 when finished. */
function run(name: string, attempt: number, state: JobRunState, o: Partial<JobRun> & { end?: number } = {}): JobRun {
  const { end, ...rest } = o;
  const finished = state === 'Pending' ? null : iso(T0 + (end ?? attempt * 30) * MIN);
  return {
    id: `${TAG}-${name}${attempt ? `-${attempt}` : ''}`,
    stream: '4.16.0-0.nightly',
    tag: TAG,
    verifyName: name,
    jobName: `periodic-${name}`,
    kind: 'blocking',
    attempt,
    generation: 0,
    state,
    url: `https://prow.example/${name}/${attempt}`,
    upgradeFrom: '',
    upgradeFromPullSpec: '',
    createdAt: iso(T0),
    startedAt: iso(T0),
    finishedAt: finished,
    reason: '',
    logPath: '',
    ...rest,
  };
}

// ---------------------------------------------------------------- retryBackoffMs

const backoffRows: { attempt: number; expectedMin: number }[] = [
  { attempt: 1, expectedMin: 0 },
  { attempt: 2, expectedMin: 2 },
  { attempt: 3, expectedMin: 4 },
  { attempt: 4, expectedMin: 8 },
  { attempt: 5, expectedMin: 15 },
  { attempt: 6, expectedMin: 15 },
  { attempt: 20, expectedMin: 15 },
];

for (const row of backoffRows) {
  test(`retryBackoffMs: attempt ${row.attempt} waits ${row.expectedMin} min (upstream §4.3, DESIGN §13 item 10)`, () => {
    assert.equal(retryBackoffMs(row.attempt), row.expectedMin * MIN);
  });
}

// ---------------------------------------------------------------- entryStatus

interface EntryRow {
  name: string;
  maxRetries?: number;
  runs: JobRun[];
  expected: { state: JobState; nextAttempt: number | null; notBefore: number };
}

const entryRows: EntryRow[] = [
  { name: 'no runs → Unknown, launch attempt 0', runs: [], expected: { state: 'Unknown', nextAttempt: 0, notBefore: 0 } },
  { name: 'no runs with retries → still attempt 0', maxRetries: 3, runs: [], expected: { state: 'Unknown', nextAttempt: 0, notBefore: 0 } },
  { name: 'first attempt running → Pending, nothing to launch', runs: [run('e2e', 0, 'Pending')], expected: { state: 'Pending', nextAttempt: null, notBefore: 0 } },
  { name: 'succeeded', runs: [run('e2e', 0, 'Succeeded')], expected: { state: 'Success', nextAttempt: null, notBefore: 0 } },
  { name: 'failed without retries → Failure', runs: [run('e2e', 0, 'Failed')], expected: { state: 'Failure', nextAttempt: null, notBefore: 0 } },
  { name: 'aborted counts as failed', runs: [run('e2e', 0, 'Aborted')], expected: { state: 'Failure', nextAttempt: null, notBefore: 0 } },
  {
    name: 'success after a failure → Success',
    maxRetries: 2,
    runs: [run('e2e', 0, 'Failed'), run('e2e', 1, 'Succeeded')],
    expected: { state: 'Success', nextAttempt: null, notBefore: 0 },
  },
  {
    name: 'success in any attempt wins, even before a later failure',
    maxRetries: 2,
    runs: [run('e2e', 1, 'Failed'), run('e2e', 0, 'Succeeded')],
    expected: { state: 'Success', nextAttempt: null, notBefore: 0 },
  },
  {
    name: 'retry running after a failure → Pending, nothing to launch',
    maxRetries: 2,
    runs: [run('e2e', 0, 'Failed'), run('e2e', 1, 'Pending')],
    expected: { state: 'Pending', nextAttempt: null, notBefore: 0 },
  },
  {
    name: 'aborted with a retry left → Pending, retry 1',
    maxRetries: 1,
    runs: [run('e2e', 0, 'Aborted', { end: 10 })],
    expected: { state: 'Pending', nextAttempt: 1, notBefore: T0 + 10 * MIN },
  },
  {
    name: 'retries exhausted → Failure',
    maxRetries: 2,
    runs: [run('e2e', 0, 'Failed'), run('e2e', 1, 'Failed'), run('e2e', 2, 'Failed')],
    expected: { state: 'Failure', nextAttempt: null, notBefore: 0 },
  },
  {
    name: 'last attempt aborted with retries exhausted → Failure',
    maxRetries: 1,
    runs: [run('e2e', 0, 'Failed'), run('e2e', 1, 'Aborted')],
    expected: { state: 'Failure', nextAttempt: null, notBefore: 0 },
  },
  {
    name: 'failed run without finishedAt → no wait',
    maxRetries: 3,
    runs: [run('e2e', 0, 'Failed'), run('e2e', 1, 'Failed', { finishedAt: null })],
    expected: { state: 'Pending', nextAttempt: 2, notBefore: 0 },
  },
  {
    name: 'runs given out of order are sorted by attempt',
    maxRetries: 3,
    runs: [run('e2e', 1, 'Failed', { end: 40 }), run('e2e', 0, 'Failed', { end: 20 })],
    expected: { state: 'Pending', nextAttempt: 2, notBefore: T0 + 40 * MIN + 2 * MIN },
  },
];

// failed with retries left: next attempt k waits 0, 2, 4, 8, 15, 15 minutes after the failed one ended
const waits = [0, 2, 4, 8, 15, 15];
for (let k = 1; k <= 6; k++) {
  const runs = Array.from({ length: k }, (_, i) => run('e2e', i, 'Failed', { end: 60 * (i + 1) }));
  entryRows.push({
    name: `failed with retries left: attempt ${k} not before finishedAt + ${waits[k - 1]} min`,
    maxRetries: 6,
    runs,
    expected: { state: 'Pending', nextAttempt: k, notBefore: T0 + 60 * k * MIN + waits[k - 1] * MIN },
  });
}

for (const row of entryRows) {
  test(`entryStatus: ${row.name}`, () => {
    const st = entryStatus('e2e', { maxRetries: row.maxRetries }, row.runs);
    assert.equal(st.name, 'e2e');
    assert.deepEqual({ state: st.state, nextAttempt: st.nextAttempt, notBefore: st.notBefore }, row.expected);
    assert.deepEqual(st.runs.map((r) => r.attempt), [...row.runs].map((r) => r.attempt).sort((a, b) => a - b));
  });
}

// ---------------------------------------------------------------- aggregateStates

const aggRows: { name: string; states: JobState[]; expected: JobState }[] = [
  { name: 'empty → Unknown', states: [], expected: 'Unknown' },
  { name: 'all success', states: ['Success', 'Success'], expected: 'Success' },
  { name: 'pending beats everything', states: ['Failure', 'Unknown', 'Pending', 'Success'], expected: 'Pending' },
  { name: 'unknown beats failure', states: ['Failure', 'Unknown', 'Success'], expected: 'Unknown' },
  { name: 'failure beats success', states: ['Success', 'Failure'], expected: 'Failure' },
  { name: 'single failure', states: ['Failure'], expected: 'Failure' },
];

for (const row of aggRows) {
  test(`aggregateStates: ${row.name}`, () => {
    assert.equal(aggregateStates(row.states), row.expected);
  });
}

// ---------------------------------------------------------------- ciVerdict

const baseVerify = {
  'aws-ovn': { prowJob: { name: 'periodic-aws-ovn' } },
  'aws-ovn-serial': { prowJob: { name: 'periodic-aws-ovn-serial' }, maxRetries: 1 },
  'metal-ipi': { optional: true, prowJob: { name: 'periodic-metal-ipi' } },
  'fips-scan': { optional: true, prowJob: { name: 'periodic-fips-scan' } },
  'install-analysis': { optional: true, async: true, prowJob: { name: 'periodic-install-analysis' } },
  'old-blocking': { disabled: true, prowJob: { name: 'periodic-old' } },
  'qe-e2e': { qe: true, prowJob: { name: 'periodic-qe-e2e' } },
  'qe-serial': { qe: true, prowJob: { name: 'periodic-qe-serial' } },
};

const cfg = (verify: Record<string, unknown>): ReleaseConfig => ReleaseConfigSchema.parse({ name: '4.16.0-0.nightly', to: 'release', verify });

type Outcome = 'pass' | 'fail' | 'pending' | 'none' | 'retrying';
function runsFor(name: string, o: Outcome, kind: JobRun['kind'] = 'blocking'): JobRun[] {
  switch (o) {
    case 'pass':
      return [run(name, 0, 'Succeeded', { kind })];
    case 'fail':
      return [run(name, 0, 'Failed', { kind })];
    case 'pending':
      return [run(name, 0, 'Pending', { kind })];
    case 'retrying':
      return [run(name, 0, 'Failed', { kind })]; // with maxRetries ≥ 1 this is Pending
    case 'none':
      return [];
  }
}

interface VerdictRow {
  name: string;
  verify?: Record<string, unknown>;
  outcomes: Record<string, Outcome>;
  expected: { verdict: 'Accepted' | 'Rejected' | null; message?: string | RegExp };
}

const verdictRows: VerdictRow[] = [
  {
    name: 'all blocking passed → Accepted',
    outcomes: { 'aws-ovn': 'pass', 'aws-ovn-serial': 'pass', 'metal-ipi': 'pending', 'fips-scan': 'none' },
    expected: { verdict: 'Accepted', message: '' },
  },
  {
    name: 'one blocking failed, others done → Rejected naming the failed job',
    outcomes: { 'aws-ovn': 'fail', 'aws-ovn-serial': 'pass' },
    expected: { verdict: 'Rejected', message: 'release verification failed: aws-ovn' },
  },
  {
    name: 'two blocking failed → Rejected naming both, sorted',
    outcomes: { 'aws-ovn': 'fail', 'aws-ovn-serial': 'fail' },
    verify: { ...baseVerify, 'aws-ovn-serial': { prowJob: { name: 'x' } } },
    expected: { verdict: 'Rejected', message: 'release verification failed: aws-ovn, aws-ovn-serial' },
  },
  {
    name: 'blocking failed while another still pending → no verdict',
    outcomes: { 'aws-ovn': 'fail', 'aws-ovn-serial': 'pending' },
    expected: { verdict: null },
  },
  {
    name: 'blocking failed while another never ran → no verdict',
    outcomes: { 'aws-ovn': 'fail', 'aws-ovn-serial': 'none' },
    expected: { verdict: null },
  },
  {
    name: 'blocking failed with a retry left counts as pending → no verdict',
    outcomes: { 'aws-ovn': 'pass', 'aws-ovn-serial': 'retrying' },
    expected: { verdict: null },
  },
  {
    name: 'informing failures never matter when blocking jobs exist',
    outcomes: { 'aws-ovn': 'pass', 'aws-ovn-serial': 'pass', 'metal-ipi': 'fail', 'fips-scan': 'fail' },
    expected: { verdict: 'Accepted' },
  },
  {
    name: 'informing pending never delays when blocking jobs exist',
    outcomes: { 'aws-ovn': 'pass', 'aws-ovn-serial': 'pass', 'metal-ipi': 'pending', 'fips-scan': 'pending' },
    expected: { verdict: 'Accepted' },
  },
  {
    name: 'no blocking jobs: informing still running → no verdict (DESIGN §13 item 9)',
    verify: { 'metal-ipi': baseVerify['metal-ipi'], 'fips-scan': baseVerify['fips-scan'], 'install-analysis': baseVerify['install-analysis'] },
    outcomes: { 'metal-ipi': 'pass', 'fips-scan': 'pending' },
    expected: { verdict: null },
  },
  {
    name: 'no blocking jobs: informing never ran → no verdict',
    verify: { 'metal-ipi': baseVerify['metal-ipi'], 'fips-scan': baseVerify['fips-scan'] },
    outcomes: { 'metal-ipi': 'pass', 'fips-scan': 'none' },
    expected: { verdict: null },
  },
  {
    name: 'no blocking jobs: Accepted once every non-async informing finished, async ignored (DESIGN §13 item 9)',
    verify: { 'metal-ipi': baseVerify['metal-ipi'], 'fips-scan': baseVerify['fips-scan'], 'install-analysis': baseVerify['install-analysis'] },
    outcomes: { 'metal-ipi': 'pass', 'fips-scan': 'fail', 'install-analysis': 'none' },
    expected: { verdict: 'Accepted' },
  },
  {
    name: 'no blocking jobs: async still pending does not hold the verdict',
    verify: { 'metal-ipi': baseVerify['metal-ipi'], 'install-analysis': baseVerify['install-analysis'] },
    outcomes: { 'metal-ipi': 'fail', 'install-analysis': 'pending' },
    expected: { verdict: 'Accepted' },
  },
  {
    name: 'no blocking jobs: only a disabled blocking one → decided by informing',
    verify: { 'old-blocking': baseVerify['old-blocking'], 'metal-ipi': baseVerify['metal-ipi'] },
    outcomes: { 'old-blocking': 'none', 'metal-ipi': 'pass' },
    expected: { verdict: 'Accepted' },
  },
  {
    name: 'no verify entries at all → Accepted',
    verify: {},
    outcomes: {},
    expected: { verdict: 'Accepted' },
  },
  {
    name: 'disabled entries ignored: a disabled blocking entry with a failed run does not reject',
    outcomes: { 'aws-ovn': 'pass', 'aws-ovn-serial': 'pass', 'old-blocking': 'fail' },
    expected: { verdict: 'Accepted' },
  },
  {
    name: 'disabled entries ignored: a disabled blocking entry that never ran does not hold',
    outcomes: { 'aws-ovn': 'pass', 'aws-ovn-serial': 'pass', 'old-blocking': 'none' },
    expected: { verdict: 'Accepted' },
  },
  {
    name: 'QE entries ignored: failing QE jobs, payload still Accepted',
    outcomes: { 'aws-ovn': 'pass', 'aws-ovn-serial': 'pass', 'qe-e2e': 'fail', 'qe-serial': 'fail' },
    expected: { verdict: 'Accepted' },
  },
  {
    name: 'QE entries ignored: pending QE jobs do not delay the verdict',
    outcomes: { 'aws-ovn': 'pass', 'aws-ovn-serial': 'fail', 'qe-e2e': 'pending' },
    verify: { ...baseVerify, 'aws-ovn-serial': { prowJob: { name: 'x' } } },
    expected: { verdict: 'Rejected', message: 'release verification failed: aws-ovn-serial' },
  },
  {
    name: 'QE-only stream without blocking or informing → Accepted (QE never delays)',
    verify: { 'qe-e2e': baseVerify['qe-e2e'] },
    outcomes: { 'qe-e2e': 'pending' },
    expected: { verdict: 'Accepted' },
  },
  {
    name: 'blocking upgrade entry decides like any blocking entry',
    verify: { ...baseVerify, 'aws-upgrade': { upgrade: true, prowJob: { name: 'periodic-upgrade' } } },
    outcomes: { 'aws-ovn': 'pass', 'aws-ovn-serial': 'pass', 'aws-upgrade': 'fail' },
    expected: { verdict: 'Rejected', message: 'release verification failed: aws-upgrade' },
  },
];

for (const row of verdictRows) {
  test(`ciVerdict: ${row.name}`, () => {
    const config = cfg(row.verify ?? baseVerify);
    const runs: JobRun[] = [];
    for (const [name, o] of Object.entries(row.outcomes)) {
      const v = config.verify?.[name];
      runs.push(...runsFor(name, o, v?.qe ? 'qe' : v?.optional ? 'informing' : 'blocking'));
    }
    // both through ciStatuses (QE runs are not even looked at) and with QE statuses injected by hand
    const statuses = ciStatuses(config, runs);
    for (const name of statuses.keys()) assert.ok(!config.verify?.[name]?.qe);
    const withQE = new Map<string, EntryStatus>(statuses);
    for (const [name, o] of Object.entries(row.outcomes)) {
      if (config.verify?.[name]?.qe) withQE.set(name, entryStatus(name, {}, runsFor(name, o, 'qe')));
    }
    for (const m of [statuses, withQE]) {
      const v = ciVerdict(config, m);
      assert.equal(v.verdict, row.expected.verdict);
      if (row.expected.verdict === 'Accepted') assert.equal(v.reason, 'ReleasePayloadAccepted');
      if (row.expected.verdict === 'Rejected') assert.equal(v.reason, 'VerificationFailed');
      if (typeof row.expected.message === 'string') assert.equal(v.message, row.expected.message);
    }
  });
}

test('ciStatuses: QE, disabled and periodic/analysis runs stay out of CI statuses', () => {
  const config = cfg(baseVerify);
  const runs = [
    run('aws-ovn', 0, 'Failed', { kind: 'periodic', id: 'p1' }),
    run('aws-ovn', 0, 'Failed', { kind: 'analysis', id: 'a1' }),
    run('aws-ovn', 0, 'Succeeded'),
    run('qe-e2e', 0, 'Failed', { kind: 'qe' }),
  ];
  const st = ciStatuses(config, runs);
  assert.deepEqual([...st.keys()].sort(), ['aws-ovn', 'aws-ovn-serial', 'fips-scan', 'install-analysis', 'metal-ipi']);
  assert.equal(st.get('aws-ovn')?.state, 'Success');
  assert.deepEqual(st.get('aws-ovn')?.runs.map((r) => r.kind), ['blocking']);
});

// ---------------------------------------------------------------- verificationStatus

interface VSRow {
  name: string;
  maxRetries: number;
  runs: JobRun[];
  expected: ReturnType<typeof verificationStatus>;
}

const vsRows: VSRow[] = [
  { name: 'no runs → Pending with no URL', maxRetries: 0, runs: [], expected: { state: 'Pending', url: '' } },
  { name: 'running → Pending, no transition time', maxRetries: 0, runs: [run('e2e', 0, 'Pending')], expected: { state: 'Pending', url: 'https://prow.example/e2e/0' } },
  {
    name: 'succeeded first time',
    maxRetries: 0,
    runs: [run('e2e', 0, 'Succeeded', { end: 45 })],
    expected: { state: 'Succeeded', url: 'https://prow.example/e2e/0', transitionTime: '2024-05-01T13:45:00Z' },
  },
  {
    name: 'failure then success: URL of the success, previous attempt URLs, retries 1',
    maxRetries: 2,
    runs: [run('e2e', 0, 'Failed', { end: 30 }), run('e2e', 1, 'Succeeded', { end: 90 })],
    expected: {
      state: 'Succeeded',
      url: 'https://prow.example/e2e/1',
      retries: 1,
      previousAttemptURLs: ['https://prow.example/e2e/0'],
      transitionTime: '2024-05-01T14:30:00Z',
    },
  },
  {
    name: 'retries exhausted: URL of the newest, retries = maxRetries',
    maxRetries: 2,
    runs: [run('e2e', 0, 'Failed', { end: 30 }), run('e2e', 1, 'Failed', { end: 60 }), run('e2e', 2, 'Failed', { end: 90 })],
    expected: {
      state: 'Failed',
      url: 'https://prow.example/e2e/2',
      retries: 2,
      previousAttemptURLs: ['https://prow.example/e2e/0', 'https://prow.example/e2e/1'],
      transitionTime: '2024-05-01T14:30:00Z',
    },
  },
  {
    name: 'retries capped at maxRetries (manual retries beyond the budget)',
    maxRetries: 1,
    runs: [run('e2e', 0, 'Failed'), run('e2e', 1, 'Failed'), run('e2e', 2, 'Failed'), run('e2e', 3, 'Succeeded', { end: 200 })],
    expected: {
      state: 'Succeeded',
      url: 'https://prow.example/e2e/3',
      retries: 1,
      previousAttemptURLs: ['https://prow.example/e2e/0', 'https://prow.example/e2e/1', 'https://prow.example/e2e/2'],
      transitionTime: '2024-05-01T16:20:00Z',
    },
  },
  {
    name: 'retry running: Pending, newest URL, no transition time yet',
    maxRetries: 1,
    runs: [run('e2e', 0, 'Failed', { end: 30 }), run('e2e', 1, 'Pending', { url: '' })],
    expected: { state: 'Pending', url: '', retries: 1, previousAttemptURLs: ['https://prow.example/e2e/0'] },
  },
  {
    name: 'synthetic run without URL: no previousAttemptURLs entry for it',
    maxRetries: 1,
    runs: [run('e2e', 0, 'Failed', { url: '', end: 10 }), run('e2e', 1, 'Succeeded', { end: 20 })],
    expected: { state: 'Succeeded', url: 'https://prow.example/e2e/1', retries: 1, transitionTime: '2024-05-01T13:20:00Z' },
  },
  {
    name: 'sub-second finishedAt is cut to seconds',
    maxRetries: 0,
    runs: [run('e2e', 0, 'Failed', { finishedAt: '2024-05-01T13:10:11.123Z' })],
    expected: { state: 'Failed', url: 'https://prow.example/e2e/0', transitionTime: '2024-05-01T13:10:11Z' },
  },
];

for (const row of vsRows) {
  test(`verificationStatus: ${row.name}`, () => {
    const st = entryStatus('e2e', { maxRetries: row.maxRetries }, row.runs);
    assert.deepEqual(verificationStatus(st, row.maxRetries), row.expected);
  });
}

// ---------------------------------------------------------------- interrupted runs (DESIGN §14)

const ir = (attempt: number, end: number, k: number) => run('e2e', attempt, 'Interrupted', { end, id: `${TAG}-e2e-i${k}`, reason: 'Shutdown' });

const INTERRUPTED_ROWS: { name: string; maxRetries: number; runs: JobRun[]; state: JobState; nextAttempt: number | null; interruptions: number; notBefore: number; counted: number }[] = [
  { name: 'first attempt interrupted: relaunched at once as attempt 0', maxRetries: 0, runs: [ir(0, 5, 0)], state: 'Pending', nextAttempt: 0, interruptions: 1, notBefore: 0, counted: 0 },
  { name: 'interrupted then running: Pending, nothing to launch', maxRetries: 0, runs: [ir(0, 5, 0), run('e2e', 0, 'Pending', { id: 'x-i1' })], state: 'Pending', nextAttempt: null, interruptions: 0, notBefore: 0, counted: 1 },
  { name: 'interrupted then passed: Success (no retry used)', maxRetries: 0, runs: [ir(0, 5, 0), run('e2e', 0, 'Succeeded', { id: 'x-i1', end: 9 })], state: 'Success', nextAttempt: null, interruptions: 0, notBefore: 0, counted: 1 },
  { name: 'interrupted then failed, no retries: Failure after exactly one real attempt', maxRetries: 0, runs: [ir(0, 5, 0), run('e2e', 0, 'Failed', { id: 'x-i1', end: 9 })], state: 'Failure', nextAttempt: null, interruptions: 0, notBefore: 0, counted: 1 },
  { name: 'failed, retry interrupted: the retry is relaunched, still attempt 1', maxRetries: 1, runs: [run('e2e', 0, 'Failed', { end: 3 }), ir(1, 6, 0)], state: 'Pending', nextAttempt: 1, interruptions: 1, notBefore: 0, counted: 1 },
  { name: 'three interruptions: relaunch waits with the backoff after the last one', maxRetries: 0, runs: [ir(0, 1, 0), ir(0, 2, 1), ir(0, 4, 2)], state: 'Pending', nextAttempt: 0, interruptions: 3, notBefore: T0 + 4 * MIN + 2 * MIN, counted: 0 },
];

for (const row of INTERRUPTED_ROWS) {
  test(`entryStatus with interruptions: ${row.name}`, () => {
    const st = entryStatus('e2e', { maxRetries: row.maxRetries }, row.runs);
    assert.equal(st.state, row.state);
    assert.equal(st.nextAttempt, row.nextAttempt);
    assert.equal(st.interruptions, row.interruptions);
    assert.equal(st.notBefore, row.notBefore);
    assert.equal(st.runs.length, row.counted, 'interrupted runs are not attempts');
  });
}
