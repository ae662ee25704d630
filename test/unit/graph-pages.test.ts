// The upgrade lanes algorithm (src/http/pages/upgrades.ts), untested upgrades, and the candidates
// page/JSON (src/http/pages/candidates.ts): upstream's `items` null vs [] and escaping of
// user-controlled names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { State } from '../../src/controller/state.ts';
import { AnnotationFromTag } from '../../src/domain/candidate.ts';
import { ReleaseConfigSchema } from '../../src/domain/config/schema.ts';
import { AnnotationPrevious } from '../../src/domain/graph.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { Payload, StreamRecord, UpgradeResult } from '../../src/domain/types.ts';
import { candidatesJson, renderCandidatesPage } from '../../src/http/pages/candidates.ts';
import { declaredSourcesOnly, untestedUpgrades, upgradeLanes, upgradesCells } from '../../src/http/pages/upgrades.ts';

const rec = (name: string, extra: Record<string, unknown> = {}): StreamRecord => ({ name, config: ReleaseConfigSchema.parse({ name, ...extra }), sourceFile: '', input: name, errors: [], warnings: [], locked: false });
const p = (stream: string, tag: string, createdAt: string, annotations: Record<string, string> = {}): Payload => ({
  stream, tag, phase: 'Accepted', createdAt, inputHash: '', pullSpec: `r:${tag}`, digest: '', components: {}, reason: '', message: '', annotations, override: null, qe: emptyQEStatus(), phaseChangedAt: createdAt,
});
let i = 0;
const up = (from: string, to: string, state: UpgradeResult['state']): UpgradeResult => ({ from, to, state, url: `u${++i}`, runId: `r${i}` });
const S = '4.16.0-0.nightly';
const t = (d: number) => `${S}-2024-05-0${d}-000000`;

/** Each row as lane glyphs: B begin, | passes, E end, X begin+end, . empty; then external sources. */
function picture(tags: string[], upgrades: UpgradeResult[]): string[] {
  const v = State.fromSnapshot({ streams: [rec(S)], inputTags: [], jobRuns: [], published: [], upgrades, payloads: tags.map((x, k) => p(S, x, `2024-05-0${9 - k}T00:00:00Z`)) });
  const l = upgradeLanes(v, S, tags);
  return l.rows.map((r) => `${r.lanes.map((c) => (c.begin && c.end ? 'X' : c.begin ? 'B' : c.current ? '|' : c.end ? 'E' : '.')).join('')}${r.external.length ? ` ext ${r.external.map((e) => e.From).join(',')}` : ''}`);
}

const laneRows: { name: string; upgrades: UpgradeResult[]; want: string[] }[] = [
  { name: 'no upgrades → no lanes', upgrades: [], want: ['', '', '', ''] },
  { name: 'one edge spans the rows between its ends', upgrades: [up(t(1), t(4), 'Succeeded')], want: ['B', '|', '|', 'E'] },
  {
    name: 'a lane that ended is reused by an edge of the same colour in that row',
    upgrades: [up(t(3), t(4), 'Succeeded'), up(t(1), t(3), 'Succeeded')],
    want: ['B', 'X', '|', 'E'],
  },
  {
    name: 'upstream: a lane that just ended is not reused by an edge of another colour in the same row',
    upgrades: [up(t(3), t(4), 'Succeeded'), up(t(1), t(3), 'Failed')],
    want: ['B', 'EB', '.|', '.E'],
  },
  {
    name: 'sources outside the page: newest version first; tags named like the stream’s own (pruned) are left out',
    upgrades: [up('4.15.3', t(4), 'Succeeded'), up('4.15.10', t(4), 'Failed'), up(`${S}-2024-04-01-000000`, t(4), 'Succeeded')],
    want: [' ext 4.15.10,4.15.3', '', '', ''],
  },
];
for (const r of laneRows) {
  test(`upgradeLanes: ${r.name}`, () => assert.deepEqual(picture([t(4), t(3), t(2), t(1)], r.upgrades), r.want));
}

test('upgradesCells: the cells of a row pad to the width and escape source names', () => {
  const evil = `<b>x</b>`;
  const v = State.fromSnapshot({ streams: [rec(S)], inputTags: [], jobRuns: [], published: [], upgrades: [up(t(1), t(2), 'Failed'), up(evil, t(1), 'Succeeded')], payloads: [p(S, t(2), '2024-05-02T00:00:00Z'), p(S, t(1), '2024-05-01T00:00:00Z')] });
  const l = upgradeLanes(v, S, [t(2), t(1)]);
  assert.equal(l.width, 1);
  const cells = upgradesCells(l, 1).value;
  assert.ok(cells.includes('&lt;b&gt;x&lt;/b&gt;') && !cells.includes('<b>'), cells);
  assert.ok(cells.includes('lane-fail'));
});

test('untestedUpgrades / declaredSourcesOnly: declared previous versions without a run; listing limited to declared sources', () => {
  const rel = p('4-stable', '4.16.2', '2024-05-09T00:00:00Z', { [AnnotationPrevious]: '4.16.1, 4.15.9,4.16.1,4.16.0' });
  assert.deepEqual(untestedUpgrades(rel, [{ From: '4.16.1' }, { From: 'other' }]), ['4.16.0', '4.15.9']);
  assert.deepEqual(declaredSourcesOnly(rel, [{ From: '4.16.1' }, { From: 'other' }]), [{ From: '4.16.1' }]);
  const none = p('4-stable', '4.16.3', '2024-05-09T00:00:00Z');
  assert.deepEqual(untestedUpgrades(none, [{ From: 'x' }]), []);
  assert.deepEqual(declaredSourcesOnly(none, [{ From: 'x' }]), [{ From: 'x' }]);
});

test('candidatesJson: items null without a next version, [] when none qualifies, items in upstream field order otherwise; no trailing newline', () => {
  const streams = [rec(S), rec('4-stable', { as: 'Stable' })];
  const snap = (payloads: Payload[]) => State.fromSnapshot({ streams, inputTags: [], jobRuns: [], published: [], upgrades: [], payloads });
  assert.equal(candidatesJson(snap([p(S, t(1), '2024-05-01T00:00:00Z')]), S), `{\n  "${S}": {\n    "items": null\n  }\n}`);
  const promoted = p('4-stable', '4.16.1', '2024-05-05T00:00:00Z', { [AnnotationFromTag]: t(2) });
  assert.deepEqual(JSON.parse(candidatesJson(snap([promoted, p(S, t(2), '2024-05-02T00:00:00Z')]), S)), { [S]: { items: [] } });
  const body = JSON.parse(candidatesJson(snap([promoted, p(S, t(2), '2024-05-02T00:00:00Z'), p(S, t(3), '2024-05-03T00:00:00Z')]), S));
  const item = body[S].items[0];
  assert.deepEqual(Object.keys(item), ['fromTag', 'name', 'creationTime', 'tag']);
  assert.deepEqual([item.fromTag, item.name, item.creationTime], [t(3), '4.16.2', '2024-05-03T00:00:00Z']);
  assert.deepEqual(Object.keys(item.tag), ['name', 'annotations', 'from', 'generation', 'importPolicy', 'referencePolicy']);
  assert.deepEqual(item.tag.from, { kind: 'DockerImage', name: `r:${t(3)}` });
});

test('renderCandidatesPage: hostile stream names stay text; "next release" heading without candidates', () => {
  const evil = `4.16.0-0.nightly<script>alert(1)</script>`;
  const v = State.fromSnapshot({ streams: [rec(evil), rec('4-stable', { as: 'Stable' })], inputTags: [], jobRuns: [], published: [], upgrades: [], payloads: [] });
  const html = renderCandidatesPage(v, rec(evil));
  assert.ok(!html.includes('<script>alert'), 'escaped');
  assert.ok(html.includes('Release Candidates for next release'));
});
