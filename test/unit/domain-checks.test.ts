// Console health facts (src/domain/checks.ts): consistentImages against the parent stream (with
// DESIGN §13 item 19's fix: a loaded parent is found), the dashboard's "no recently accepted
// payloads" rule, and per-component inconsistency messages. Table tests.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { componentInconsistencies, consistentImagesAlerts, noRecentlyAccepted } from '../../src/domain/checks.ts';
import { ReleaseConfigSchema } from '../../src/domain/config/schema.ts';
import type { InputTag, Payload, StreamRecord } from '../../src/domain/types.ts';

const rec = (name: string, input: string, raw: Record<string, unknown> = {}): StreamRecord => ({
  name, config: ReleaseConfigSchema.parse({ name, to: 'release', ...raw }), sourceFile: '', input, errors: [], warnings: [], locked: false,
});
const tag = (input: string, component: string, pullSpec: string, updatedAt: string): InputTag => ({ input, component, pullSpec, labels: {}, updatedAt });
const view = (streams: StreamRecord[], tags: InputTag[]) => ({
  stream: (n: string) => streams.find((s) => s.name === n),
  inputTags: (i: string) => tags.filter((t) => t.input === i),
});

const child = rec('4.16.0-0.nightly', 'ocp', { check: { 'OCP and Origin images should match': { consistentImages: { parent: '4.16.0-0.ci' } } } });
const parent = rec('4.16.0-0.ci', 'ci');
const T1 = '2024-05-01T00:00:00Z';
const T2 = '2024-05-02T00:00:00Z';

const rows: { name: string; streams: StreamRecord[]; tags: InputTag[]; want: string[][] }[] = [
  { name: 'same images → no alert', streams: [child, parent], tags: [tag('ocp', 'cli', 'a', T1), tag('ci', 'cli', 'a', T1)], want: [] },
  { name: 'downstream newer than the parent → no alert', streams: [child, parent], tags: [tag('ocp', 'cli', 'b', T2), tag('ci', 'cli', 'a', T1)], want: [] },
  {
    name: 'a component missing in the parent',
    streams: [child, parent],
    tags: [tag('ocp', 'cli', 'a', T1), tag('ocp', 'rhcos', 'r', T1), tag('ci', 'cli', 'a', T1)],
    want: [['Components not in the parent stream 4.16.0-0.ci (input ci): rhcos']],
  },
  {
    name: 'a component older than in the parent',
    streams: [child, parent],
    tags: [tag('ocp', 'cli', 'a', T1), tag('ocp', 'installer', 'i1', T1), tag('ci', 'cli', 'a', T1), tag('ci', 'installer', 'i2', T2)],
    want: [['Components older than in the parent stream 4.16.0-0.ci (input ci): installer']],
  },
  {
    name: 'quirk fixed (upstream §9 item 19): a loaded parent is never reported missing; an unloaded one is',
    streams: [child],
    tags: [tag('ocp', 'cli', 'a', T1)],
    want: [['The parent stream 4.16.0-0.ci could not be found.']],
  },
];

for (const row of rows) {
  test(`consistentImages: ${row.name}`, () => {
    const got = consistentImagesAlerts(view(row.streams, row.tags), row.streams[0]);
    assert.deepEqual(got.map((a) => a.problems), row.want);
    for (const a of got) assert.equal(a.check, 'OCP and Origin images should match');
  });
}

test('consistentImages: a stream without checks has no alerts', () => {
  assert.deepEqual(consistentImagesAlerts(view([parent], [tag('ci', 'cli', 'a', T1)]), parent), []);
});

const ph = (...phases: Payload['phase'][]) => phases.map((phase) => ({ phase }));
const failingRows: { name: string; max: number; phases: Pick<Payload, 'phase'>[]; want: boolean }[] = [
  { name: 'maxUnreadyReleases 0 → never failing', max: 0, phases: ph('Rejected', 'Rejected'), want: false },
  { name: 'newest is Accepted', max: 1, phases: ph('Accepted', 'Rejected'), want: false },
  { name: 'Ready payloads are skipped', max: 1, phases: ph('Ready', 'Ready', 'Accepted'), want: false },
  { name: 'one Rejected before the Accepted with max 1', max: 1, phases: ph('Rejected', 'Accepted'), want: true },
  { name: 'one Rejected before the Accepted with max 2', max: 2, phases: ph('Rejected', 'Accepted'), want: false },
  { name: 'Pending and Failed count as others', max: 2, phases: ph('Pending', 'Failed', 'Accepted'), want: true },
  { name: 'kept as upstream: no payloads at all → failing', max: 1, phases: [], want: true },
  { name: 'kept as upstream: only Ready payloads → failing', max: 1, phases: ph('Ready'), want: true },
];
for (const row of failingRows) {
  test(`no recently accepted payloads: ${row.name}`, () => {
    assert.equal(noRecentlyAccepted(ReleaseConfigSchema.parse({ name: 'x', maxUnreadyReleases: row.max }), row.phases), row.want);
  });
}

test('component inconsistencies: JSON arrays joined with "; ", plain strings kept, empty ignored, sorted', () => {
  const got = componentInconsistencies({
    components: {
      zeta: { pullSpec: 'z', labels: { 'release.openshift.io/inconsistency': 'plain <b>message</b>' } },
      alpha: { pullSpec: 'a', labels: { 'release.openshift.io/inconsistency': JSON.stringify(['one', 'two']) } },
      none: { pullSpec: 'n', labels: { 'release.openshift.io/inconsistency': ' ' } },
      bare: { pullSpec: 'b' },
    },
  });
  assert.deepEqual(got, [
    { component: 'alpha', pullSpec: 'a', message: 'one; two' },
    { component: 'zeta', pullSpec: 'z', message: 'plain <b>message</b>' },
  ]);
});
