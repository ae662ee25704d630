import assert from 'node:assert/strict';
import { test } from 'node:test';
import { State } from '../../src/controller/state.ts';
import { AnnotationFromTag, findCandidate, goodUpgradeSources, nextVersion } from '../../src/domain/candidate.ts';
import { ReleaseConfigSchema, type ReleaseConfig } from '../../src/domain/config/schema.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { Payload, QEState, StreamRecord, UpgradeResult } from '../../src/domain/types.ts';

const NIGHTLY = '4.16.0-0.nightly';
const qeConfig = ReleaseConfigSchema.parse({ name: NIGHTLY, verify: { 'qe-e2e': { qe: true, prowJob: { name: 'x' } } } });
const plainConfig = ReleaseConfigSchema.parse({ name: NIGHTLY });
const stableConfig = ReleaseConfigSchema.parse({ name: '4-stable', as: 'Stable' });

const rec = (name: string, config: ReleaseConfig): StreamRecord => ({ name, config, sourceFile: '', input: name, errors: [], warnings: [], locked: false });
const p = (stream: string, tag: string, createdAt: string, phase: Payload['phase'] = 'Accepted', qe: QEState = '', annotations: Record<string, string> = {}): Payload => ({
  stream, tag, phase, createdAt, inputHash: '', pullSpec: `r:${tag}`, digest: '', components: {}, reason: '', message: '', annotations, override: null,
  qe: { ...emptyQEStatus(), state: qe }, phaseChangedAt: createdAt,
});
const n = (day: number) => `${NIGHTLY}-2024-05-0${day}-000000`;
const t = (day: number, h = 0) => `2024-05-0${day}T0${h}:00:00Z`;
const other = (day: number) => `4.16.0-0.ci-2024-05-0${day}-000000`;

function view(streams: StreamRecord[], payloads: Payload[], upgrades: UpgradeResult[] = []): State {
  return State.fromSnapshot({ streams, inputTags: [], payloads, jobRuns: [], upgrades, published: [] });
}
const up = (from: string, to: string, state: UpgradeResult['state'], i: number): UpgradeResult => ({ from, to, url: `u${i}`, state, runId: `r${i}` });

const rows: { name: string; config?: ReleaseConfig; stable: Payload[]; own: Payload[]; extra?: StreamRecord[]; extraPayloads?: Payload[]; upgrades?: UpgradeResult[]; want: ReturnType<typeof findCandidate> }[] = [
  {
    name: 'no stable release of the stream’s major.minor → no next version → null (upstream)',
    stable: [p('4-stable', '4.15.3', t(1))],
    own: [p(NIGHTLY, n(2), t(2))],
    want: null,
  },
  {
    name: 'lineage known: candidates are accepted tags created after the promoted tag; newest first',
    stable: [p('4-stable', '4.16.0-rc.1', t(3, 5), 'Accepted', '', { [AnnotationFromTag]: n(2) })],
    own: [p(NIGHTLY, n(1), t(1)), p(NIGHTLY, n(2), t(2)), p(NIGHTLY, n(3), t(3)), p(NIGHTLY, n(4), t(4))],
    want: { fromTag: n(4), name: '4.16.0-rc.2' },
  },
  {
    name: 'the promoted tag itself is not a candidate (strictly after)',
    stable: [p('4-stable', '4.16.1', t(3), 'Accepted', '', { [AnnotationFromTag]: n(2) })],
    own: [p(NIGHTLY, n(1), t(1)), p(NIGHTLY, n(2), t(2))],
    want: null,
  },
  {
    name: 'lineage unknown (no from-tag): every accepted tag is a candidate',
    stable: [p('4-stable', '4.16.3', t(9))],
    own: [p(NIGHTLY, n(1), t(1)), p(NIGHTLY, n(2), t(2), 'Rejected')],
    want: { fromTag: n(1), name: '4.16.4' },
  },
  {
    name: 'newest stable version was promoted from another stream → the next stable version decides (upstream)',
    stable: [
      p('4-stable', '4.16.2', t(5), 'Accepted', '', { [AnnotationFromTag]: other(4) }),
      p('4-stable', '4.16.1', t(3), 'Accepted', '', { [AnnotationFromTag]: n(2) }),
    ],
    extra: [rec('4.16.0-0.ci', ReleaseConfigSchema.parse({ name: '4.16.0-0.ci' }))],
    extraPayloads: [p('4.16.0-0.ci', other(4), t(4))],
    own: [p(NIGHTLY, n(2), t(2)), p(NIGHTLY, n(3), t(3))],
    want: { fromTag: n(3), name: '4.16.2' },
  },
  {
    name: 'quirk fixed (DESIGN §13 item 11): a stable version of another minor of the same major is skipped',
    stable: [p('4-stable', '4.17.0', t(9)), p('4-stable', '4.16.0', t(1))],
    own: [p(NIGHTLY, n(2), t(2))],
    want: { fromTag: n(2), name: '4.16.1' },
  },
  {
    name: 'quirk fixed: another major with the same minor is skipped too',
    stable: [p('4-stable', '5.16.0', t(9))],
    own: [p(NIGHTLY, n(2), t(2))],
    want: null,
  },
  {
    name: 'stable tags of any phase count as versions; prereleases increment their last number',
    stable: [p('4-stable', '4.16.0-ec.3', t(1), 'Rejected')],
    own: [p(NIGHTLY, n(2), t(2))],
    want: { fromTag: n(2), name: '4.16.0-ec.4' },
  },
  {
    name: 'stream with QE jobs: only QE-accepted (and Accepted) payloads are candidates',
    config: qeConfig,
    stable: [p('4-stable', '4.16.0', t(1))],
    own: [p(NIGHTLY, n(2), t(2), 'Accepted', 'QEAccepted'), p(NIGHTLY, n(3), t(3), 'Accepted', 'QERejected'), p(NIGHTLY, n(4), t(4), 'Accepted', 'QERunning'), p(NIGHTLY, n(5), t(5), 'Ready', 'QEAccepted')],
    want: { fromTag: n(2), name: '4.16.1' },
  },
  {
    name: 'QE accepted only while CI Accepted (DESIGN §14): a newer QE-accepted payload overridden to Rejected, or still Ready, is no candidate',
    config: qeConfig,
    stable: [p('4-stable', '4.16.0', t(1))],
    own: [p(NIGHTLY, n(2), t(2), 'Accepted', 'QEAccepted'), p(NIGHTLY, n(3), t(3), 'Rejected', 'QEAccepted'), p(NIGHTLY, n(4), t(4), 'Ready', 'QEAccepted'), p(NIGHTLY, n(5), t(5), 'Failed', 'QEAccepted')],
    want: { fromTag: n(2), name: '4.16.1' },
  },
  {
    name: 'stream with QE jobs and only a Rejected QE-accepted payload → null',
    config: qeConfig,
    stable: [p('4-stable', '4.16.0', t(1))],
    own: [p(NIGHTLY, n(2), t(2), 'Rejected', 'QEAccepted')],
    want: null,
  },
  {
    name: 'stream with QE jobs and no QE-accepted payload → null',
    config: qeConfig,
    stable: [p('4-stable', '4.16.0', t(1))],
    own: [p(NIGHTLY, n(2), t(2), 'Accepted', 'QERejected')],
    want: null,
  },
  {
    name: 'upgradeFrom: sources above 80 % of finished runs, sorted; pending runs do not count (quirk fixed)',
    stable: [p('4-stable', '4.16.0', t(1))],
    own: [p(NIGHTLY, n(2), t(2))],
    upgrades: [
      up('4.15.9', n(2), 'Succeeded', 1), up('4.15.9', n(2), 'Pending', 2),
      up('4.15.10', n(2), 'Succeeded', 3),
      up('4.15.8', n(2), 'Succeeded', 4), up('4.15.8', n(2), 'Failed', 5),
      up('4.15.7', n(2), 'Pending', 6),
    ],
    want: { fromTag: n(2), name: '4.16.1', upgradeFrom: ['4.15.10', '4.15.9'] },
  },
];

for (const r of rows) {
  test(`findCandidate: ${r.name}`, () => {
    const v = view([rec(NIGHTLY, r.config ?? plainConfig), rec('4-stable', stableConfig), ...(r.extra ?? [])], [...r.stable, ...r.own, ...(r.extraPayloads ?? [])], r.upgrades ?? []);
    assert.deepEqual(findCandidate(v, NIGHTLY), r.want);
  });
}

test('findCandidate: unknown stream or a name that is not a version → null', () => {
  const v = view([rec('nightly', ReleaseConfigSchema.parse({ name: 'nightly' })), rec('4-stable', stableConfig)], [p('4-stable', '4.16.0', t(1)), p('nightly', 'nightly-1', t(2))]);
  assert.equal(findCandidate(v, 'nope'), null);
  assert.equal(findCandidate(v, 'nightly'), null);
});

test('nextVersion: promotion time is the origin tag’s creation time', () => {
  const v = view([rec(NIGHTLY, plainConfig), rec('4-stable', stableConfig)], [p('4-stable', '4.16.5', t(9), 'Accepted', '', { [AnnotationFromTag]: n(3) }), p(NIGHTLY, n(3), t(3))]);
  assert.deepEqual(nextVersion(v, NIGHTLY), { name: '4.16.6', promotedAt: t(3) });
});

test('goodUpgradeSources: exactly 80 % is not enough', () => {
  const rs = [...[1, 2, 3, 4].map((i) => up('4.15.1', 'x', 'Succeeded', i)), up('4.15.1', 'x', 'Failed', 5)];
  assert.deepEqual(goodUpgradeSources(rs), []);
  assert.deepEqual(goodUpgradeSources([...rs, up('4.15.1', 'x', 'Succeeded', 6)]), ['4.15.1']);
});
