import assert from 'node:assert/strict';
import { test } from 'node:test';
import { State } from '../../src/controller/state.ts';
import { ReleaseConfigSchema } from '../../src/domain/config/schema.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import { previousPayload, releaseInfo } from '../../src/domain/releaseinfo.ts';
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
