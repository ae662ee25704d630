// Cincinnati graph rules (src/domain/graph.ts): channel parsing, node selection, edges from
// upgrade runs and declared `previous` versions, end-of-life pruning, the archive records.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { State } from '../../src/controller/state.ts';
import { ReleaseConfigSchema, type ReleaseConfig } from '../../src/domain/config/schema.ts';
import { AnnotationPrevious, archiveRecords, buildGraph, parseChannel, payloadByDigest, streamArchitecture, type Channel } from '../../src/domain/graph.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { Payload, StreamRecord, UpgradeResult } from '../../src/domain/types.ts';

const NIGHTLY = '4.16.0-0.nightly';
const rec = (name: string, extra: Record<string, unknown> = {}): StreamRecord => {
  const config: ReleaseConfig = ReleaseConfigSchema.parse({ name, ...extra });
  return { name, config, sourceFile: '', input: name, errors: [], warnings: [], locked: false };
};
const STREAMS = [rec('4-stable', { as: 'Stable' }), rec(NIGHTLY), rec('4.13.0-0.nightly', { endOfLife: true })];
const p = (stream: string, tag: string, phase: Payload['phase'] = 'Accepted', extra: Partial<Payload> = {}): Payload => ({
  stream, tag, phase, createdAt: '2024-05-01T00:00:00Z', inputHash: '', pullSpec: `quay.io/r/release:${tag}`, digest: `sha256:${tag.replace(/[^0-9a-z]/g, '')}`, components: {}, reason: '', message: '',
  annotations: {}, override: null, qe: emptyQEStatus(), phaseChangedAt: '2024-05-01T00:00:00Z', ...extra,
});
const n = (d: number) => `${NIGHTLY}-2024-05-0${d}-000000`;
let runs = 0;
const up = (from: string, to: string, state: UpgradeResult['state'], url = `https://prow/${++runs}`): UpgradeResult => ({ from, to, url, state, runId: `run-${++runs}` });

const PAYLOADS = [
  p('4-stable', '4.15.9'),
  p('4-stable', '4.16.1'),
  p('4-stable', '4.16.2', 'Ready'),
  p('4-stable', '4.16.3-rc.0'),
  p('4-stable', '4.16.4', 'Rejected'),
  p('4-stable', '4.17.0'),
  p('4-stable', '4.13.5'),
  p('4-stable', '4.16.5', 'Accepted', { annotations: { [AnnotationPrevious]: '4.16.1, 4.15.9,4.16.2,4.99.0' } }),
  p(NIGHTLY, n(2)),
  p(NIGHTLY, n(1)),
  p(NIGHTLY, n(3), 'Pending', { pullSpec: '', digest: '' }),
  p('4.13.0-0.nightly', '4.13.0-0.nightly-2023-01-01-000000'),
];
const UPGRADES = [
  up('4.16.1', '4.16.2', 'Succeeded'),
  up('4.16.1', '4.16.2', 'Failed'),
  up('4.15.9', '4.16.1', 'Failed'),
  up('4.16.2', '4.16.5', 'Failed'),
  up(n(1), n(2), 'Pending'),
  up('4.16.1', n(2), 'Succeeded'),
  up('4.13.5', '4.16.1', 'Succeeded'),
];
const view = State.fromSnapshot({ streams: STREAMS, inputTags: [], payloads: PAYLOADS, jobRuns: [], upgrades: UPGRADES, published: [] });

/** The graph as readable edges `from → to`. */
function edgesOf(channel: string, arch?: string): { versions: string[]; edges: string[] } {
  const c = parseChannel(channel);
  assert.ok(c, `channel ${channel} parses`);
  const g = buildGraph(view, c, arch);
  return { versions: g.nodes.map((x) => x.version), edges: g.edges.map(([f, t]) => `${g.nodes[f].version} → ${g.nodes[t].version}`).sort() };
}

const channelRows: { channel: string; want: Channel | null }[] = [
  { channel: '', want: { kind: 'upstream', needSuccess: true, toPrefix: '' } },
  { channel: 'stable', want: { kind: 'upstream', needSuccess: true, toPrefix: '' } },
  { channel: 'next-scos', want: { kind: 'upstream', needSuccess: true, toPrefix: '' } },
  { channel: 'nightly', want: { kind: 'upstream', needSuccess: false, toPrefix: '' } },
  { channel: 'prerelease', want: { kind: 'upstream', needSuccess: false, toPrefix: '' } },
  { channel: 'stable-4.16', want: { kind: 'upstream', needSuccess: true, toPrefix: '4.16.' } },
  { channel: 'stable-scos-4.16', want: { kind: 'upstream', needSuccess: true, toPrefix: '4.16.' } },
  { channel: 'next-4.17', want: { kind: 'upstream', needSuccess: true, toPrefix: '4.17.' } },
  { channel: 'prerelease-4.16', want: { kind: 'upstream', needSuccess: false, toPrefix: '4.16.' } },
  { channel: 'nightly-4.16', want: { kind: 'upstream', needSuccess: false, toPrefix: '4.16.0-0.nightly-' } },
  { channel: 'candidate-4.16', want: { kind: 'ours', name: 'candidate-4.16', tier: 'candidate', major: 4, minor: 16 } },
  { channel: 'fast-4.16', want: { kind: 'ours', name: 'fast-4.16', tier: 'fast', major: 4, minor: 16 } },
  { channel: 'candidate-4.16.1', want: null },
  { channel: 'candidate-4', want: null },
  { channel: 'fast', want: null },
  { channel: 'eus-4.16', want: null },
  { channel: 'Stable', want: null },
];
for (const r of channelRows) {
  test(`parseChannel(${JSON.stringify(r.channel)})`, () => assert.deepEqual(parseChannel(r.channel), r.want));
}

const graphRows: { name: string; channel: string; arch?: string; versions?: string[]; edges: string[] }[] = [
  {
    name: 'default channel: every pullable non-EOL tag is a node (Stable semver descending, then newest first); edges need a success (upstream)',
    channel: '',
    versions: ['4.17.0', '4.16.5', '4.16.4', '4.16.3-rc.0', '4.16.2', '4.16.1', '4.15.9', n(2), n(1)],
    edges: [`4.16.1 → ${n(2)}`, '4.16.1 → 4.16.2'],
  },
  { name: 'nightly: every tested edge, failed and pending ones too (upstream)', channel: 'nightly', edges: ['4.15.9 → 4.16.1', `4.16.1 → ${n(2)}`, '4.16.1 → 4.16.2', '4.16.2 → 4.16.5', `${n(1)} → ${n(2)}`] },
  { name: 'nightly-4.16: To must be a 4.16 nightly', channel: 'nightly-4.16', edges: [`4.16.1 → ${n(2)}`, `${n(1)} → ${n(2)}`] },
  { name: 'stable-4.16: success and To in 4.16 (a nightly To also starts with 4.16.)', channel: 'stable-4.16', edges: [`4.16.1 → ${n(2)}`, '4.16.1 → 4.16.2'] },
  { name: 'stable-4.17: nothing upgraded into 4.17', channel: 'stable-4.17', edges: [] },
  { name: 'prerelease-4.16: every tested edge into 4.16', channel: 'prerelease-4.16', edges: ['4.15.9 → 4.16.1', `4.16.1 → ${n(2)}`, '4.16.1 → 4.16.2', '4.16.2 → 4.16.5', `${n(1)} → ${n(2)}`] },
  {
    name: 'candidate-4.16: Stable releases of 4.16 and 4.15, Accepted or Ready, pre-releases included; tested-success or declared edges; a declared edge whose runs all failed is left out',
    channel: 'candidate-4.16',
    versions: ['4.16.5', '4.16.3-rc.0', '4.16.2', '4.16.1', '4.15.9'],
    edges: ['4.15.9 → 4.16.5', '4.16.1 → 4.16.2', '4.16.1 → 4.16.5'],
  },
  { name: 'fast-4.16: Accepted general-availability releases only', channel: 'fast-4.16', versions: ['4.16.5', '4.16.1', '4.15.9'], edges: ['4.15.9 → 4.16.5', '4.16.1 → 4.16.5'] },
  { name: 'candidate-4.17: 4.17 and 4.16 releases; no edge into 4.17', channel: 'candidate-4.17', versions: ['4.17.0', '4.16.5', '4.16.3-rc.0', '4.16.2', '4.16.1'], edges: ['4.16.1 → 4.16.2', '4.16.1 → 4.16.5'] },
  { name: 'arch=arm64: no arm64 stream → empty graph', channel: '', arch: 'arm64', versions: [], edges: [] },
  { name: 'arch=amd64: the unsuffixed streams', channel: 'fast-4.16', arch: 'amd64', versions: ['4.16.5', '4.16.1', '4.15.9'], edges: ['4.15.9 → 4.16.5', '4.16.1 → 4.16.5'] },
];
for (const r of graphRows) {
  test(`buildGraph: ${r.name}`, () => {
    const g = edgesOf(r.channel, r.arch);
    if (r.versions) assert.deepEqual(g.versions, r.versions);
    assert.deepEqual(g.edges, [...r.edges].sort());
  });
}

test('buildGraph: end-of-life minors are pruned (the EOL stream’s tags and Stable 4.13.z), so their edges vanish', () => {
  const g = edgesOf('nightly');
  assert.ok(!g.versions.some((v) => v.startsWith('4.13.')), g.versions.join(', '));
  assert.ok(!g.edges.some((e) => e.includes('4.13.')));
});

test('buildGraph: a Pending payload without a pull spec is no node', () => {
  assert.ok(!edgesOf('nightly').versions.includes(n(3)));
});

test('buildGraph: nodes carry payload by digest and metadata; our channels name themselves', () => {
  const g = buildGraph(view, parseChannel('candidate-4.16')!);
  const node = g.nodes.find((x) => x.version === '4.16.1')!;
  assert.deepEqual(Object.keys(node), ['version', 'payload', 'metadata']);
  assert.equal(node.payload, 'quay.io/r/release@sha256:4161');
  assert.deepEqual(node.metadata, {
    'io.openshift.upgrades.graph.release.manifestref': 'sha256:4161',
    'io.openshift.upgrades.graph.release.channels': 'candidate-4.16',
    'release.openshift.io/phase': 'Accepted',
    'release.openshift.io/stream': '4-stable',
  });
  const up0 = buildGraph(view, parseChannel('')!).nodes.find((x) => x.version === '4.16.1')!;
  assert.ok(!('io.openshift.upgrades.graph.release.channels' in up0.metadata));
});

test('buildGraph: a tag name in two streams — edges point at the later node (upstream)', () => {
  const v = State.fromSnapshot({
    streams: [rec('a'), rec('b')], inputTags: [], jobRuns: [], published: [],
    payloads: [p('a', 'x'), p('a', 'y'), p('b', 'y')], upgrades: [up('x', 'y', 'Succeeded')],
  });
  const g = buildGraph(v, parseChannel('')!);
  assert.equal(g.nodes.length, 3);
  assert.deepEqual(g.edges.length, 1);
  assert.equal(g.edges[0][1], 2);
});

test('payloadByDigest: repository@digest; a pull spec that already names a digest is kept; no digest → pull spec', () => {
  assert.equal(payloadByDigest({ pullSpec: 'reg.local:5000/ocp/release:4.16.1', digest: 'sha256:ab' }), 'reg.local:5000/ocp/release@sha256:ab');
  assert.equal(payloadByDigest({ pullSpec: 'reg.local:5000/ocp/release', digest: 'sha256:ab' }), 'reg.local:5000/ocp/release@sha256:ab');
  assert.equal(payloadByDigest({ pullSpec: 'q.io/r@sha256:cd', digest: 'sha256:ab' }), 'q.io/r@sha256:cd');
  assert.equal(payloadByDigest({ pullSpec: 'q.io/r:1', digest: '' }), 'q.io/r:1');
});

test('streamArchitecture: upstream’s -<arch> suffixes', () => {
  assert.equal(streamArchitecture('4-stable'), 'amd64');
  assert.equal(streamArchitecture('4-stable-arm64'), 'arm64');
  assert.equal(streamArchitecture('4.16.0-0.nightly-multi'), 'multi');
  assert.equal(streamArchitecture('4.16.0-0.nightly-s390x'), 's390x');
});

test('archiveRecords: by to, then from; results by URL, one per URL, finished beats pending; URL-less results left out', () => {
  const v = State.fromSnapshot({
    streams: [rec('s')], inputTags: [], jobRuns: [], published: [],
    payloads: [p('s', 'a'), p('s', 'b'), p('s', 'c')],
    upgrades: [
      up('b', 'c', 'Failed', 'https://z'), up('a', 'c', 'Succeeded', 'https://y'), up('a', 'c', 'Pending', 'https://x'),
      up('a', 'b', 'Pending', 'https://w'), up('a', 'b', 'Succeeded', 'https://w'), up('a', 'b', 'Failed', ''),
    ],
  });
  assert.deepEqual(archiveRecords(v), [
    { from: 'a', to: 'b', results: [{ state: 'Succeeded', url: 'https://w' }] },
    { from: 'a', to: 'c', results: [{ state: 'Pending', url: 'https://x' }, { state: 'Succeeded', url: 'https://y' }] },
    { from: 'b', to: 'c', results: [{ state: 'Failed', url: 'https://z' }] },
  ]);
});
