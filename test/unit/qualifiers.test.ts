// Table tests for release qualifiers (issue 16 item 7): the qualifiers file, merging per-job
// overrides, the summary (states, badges, failure labels, approvals) and a payload's job list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReleaseConfigSchema, type ReleaseQualifier } from '../../src/domain/config/schema.ts';
import { validateConfig } from '../../src/domain/config/validate.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import {
  analysisState,
  mergeQualifier,
  parseQualifiersFile,
  payloadApprovalState,
  payloadQualifierJobs,
  payloadQualifiers,
  qualifiersSummary,
  type QualifierJob,
  type ReleaseQualifiers,
} from '../../src/domain/qualifiers.ts';
import type { JobRun, JobRunState, Payload } from '../../src/domain/types.ts';
import type { JobState } from '../../src/domain/verification.ts';

const STREAM = '4.16.0-0.nightly';
const TAG = `${STREAM}-2024-05-01-120000`;

// ---------------------------------------------------------------- the file

const FILE = `qualifiers:
  fips:
    enabled: true
    badgeName: FIPS
    summary: FIPS compliant
    payloadBadgeStatus: OnSuccess
    failureLabels: [fips-failed]
    notifications:
      jira:
        project: OCPBUGS
        escalations:
          - name: first
            failures: 2
  trt:
    enabled: true
    approval: true
    badgeName: TRT
`;

test('parse: a full file', () => {
  const q = parseQualifiersFile(FILE, 'q.yaml');
  assert.deepEqual(Object.keys(q), ['fips', 'trt']);
  assert.equal(q.fips.badgeName, 'FIPS');
  assert.deepEqual(q.fips.failureLabels, ['fips-failed']);
  assert.equal(q.fips.notifications?.jira?.escalations?.[0]?.failures, 2);
  assert.equal(q.trt.approval, true);
});

const PARSE_CASES: { name: string; text: string; want: Record<string, unknown> | string }[] = [
  { name: 'empty file', text: '', want: {} },
  { name: 'no qualifiers key value', text: 'qualifiers:\n', want: {} },
  { name: 'empty mapping', text: 'qualifiers: {}\n', want: {} },
  { name: 'unknown top-level field', text: 'qualifier: {}\n', want: 'q.yaml: (root): unknown field qualifier' },
  { name: 'unknown qualifier field', text: 'qualifiers:\n  fips:\n    badge: x\n', want: 'q.yaml: qualifiers.fips: unknown field badge' },
  { name: 'unknown jira field', text: 'qualifiers:\n  fips:\n    notifications:\n      jira:\n        projekt: X\n', want: 'q.yaml: qualifiers.fips.notifications.jira: unknown field projekt' },
  { name: 'unknown escalation field', text: 'qualifiers:\n  fips:\n    notifications:\n      jira:\n        escalations: [{name: a, when: b}]\n', want: 'q.yaml: qualifiers.fips.notifications.jira.escalations.0: unknown field when' },
  { name: 'enabled not a boolean', text: 'qualifiers:\n  fips:\n    enabled: "yes"\n', want: 'q.yaml: qualifiers.fips.enabled: must be true or false' },
  { name: 'bad badge status', text: 'qualifiers:\n  fips:\n    payloadBadgeStatus: Always\n', want: 'q.yaml: qualifiers.fips.payloadBadgeStatus: must be one of Yes, No, OnSuccess, OnFailure (got "Always")' },
  { name: 'failureLabels not a list', text: 'qualifiers:\n  fips:\n    failureLabels: x\n', want: 'q.yaml: qualifiers.fips.failureLabels: must be a list of strings' },
  { name: 'qualifier not a mapping', text: 'qualifiers:\n  fips: 3\n', want: 'q.yaml: qualifiers.fips: must be a mapping' },
  { name: 'bad YAML', text: 'qualifiers: [\n', want: 'q.yaml: (root): invalid YAML' },
];

for (const c of PARSE_CASES) {
  test(`parse: ${c.name}`, () => {
    if (typeof c.want === 'string') assert.throws(() => parseQualifiersFile(c.text, 'q.yaml'), (e: Error) => e.message.startsWith(c.want as string));
    else assert.deepEqual(parseQualifiersFile(c.text, 'q.yaml'), c.want);
  });
}

test('parse: an id named __proto__ pollutes nothing', () => {
  const q = parseQualifiersFile('qualifiers:\n  __proto__:\n    enabled: true\n', 'q.yaml');
  assert.equal(Object.getPrototypeOf(q), Object.prototype);
  assert.equal((q as Record<string, unknown>).enabled, undefined);
  assert.equal(({} as Record<string, unknown>).enabled, undefined);
});

// ---------------------------------------------------------------- merging

const MERGE_CASES: { name: string; base: ReleaseQualifier; over: ReleaseQualifier; want: ReleaseQualifier }[] = [
  { name: 'empty override keeps the base', base: { enabled: true, badgeName: 'F', failureLabels: ['a'] }, over: {}, want: { enabled: true, badgeName: 'F', failureLabels: ['a'] } },
  { name: 'non-empty strings win', base: { badgeName: 'F', summary: 's', description: 'd', payloadBadgeStatus: 'Yes' }, over: { badgeName: 'G', summary: '', payloadBadgeStatus: 'No' }, want: { badgeName: 'G', summary: 's', description: 'd', payloadBadgeStatus: 'No' } },
  { name: 'enabled false wins over true', base: { enabled: true }, over: { enabled: false }, want: { enabled: false } },
  { name: 'enabled null does not override', base: { enabled: true }, over: { enabled: null }, want: { enabled: true } },
  { name: 'failureLabels present win, even empty', base: { failureLabels: ['a'] }, over: { failureLabels: [] }, want: { failureLabels: [] } },
  { name: 'failureLabels null keeps the base', base: { failureLabels: ['a'] }, over: { failureLabels: null }, want: { failureLabels: ['a'] } },
  {
    name: 'jira merges fields and escalations by name',
    base: { notifications: { jira: { project: 'P', component: 'C', escalations: [{ name: 'b', failures: 1 }, { name: 'a', failures: 1 }] } } },
    over: { notifications: { jira: { component: 'D', escalations: [{ name: 'b', failures: 5 }, { name: 'c' }] } } },
    want: { notifications: { jira: { project: 'P', component: 'D', escalations: [{ name: 'a', failures: 1 }, { name: 'b', failures: 5 }, { name: 'c' }] } } },
  },
];

for (const c of MERGE_CASES) test(`merge: ${c.name}`, () => assert.deepEqual(mergeQualifier(c.base, c.over), c.want));

// ---------------------------------------------------------------- the summary

const GLOBAL: ReleaseQualifiers = {
  fips: { enabled: true, badgeName: 'FIPS', payloadBadgeStatus: 'OnSuccess', failureLabels: ['fips-failed', 'shared'] },
  rt: { enabled: true, badgeName: 'RT', payloadBadgeStatus: 'OnFailure', failureLabels: ['shared', 'rt-failed'] },
  off: { enabled: false, badgeName: 'OFF', payloadBadgeStatus: 'Yes' },
  always: { enabled: true, payloadBadgeStatus: 'Yes' },
  trt: { enabled: true, approval: true, badgeName: 'TRT', payloadBadgeStatus: 'OnSuccess' },
  arch: { enabled: true, approval: true, failureLabels: ['arch-rejected'] },
};

const job = (name: string, state: JobState, qualifiers: Record<string, ReleaseQualifier>, jobName = `periodic-${name}`): QualifierJob => ({ ciConfigurationName: name, ciConfigurationJobName: jobName, state, qualifiers });
const none = () => undefined;

const SUMMARY_CASES: { name: string; jobs: QualifierJob[]; approvals?: Record<string, string>; want: unknown }[] = [
  { name: 'no job names a qualifier: {}', jobs: [job('a', 'Success', {})], want: {} },
  { name: 'an id the file does not define is ignored', jobs: [job('a', 'Success', { nope: { enabled: true } })], want: {} },
  {
    name: 'passed and enabled: earned; OnSuccess propagates',
    jobs: [job('a', 'Success', { fips: {} })],
    want: { qualifiers: { fips: { jobs: [{ ciConfigurationName: 'a', ciConfigurationJobName: 'periodic-a' }], aggregateState: 'Success', badgeName: 'FIPS', badgeEarned: true, badgePropagated: true, failureLabels: ['fips-failed', 'shared'] } } },
  },
  {
    name: 'one job still running: Pending, not earned',
    jobs: [job('b', 'Success', { fips: {} }), job('a', 'Pending', { fips: {} })],
    want: { qualifiers: { fips: { jobs: [{ ciConfigurationName: 'a', ciConfigurationJobName: 'periodic-a' }, { ciConfigurationName: 'b', ciConfigurationJobName: 'periodic-b' }], aggregateState: 'Pending', badgeName: 'FIPS', failureLabels: ['fips-failed', 'shared'] } } },
  },
  {
    name: 'failures: OnFailure propagates, labels deduplicated and sorted',
    jobs: [job('a', 'Failure', { fips: {}, rt: {} })],
    want: {
      failureLabels: ['fips-failed', 'rt-failed', 'shared'],
      qualifiers: {
        fips: { jobs: [{ ciConfigurationName: 'a', ciConfigurationJobName: 'periodic-a' }], aggregateState: 'Failure', badgeName: 'FIPS', failureLabels: ['fips-failed', 'shared'] },
        rt: { jobs: [{ ciConfigurationName: 'a', ciConfigurationJobName: 'periodic-a' }], aggregateState: 'Failure', badgeName: 'RT', badgePropagated: true, failureLabels: ['shared', 'rt-failed'] },
      },
    },
  },
  { name: 'disabled: never earned nor propagated', jobs: [job('a', 'Success', { off: {} })], want: { qualifiers: { off: { jobs: [{ ciConfigurationName: 'a', ciConfigurationJobName: 'periodic-a' }], aggregateState: 'Success', badgeName: 'OFF' } } } },
  { name: 'an override enables it', jobs: [job('a', 'Success', { off: { enabled: true, badgeName: 'ON' } })], want: { qualifiers: { off: { jobs: [{ ciConfigurationName: 'a', ciConfigurationJobName: 'periodic-a' }], aggregateState: 'Success', badgeName: 'ON', badgeEarned: true, badgePropagated: true } } } },
  { name: 'Yes propagates while unknown', jobs: [job('a', 'Unknown', { always: {} })], want: { qualifiers: { always: { jobs: [{ ciConfigurationName: 'a', ciConfigurationJobName: 'periodic-a' }], aggregateState: 'Unknown', badgePropagated: true } } } },
  {
    name: 'the last job\'s override wins',
    jobs: [job('a', 'Success', { fips: { badgeName: 'A' } }), job('b', 'Success', { fips: { badgeName: 'B' } })],
    want: { qualifiers: { fips: { jobs: [{ ciConfigurationName: 'a', ciConfigurationJobName: 'periodic-a' }, { ciConfigurationName: 'b', ciConfigurationJobName: 'periodic-b' }], aggregateState: 'Success', badgeName: 'B', badgeEarned: true, badgePropagated: true, failureLabels: ['fips-failed', 'shared'] } } },
  },
  {
    name: 'approvals: Accepted earns, Rejected fails with labels, other values ignored',
    jobs: [],
    approvals: { trt: 'Accepted', arch: 'Rejected', fips: 'Accepted' },
    want: {
      failureLabels: ['arch-rejected'],
      qualifiers: {
        arch: { jobs: null, aggregateState: 'Failure', approval: true, failureLabels: ['arch-rejected'] },
        trt: { jobs: null, aggregateState: 'Success', badgeName: 'TRT', badgeEarned: true, badgePropagated: true, approval: true },
      },
    },
  },
  { name: 'approval value other than Accepted/Rejected: absent', jobs: [], approvals: { trt: 'Pending' }, want: {} },
  {
    name: 'a job naming an approval qualifier takes precedence',
    jobs: [job('a', 'Failure', { trt: {} })],
    approvals: { trt: 'Accepted' },
    want: { qualifiers: { trt: { jobs: [{ ciConfigurationName: 'a', ciConfigurationJobName: 'periodic-a' }], aggregateState: 'Failure', badgeName: 'TRT' } } },
  },
];

for (const c of SUMMARY_CASES) {
  test(`summary: ${c.name}`, () => {
    const got = qualifiersSummary(GLOBAL, c.jobs, c.approvals ? (id) => c.approvals![id] : none);
    assert.deepEqual(got, c.want);
  });
}

test('summary: field order is upstream\'s', () => {
  const got = qualifiersSummary(GLOBAL, [job('a', 'Failure', { rt: {} })], none);
  assert.equal(JSON.stringify(got), '{"failureLabels":["rt-failed","shared"],"qualifiers":{"rt":{"jobs":[{"ciConfigurationName":"a","ciConfigurationJobName":"periodic-a"}],"aggregateState":"Failure","badgeName":"RT","badgePropagated":true,"failureLabels":["shared","rt-failed"]}}}');
});

// ---------------------------------------------------------------- runs → jobs

function run(name: string, kind: JobRun['kind'], state: JobRunState, o: Partial<JobRun> = {}): JobRun {
  return {
    id: `${TAG}-${name}-${kind}-${o.attempt ?? 0}-${Math.random()}`, stream: STREAM, tag: TAG, verifyName: name, jobName: `periodic-${name}`, kind, attempt: 0, generation: 0, state,
    url: '', upgradeFrom: '', upgradeFromPullSpec: '', createdAt: '2024-05-01T12:10:00Z', startedAt: '2024-05-01T12:10:00Z', finishedAt: state === 'Pending' ? null : '2024-05-01T13:00:00Z', reason: '', logPath: '', ...o,
  };
}

const ANALYSIS_CASES: { states: JobRunState[]; count: number; want: JobState }[] = [
  { states: [], count: 3, want: 'Unknown' },
  { states: ['Succeeded', 'Succeeded'], count: 3, want: 'Unknown' },
  { states: ['Succeeded', 'Succeeded', 'Interrupted'], count: 3, want: 'Unknown' },
  { states: ['Succeeded', 'Succeeded', 'Failed'], count: 3, want: 'Success' },
  { states: ['Succeeded', 'Succeeded', 'Pending'], count: 3, want: 'Success' },
  { states: ['Succeeded', 'Failed', 'Pending'], count: 3, want: 'Pending' },
  { states: ['Succeeded', 'Failed', 'Aborted'], count: 3, want: 'Failure' },
  { states: ['Succeeded', 'Succeeded', 'Succeeded', 'Failed', 'Failed'], count: 5, want: 'Success' },
  { states: ['Succeeded', 'Succeeded', 'Failed', 'Failed', 'Failed'], count: 5, want: 'Failure' },
];

for (const c of ANALYSIS_CASES) {
  test(`analysis state: [${c.states.join(', ')}] of ${c.count} → ${c.want}`, () => {
    assert.equal(analysisState(c.states.map((s) => run('agg', 'analysis', s)), c.count), c.want);
  });
}

function payload(o: Partial<Payload> = {}): Payload {
  return {
    stream: STREAM, tag: TAG, phase: 'Ready', createdAt: '2024-05-01T12:00:00Z', inputHash: '', pullSpec: '', digest: '', components: {}, reason: '', message: '',
    annotations: {}, override: null, qe: { ...emptyQEStatus(), state: 'QEPending' }, phaseChangedAt: '2024-05-01T12:00:00Z', ...o,
  };
}

const CONFIG = ReleaseConfigSchema.parse({
  name: STREAM,
  to: 'release',
  verify: {
    'z-blocking': { prowJob: { name: 'periodic-z' }, qualifiers: { fips: {} } },
    'a-informing': { optional: true, prowJob: { name: 'periodic-a' }, qualifiers: { fips: {} } },
    aggregated: { prowJob: { name: 'periodic-agg' }, aggregatedProwJob: { analysisJobCount: 3 }, qualifiers: { rt: {} } },
    custom: { prowJob: { name: 'periodic-custom' }, aggregatedProwJob: { analysisJobCount: 2, prowJob: { name: 'my-aggregator' } } },
    gone: { disabled: true, prowJob: { name: 'periodic-gone' }, qualifiers: { fips: {} } },
    'qe-e2e': { qe: true, prowJob: { name: 'periodic-qe-e2e' } },
  },
});

test('payload jobs: blocking then informing in name order; an aggregated entry twice', () => {
  const runs = [
    run('z-blocking', 'blocking', 'Succeeded'),
    run('aggregated', 'aggregator', 'Pending'),
    run('aggregated', 'analysis', 'Succeeded'),
    run('aggregated', 'analysis', 'Succeeded'),
    run('aggregated', 'analysis', 'Failed'),
  ];
  const jobs = payloadQualifierJobs(CONFIG, payload(), runs).map((j) => [j.ciConfigurationName, j.ciConfigurationJobName, j.state]);
  assert.deepEqual(jobs, [
    ['aggregated', 'aggregated-release-openshift-release-analysis-aggregator', 'Pending'],
    ['custom', 'custom-my-aggregator', 'Unknown'],
    ['z-blocking', 'periodic-z', 'Success'],
    ['a-informing', 'periodic-a', 'Unknown'],
    ['aggregated', 'periodic-agg', 'Success'],
    ['custom', 'periodic-custom', 'Unknown'],
    ['qe-e2e', 'periodic-qe-e2e', 'Unknown'],
  ]);
});

test('payload summary: the aggregated entry counts with both of its jobs', () => {
  const runs = [run('aggregated', 'aggregator', 'Succeeded'), ...['Succeeded', 'Succeeded', 'Failed'].map((s) => run('aggregated', 'analysis', s as JobRunState))];
  const got = payloadQualifiers({ rt: { enabled: true, badgeName: 'RT' } }, CONFIG, payload(), runs);
  assert.deepEqual(got, {
    qualifiers: {
      rt: {
        jobs: [
          { ciConfigurationName: 'aggregated', ciConfigurationJobName: 'aggregated-release-openshift-release-analysis-aggregator' },
          { ciConfigurationName: 'aggregated', ciConfigurationJobName: 'periodic-agg' },
        ],
        aggregateState: 'Success',
        badgeName: 'RT',
        badgeEarned: true,
      },
    },
  });
  assert.deepEqual(payloadQualifiers({}, CONFIG, payload(), runs), {});
});

const APPROVAL_CASES: { name: string; p: Partial<Payload>; id: string; want: string | undefined }[] = [
  { name: 'annotation', p: { annotations: { 'release.openshift.io/trt_state': 'Accepted' } }, id: 'trt', want: 'Accepted' },
  { name: 'no annotation', p: {}, id: 'trt', want: undefined },
  { name: 'qe from the QE verdict (Accepted payload)', p: { phase: 'Accepted', qe: { ...emptyQEStatus(), state: 'QEAccepted' } }, id: 'qe', want: 'Accepted' },
  { name: 'qe accepted but CI not accepted', p: { phase: 'Ready', qe: { ...emptyQEStatus(), state: 'QEAccepted' } }, id: 'qe', want: undefined },
  { name: 'qe rejected', p: { qe: { ...emptyQEStatus(), state: 'QERejected' } }, id: 'qe', want: 'Rejected' },
  { name: 'a qe_state annotation is no second truth: the QE verdict decides', p: { annotations: { 'release.openshift.io/qe_state': 'Rejected' }, phase: 'Accepted', qe: { ...emptyQEStatus(), state: 'QEAccepted' } }, id: 'qe', want: 'Accepted' },
  { name: 'another team reads its annotation', p: { annotations: { 'release.openshift.io/trt_state': 'Rejected' } }, id: 'trt', want: 'Rejected' },
];

for (const c of APPROVAL_CASES) test(`approval state: ${c.name}`, () => assert.equal(payloadApprovalState(payload(c.p), c.id), c.want));

test('config: a typed per-job override; a wrong type is a config error', () => {
  const ok = ReleaseConfigSchema.parse({ name: STREAM, to: 'release', verify: { a: { prowJob: { name: 'x' }, qualifiers: { fips: { enabled: false, badgeName: 'F', extra: 1 } } } } });
  assert.deepEqual(ok.verify!.a.qualifiers, { fips: { enabled: false, badgeName: 'F', extra: 1 } });
  const bad = validateConfig({ name: STREAM, to: 'release', verify: { a: { prowJob: { name: 'x' }, qualifiers: { fips: { enabled: 'yes' } } } } }, 'r.json');
  assert.ok(bad.errors.some((e) => e.path.includes('qualifiers') && /boolean/.test(e.reason)), JSON.stringify(bad.errors));
});
