// The per-release mirror stream (upstream-behavior.md §3.8) and the job environment it gives
// (§4.5): its name from the config and the tag, the IMAGE_FORMAT / IMAGE_<NAME> value of a
// declared variable, and a build result's mirror repository recorded on the payload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { State } from '../../src/controller/state.ts';
import { inputStreamOf, ReleaseConfigSchema } from '../../src/domain/config/schema.ts';
import { imageEnvValue, mirrorStreamName } from '../../src/domain/mirror.ts';
import { applyBuild } from '../../src/domain/plan.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { Payload } from '../../src/domain/types.ts';

const RELEASES = new URL('../fixtures/openshift-release/releases/', import.meta.url).pathname;
const fixture = (f: string) => ReleaseConfigSchema.parse(JSON.parse(readFileSync(RELEASES + f, 'utf8')));

test('mirrorStreamName: <mirrorPrefix or input stream><tag without the config name>; Stable: the tag', () => {
  const TAG = '4.16.0-0.nightly-2024-05-01-123456';
  const rows: [string, Parameters<typeof mirrorStreamName>[0], string, string][] = [
    ['mirrorPrefix (upstream example)', { name: '4.16.0-0.nightly', mirrorPrefix: '4.16-art-latest' }, TAG, '4.16-art-latest-2024-05-01-123456'],
    ['mirrorPrefix unset: the input stream (source)', { name: '4.16.0-0.nightly', source: '4.16-art-latest' }, TAG, '4.16-art-latest-2024-05-01-123456'],
    ['mirrorPrefix and source unset: the input stream is the config name', { name: '4.16.0-0.nightly' }, TAG, TAG],
    ['mirrorPrefix wins over source', { name: '4.16.0-0.nightly', source: 'ocp-input', mirrorPrefix: 'mp' }, TAG, 'mp-2024-05-01-123456'],
    ['empty mirrorPrefix counts as unset', { name: '4.16.0-0.nightly', mirrorPrefix: '', source: 'in' }, TAG, 'in-2024-05-01-123456'],
    ['a tag without the config-name prefix is kept whole', { name: '4.16.0-0.nightly', mirrorPrefix: '4.16-art-latest' }, 'adopted-4.16.1', '4.16-art-latest' + 'adopted-4.16.1'],
    ['ci stream', { name: '4.16.0-0.ci', mirrorPrefix: '4.16' }, '4.16.0-0.ci-2024-05-01-000000', '4.16-2024-05-01-000000'],
    ['Stable: the tag name, whatever the prefix', { name: '4-stable', as: 'Stable', mirrorPrefix: '4-stable' }, '4.16.3', '4.16.3'],
    ['Stable without a prefix', { name: '4-stable', as: 'Stable' }, '4.16.3-rc.1', '4.16.3-rc.1'],
  ];
  for (const [why, config, tag, want] of rows) assert.equal(mirrorStreamName(config, tag), want, why);
});

test('mirrorStreamName on the real fixture configs (4.16 nightly with mirrorPrefix, a Stable stream)', () => {
  const nightly = fixture('release-ocp-4.16.json');
  assert.equal(nightly.mirrorPrefix, '4.16-art-latest');
  assert.equal(mirrorStreamName(nightly, '4.16.0-0.nightly-2024-05-01-123456'), '4.16-art-latest-2024-05-01-123456');
  const stable = fixture('release-ocp-4-dev-preview.json');
  assert.equal(stable.as, 'Stable');
  assert.equal(mirrorStreamName(stable, '4.17.0-ec.1'), '4.17.0-ec.1');
});

test('imageEnvValue: IMAGE_FORMAT gets the literal ${component}; IMAGE_<NAME> its component; nothing else, nothing without a mirror', () => {
  const repo = 'registry.local:5000/4.16-art-latest-2024-05-01-123456';
  const rows: [string, string | undefined, string | null][] = [
    ['IMAGE_FORMAT', repo, `${repo}:\${component}`],
    ['IMAGE_CLUSTER_VERSION_OPERATOR', repo, `${repo}:cluster-version-operator`],
    ['IMAGE_TESTS', repo, `${repo}:tests`],
    ['IMAGE_CLI', repo, `${repo}:cli`],
    ['IMAGE_', repo, null],
    ['RELEASE_IMAGE_LATEST', repo, null],
    ['RELEASE_IMAGE_INITIAL', repo, null],
    ['image_format', repo, null],
    ['MY_IMAGE_FORMAT', repo, null],
    ['PAYLOAD_TAG', repo, null],
    ['IMAGE_FORMAT', undefined, null],
    ['IMAGE_FORMAT', '', null],
    ['IMAGE_TESTS', undefined, null],
  ];
  for (const [name, r, want] of rows) assert.equal(imageEnvValue(name, r), want, `${name} with ${r ?? 'no mirror'}`);
  assert.equal(imageEnvValue('IMAGE_FORMAT', repo)!.endsWith(':${component}'), true, 'the text ${component}, for ci-operator to substitute');
});

test('applyBuild records the mirror repository a build wrote on the Ready payload; none when the builder wrote none', () => {
  const config = ReleaseConfigSchema.parse({ name: '4.16.0-0.nightly', mirrorPrefix: '4.16-art-latest', to: 'release', verify: {} });
  const TAG = '4.16.0-0.nightly-2024-05-01-123456';
  const p: Payload = {
    stream: config.name, tag: TAG, phase: 'Pending', createdAt: '2024-05-01T12:34:56Z', inputHash: 'h', pullSpec: `registry.local/release:${TAG}`, digest: '', components: {},
    reason: '', message: '', annotations: {}, override: null, qe: emptyQEStatus(), phaseChangedAt: '2024-05-01T12:34:56Z',
  };
  const state = State.fromSnapshot({
    streams: [{ name: config.name, config, sourceFile: 'x.json', input: inputStreamOf(config), errors: [], warnings: [], locked: false }],
    inputTags: [], payloads: [p], jobRuns: [], upgrades: [], published: [],
  });
  const now = new Date('2024-05-01T13:00:00Z');
  const mirror = `registry.local/${mirrorStreamName(config, TAG)}`;
  const built = applyBuild(state, p, { ok: true, pullSpec: 'registry.local/release@sha256:aa', digest: 'sha256:aa', mirrorRepository: mirror }, now);
  assert.equal(built?.payload.phase, 'Ready');
  assert.equal(built?.payload.mirrorRepository, 'registry.local/4.16-art-latest-2024-05-01-123456');
  const local = applyBuild(state, p, { ok: true, pullSpec: 'registry.local/release@sha256:aa', digest: 'sha256:aa' }, now);
  assert.equal(local?.payload.phase, 'Ready');
  assert.ok(!('mirrorRepository' in local!.payload), 'the local builder records no mirror');
  const failed = applyBuild(state, p, { ok: false, reason: 'CreateReleaseFailed', message: 'x' }, now);
  assert.ok(!('mirrorRepository' in failed!.payload));
});
