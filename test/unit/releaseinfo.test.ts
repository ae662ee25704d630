import assert from 'node:assert/strict';
import { test } from 'node:test';
import { State } from '../../src/controller/state.ts';
import { ReleaseConfigSchema } from '../../src/domain/config/schema.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import { previousPayload, releaseInfo } from '../../src/domain/releaseinfo.ts';
import { qeVerifyAnnotation } from '../../src/domain/views.ts';
import type { JobRun, Payload, PublishedRef, StreamRecord } from '../../src/domain/types.ts';

const S = '4.16.0-0.nightly';
const rec = (name: string, raw: Record<string, unknown> = {}): StreamRecord => ({ name, config: ReleaseConfigSchema.parse({ name, ...raw }), sourceFile: '', input: name, errors: [], warnings: [], locked: false });
const p = (stream: string, tag: string, day: number, phase: Payload['phase'] = 'Accepted'): Payload => ({
  stream, tag, phase, createdAt: `2024-05-0${day}T00:00:00Z`, inputHash: '', pullSpec: `r:${tag}`, digest: `sha256:${day}`, components: {}, reason: '', message: '', annotations: {}, override: null,
  qe: emptyQEStatus(), phaseChangedAt: '',
});
const n = (day: number) => `${S}-2024-05-0${day}-000000`;
const view = (streams: StreamRecord[], payloads: Payload[], published: PublishedRef[] = [], jobRuns: JobRun[] = []) =>
  State.fromSnapshot({ streams, inputTags: [], payloads, jobRuns, upgrades: [], published });

const rows: { name: string; streams?: StreamRecord[]; payloads: Payload[]; published?: PublishedRef[]; of: string; want: string | undefined }[] = [
  { name: '(b) newest older Accepted, skipping Rejected', payloads: [p(S, n(1), 1), p(S, n(2), 2, 'Rejected'), p(S, n(3), 3)], of: n(3), want: n(1) },
  { name: '(c) no older Accepted → newest older of any phase', payloads: [p(S, n(1), 1, 'Failed'), p(S, n(2), 2, 'Rejected'), p(S, n(3), 3)], of: n(3), want: n(2) },
  { name: 'newer tags never count, not even through (d) on the own stream (its other tags are newer)', payloads: [p(S, n(1), 1), p(S, n(2), 2)], of: n(1), want: undefined },
  {
    name: '(a) the tagRef publish step points at an older tag → that one',
    streams: [rec(S, { publish: { tag: { tagRef: { name: '4.16' } } } })],
    payloads: [p(S, n(1), 1), p(S, n(2), 2), p(S, n(3), 3)],
    published: [{ stream: S, name: '4.16', tag: n(1), updatedAt: '' }],
    of: n(3),
    want: n(1),
  },
  {
    name: '(a) tagRef pointing at the tag itself (or a newer one) falls back to (b)',
    streams: [rec(S, { publish: { tag: { tagRef: { name: '4.16' } } } })],
    payloads: [p(S, n(1), 1), p(S, n(2), 2), p(S, n(3), 3)],
    published: [{ stream: S, name: '4.16', tag: n(3), updatedAt: '' }],
    of: n(3),
    want: n(2),
  },
  {
    name: '(d) first tag → the first tag of the highest-versioned stable-like stream of the same major.minor',
    streams: [rec(S), rec('4-stable', { as: 'Stable' }), rec('4.16.0-0.ci'), rec('4.15.0-0.nightly')],
    payloads: [p(S, n(1), 1), p('4.16.0-0.ci', '4.16.0-0.ci-2024-05-02-000000', 2), p('4.15.0-0.nightly', '4.15.0-0.nightly-2024-05-03-000000', 3), p('4-stable', '4.16.0', 4)],
    of: n(1),
    // stable-like: 4.16.0-0.ci (picked), 4.15.0-0.nightly (other minor), 4-stable (no version); the own stream is never used
    want: '4.16.0-0.ci-2024-05-02-000000',
  },
  { name: '(d) a non-semver tag with nothing older → none', streams: [rec('nightly')], payloads: [p('nightly', 'nightly-1', 1)], of: 'nightly-1', want: undefined },
];

for (const r of rows) {
  test(`previousPayload: ${r.name}`, () => {
    const streams = r.streams ?? [rec(S)];
    const v = view(streams, r.payloads, r.published ?? []);
    assert.equal(previousPayload(v, v.findTag(r.of)!)?.tag, r.want);
  });
}

test('releaseInfo: wire key order, zero-valued changeLogJson without a previous release, qe block always present', () => {
  const v = view([rec(S)], [p(S, n(1), 1)]);
  const info = releaseInfo(v, v.findTag(n(1))!, undefined);
  assert.deepEqual(Object.keys(info), ['name', 'phase', 'qePhase', 'results', 'changeLogJson', 'qe']);
  assert.deepEqual(info.results, {});
  assert.deepEqual(info.qe, { phase: '', reason: '', startedAt: null, deadline: null });
  assert.equal(info.changeLogJson.from.created, '0001-01-01T00:00:00Z');
});

test('releaseInfo: with a previous release → base64 HTML changeLog and changeLogJson; short skips both', () => {
  const v = view([rec(S)], [p(S, n(1), 1), p(S, n(2), 2)]);
  const info = releaseInfo(v, v.findTag(n(2))!, v.findTag(n(1)));
  assert.deepEqual(Object.keys(info), ['name', 'phase', 'qePhase', 'results', 'changeLog', 'changeLogJson', 'qe']);
  assert.match(Buffer.from(info.changeLog!, 'base64').toString(), /^<h2>Changes from <a target="_blank" href="\/releasetag\//);
  assert.deepEqual(info.changeLogJson.from, { name: n(1), created: '2024-05-01T00:00:00Z', digest: 'sha256:1' });
  const short = releaseInfo(v, v.findTag(n(2))!, v.findTag(n(1)), { short: true });
  assert.equal(short.changeLog, undefined);
  assert.equal(short.changeLogJson.from.name, '');
});

test('releaseInfo: results groups by config, empty groups omitted, disabled and run-less entries absent', () => {
  const s = rec(S, { verify: { b: { prowJob: { name: 'b' } }, i: { optional: true, prowJob: { name: 'i' } }, d: { disabled: true, prowJob: { name: 'd' } }, never: { prowJob: { name: 'n' } } } });
  const pay = p(S, n(1), 1);
  const run = (verifyName: string, kind: JobRun['kind']): JobRun => ({
    id: `${verifyName}-run`, stream: S, tag: n(1), verifyName, jobName: verifyName, kind, attempt: 0, generation: 0, state: 'Succeeded', url: `https://x/${verifyName}`,
    upgradeFrom: '', upgradeFromPullSpec: '', createdAt: '', startedAt: '2024-05-01T01:00:00Z', finishedAt: '2024-05-01T02:00:00Z', reason: '', logPath: '',
  });
  const v = view([s], [pay], [], [run('b', 'blocking'), run('d', 'blocking')]);
  const info = releaseInfo(v, v.findTag(n(1))!, undefined);
  assert.deepEqual(info.results, { blockingJobs: { b: { state: 'Succeeded', url: 'https://x/b', transitionTime: '2024-05-01T02:00:00Z' } } });
});

// ---------------------------------------------------------------- judged job set and waivers (DESIGN §14)

const runOf = (tag: string, verifyName: string, state: JobRun['state'], extra: Partial<JobRun> = {}): JobRun => ({
  id: `${tag}-${verifyName}`, stream: S, tag, verifyName, jobName: verifyName, kind: 'blocking', attempt: 0, generation: 0, state, url: `https://x/${verifyName}`,
  upgradeFrom: '', upgradeFromPullSpec: '', createdAt: '2024-05-01T01:00:00Z', startedAt: '2024-05-01T01:00:00Z', finishedAt: state === 'Pending' ? null : '2024-05-01T02:00:00Z', reason: '', logPath: '',
  ...extra,
});

test('releaseInfo: results are the frozen job set — a later-added entry is absent, a removed one still listed', () => {
  // the stream now has `b` and `later`; the payload was created with `b` and `gone`
  const s = rec(S, { verify: { b: { prowJob: { name: 'b' } }, later: { prowJob: { name: 'later' } } } });
  const pay: Payload = { ...p(S, n(1), 1, 'Ready'), jobs: { verify: { b: { prowJob: { name: 'b' } }, gone: { optional: true, prowJob: { name: 'gone' } } }, removed: { gone: '2024-05-01T03:00:00Z' }, waivers: {}, ciDone: false } };
  const v = view([s], [pay], [], [runOf(n(1), 'b', 'Succeeded'), runOf(n(1), 'later', 'Failed'), runOf(n(1), 'gone', 'Failed')]);
  const info = releaseInfo(v, v.findTag(n(1))!, undefined);
  assert.deepEqual(Object.keys(info.results!.blockingJobs!), ['b']);
  assert.deepEqual(Object.keys(info.results!.informingJobs!), ['gone'], 'grouped by the frozen definition (optional)');
});

test('releaseInfo: a waived entry reads Succeeded (also without a run), our `waived` after upstream’s fields', () => {
  const s = rec(S, { verify: { b: { prowJob: { name: 'b' } }, up: { upgrade: true, upgradeFrom: 'PreviousMinor', prowJob: { name: 'up' } }, old: { maxRetries: 1, prowJob: { name: 'old' } } } });
  const w = (user: string, reason: string) => ({ reason, user, at: '2024-05-01T04:00:00Z' });
  const pay: Payload = {
    ...p(S, n(1), 1, 'Accepted'),
    jobs: { verify: Object.fromEntries(Object.entries(s.config.verify!)), removed: {}, waivers: { up: w('alice', 'no 4.15 yet <b>'), old: w('bob', 'flaky, removed') }, ciDone: true },
  };
  const runs = [runOf(n(1), 'b', 'Succeeded'), runOf(n(1), 'old', 'Failed'), runOf(n(1), 'old', 'Failed', { id: 'old-1', attempt: 1, url: 'https://x/old-1', finishedAt: '2024-05-01T03:00:00Z' })];
  const v = view([s], [pay], [], runs);
  const info = releaseInfo(v, v.findTag(n(1))!, undefined);
  assert.equal(
    JSON.stringify(info.results),
    JSON.stringify({
      blockingJobs: {
        b: { state: 'Succeeded', url: 'https://x/b', transitionTime: '2024-05-01T02:00:00Z' },
        old: { state: 'Succeeded', url: 'https://x/old-1', retries: 1, previousAttemptURLs: ['https://x/old'], transitionTime: '2024-05-01T03:00:00Z', waived: { user: 'bob', reason: 'flaky, removed', at: '2024-05-01T04:00:00Z' } },
        up: { state: 'Succeeded', url: '', waived: { user: 'alice', reason: 'no 4.15 yet <b>', at: '2024-05-01T04:00:00Z' } },
      },
    }),
  );
});

test('qeVerifyAnnotation: the QE entries frozen at QE start, not one added to the stream since', () => {
  const s = rec(S, { verify: { q1: { qe: true, prowJob: { name: 'q1' } }, q2: { qe: true, prowJob: { name: 'q2' } } } });
  const pay: Payload = { ...p(S, n(1), 1), qe: { ...emptyQEStatus(), state: 'QERunning', startedAt: '2024-05-01T05:00:00Z', deadline: '2024-05-02T05:00:00Z', jobs: ['q1'] } };
  const runs = [runOf(n(1), 'q1', 'Pending', { kind: 'qe' }), runOf(n(1), 'q2', 'Succeeded', { kind: 'qe' })];
  assert.deepEqual(Object.keys(JSON.parse(qeVerifyAnnotation(s.config, pay, runs))), ['q1']);
  const info = releaseInfo(view([s], [pay], [], runs), pay, undefined);
  assert.deepEqual(Object.keys(info.results!.qeJobs!), ['q1']);
});
