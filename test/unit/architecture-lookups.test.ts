// Stable lookups stay within the stream's own architecture (issue 22, item 6): upgrade sources
// PreviousPatch / PreviousMinor and upgradeFromRelease.prerelease (src/domain/upgrade.ts), the
// candidate's next version (src/domain/candidate.ts). A stream's architecture is its -<arch> suffix.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { archStreamName, streamArchitecture } from '../../src/domain/architecture.ts';
import { State } from '../../src/controller/state.ts';
import { findCandidate, nextVersion } from '../../src/domain/candidate.ts';
import { ReleaseConfigSchema, type ReleaseConfig } from '../../src/domain/config/schema.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { Payload, StreamRecord } from '../../src/domain/types.ts';
import { resolveUpgradeSource } from '../../src/domain/upgrade.ts';

const rec = (name: string, extra: Record<string, unknown> = {}): StreamRecord => {
  const config: ReleaseConfig = ReleaseConfigSchema.parse({ name, ...extra });
  return { name, config, sourceFile: '', input: name, errors: [], warnings: [], locked: false };
};
const p = (stream: string, tag: string, phase: Payload['phase'] = 'Accepted', createdAt = '2024-05-01T00:00:00Z'): Payload => ({
  stream, tag, phase, createdAt, inputHash: '', pullSpec: `quay.io/${stream}:${tag}`, digest: '', components: {}, reason: '', message: '',
  annotations: {}, override: null, qe: emptyQEStatus(), phaseChangedAt: createdAt,
});

const STABLE = ['4-stable', '4-stable-arm64', '4-stable-multi'];
const NIGHTLIES = ['4.16.0-0.nightly', '4.16.0-0.nightly-arm64', '4.16.0-0.nightly-multi', '4.16.0-0.nightly-s390x'];
const STREAMS = [...STABLE.map((s) => rec(s, { as: 'Stable' })), ...NIGHTLIES.map((s) => rec(s))];
const PAYLOADS = [
  // amd64 has the newest versions of every minor; arm64 lags behind; multi has only 4.15
  p('4-stable', '4.15.9'), p('4-stable', '4.16.5'), p('4-stable', '4.16.6'), p('4-stable', '4.5.15'),
  p('4-stable-arm64', '4.15.3'), p('4-stable-arm64', '4.16.2'), p('4-stable-arm64', '4.16.3'), p('4-stable-arm64', '4.5.14'),
  p('4-stable-multi', '4.15.7'),
  ...NIGHTLIES.map((s) => p(s, `${s}-2024-05-02-000000`, 'Ready', '2024-05-02T00:00:00Z')),
];
const view = State.fromSnapshot({ streams: STREAMS, inputTags: [], payloads: PAYLOADS, jobRuns: [], upgrades: [], published: [] });
const payload = (stream: string, tag = `${stream}-2024-05-02-000000`) => view.payloads(stream).find((x) => x.tag === tag)!;
const config = (stream: string) => view.stream(stream)!.config;

test('PreviousMinor / PreviousPatch: the newest Accepted release of the stream’s own architecture', () => {
  const rows: { stream: string; tag?: string; mode: string; want: string | null }[] = [
    { stream: '4.16.0-0.nightly', mode: 'PreviousMinor', want: '4.15.9' },
    { stream: '4.16.0-0.nightly-arm64', mode: 'PreviousMinor', want: '4.15.3' },
    { stream: '4.16.0-0.nightly-multi', mode: 'PreviousMinor', want: '4.15.7' },
    { stream: '4.16.0-0.nightly-s390x', mode: 'PreviousMinor', want: null }, // no 4-stable-s390x: nothing, not amd64's
    { stream: '4.16.0-0.nightly', mode: 'PreviousPatch', want: '4.16.6' },
    { stream: '4.16.0-0.nightly-arm64', mode: 'PreviousPatch', want: '4.16.3' },
    { stream: '4.16.0-0.nightly-multi', mode: 'PreviousPatch', want: null },
    { stream: '4-stable-arm64', tag: '4.16.3', mode: 'PreviousPatch', want: '4.16.2' }, // itself excluded
    { stream: '4-stable', tag: '4.16.6', mode: 'PreviousPatch', want: '4.16.5' },
  ];
  for (const r of rows) {
    const got = resolveUpgradeSource(view, config(r.stream), payload(r.stream, r.tag), { upgradeFrom: r.mode }, 'verify');
    assert.ok(got.ok, `${r.stream} ${r.mode}`);
    assert.equal(got.source?.tag ?? null, r.want, `${r.stream} ${r.mode}: ${got.why}`);
    if (r.want) assert.equal(got.source!.pullSpec, `quay.io/${archStreamName('4-stable', streamArchitecture(r.stream))}:${r.want}`, 'from the stable stream of the same architecture');
  }
  const arm = resolveUpgradeSource(view, config('4.16.0-0.nightly-arm64'), payload('4.16.0-0.nightly-arm64'), { upgradeFrom: 'PreviousMinor' }, 'verify');
  assert.ok(arm.ok);
  assert.equal(arm.source!.pullSpec, 'quay.io/4-stable-arm64:4.15.3', 'pulled from the arm64 stable stream');
});

test('upgradeFromRelease.prerelease reads 4-stable-<arch> for non-amd64 streams (upstream: always 4-stable)', () => {
  const prerelease = { prerelease: { version_bounds: { lower: '4.5.0', upper: '4.6.0' } } };
  const rows: [string, string | null, string][] = [
    ['4.16.0-0.nightly', '4.5.15', 'prerelease in 4-stable'],
    ['4.16.0-0.nightly-arm64', '4.5.14', 'prerelease in 4-stable-arm64'],
    ['4.16.0-0.nightly-multi', null, 'prerelease in 4-stable-multi'],
  ];
  for (const [stream, want, why] of rows) {
    const got = resolveUpgradeSource(view, config(stream), payload(stream), { upgradeFromRelease: prerelease }, 'periodic');
    assert.ok(got.ok, stream);
    assert.equal(got.source?.tag ?? null, want, stream);
    assert.equal(got.why, why);
  }
});

test('candidate: the next version comes from the stable stream of the stream’s own architecture', () => {
  const rows: [string, string | null][] = [
    ['4.16.0-0.nightly', '4.16.7'],
    ['4.16.0-0.nightly-arm64', '4.16.4'],
    ['4.16.0-0.nightly-multi', null], // 4-stable-multi has no 4.16 release: no next version
  ];
  for (const [stream, want] of rows) assert.equal(nextVersion(view, stream)?.name ?? null, want, stream);
  // the Ready nightlies are not candidates; an Accepted arm64 one is, named after arm64's next version
  const accepted = State.fromSnapshot({
    streams: STREAMS, inputTags: [], jobRuns: [], upgrades: [], published: [],
    payloads: [...PAYLOADS.filter((x) => x.stream !== '4.16.0-0.nightly-arm64'), p('4.16.0-0.nightly-arm64', '4.16.0-0.nightly-arm64-2024-05-03-000000', 'Accepted', '2024-05-03T00:00:00Z')],
  });
  assert.deepEqual(findCandidate(accepted, '4.16.0-0.nightly-arm64'), { fromTag: '4.16.0-0.nightly-arm64-2024-05-03-000000', name: '4.16.4' });
});
