// Table tests for the payload lifecycle rules (upstream-behavior.md §3.4, §3.7; DESIGN.md §5 and
// §13 items 3 and 4): creation gates, several Pending payloads, garbage selection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReleaseConfigSchema, type ReleaseConfig } from '../../src/domain/config/schema.ts';
import { decideCreation, inputHash, nextExpiryMs, pendingToAbort, selectGarbage } from '../../src/domain/lifecycle.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import { AnnotationKeep, type InputTag, type Payload, type Phase } from '../../src/domain/types.ts';

const STREAM = '4.16.0-0.nightly';
const NOW = new Date('2024-06-01T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A payload created `ageH` hours before NOW (its tag name follows from the time). */
function payload(ageH: number, phase: Phase, o: { hash?: string; keep?: boolean; createdAt?: string } = {}): Payload {
  const at = NOW.getTime() - ageH * HOUR;
  const d = new Date(at);
  const pad = (n: number) => String(n).padStart(2, '0');
  const tag = `${STREAM}-${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}-${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
  return {
    stream: STREAM,
    tag,
    phase,
    createdAt: o.createdAt ?? iso(at),
    inputHash: o.hash ?? `sha256:${tag}`,
    pullSpec: `registry.local/release:${tag}`,
    digest: '',
    components: {},
    reason: '',
    message: '',
    annotations: o.keep ? { [AnnotationKeep]: 'pinned' } : {},
    override: null,
    qe: emptyQEStatus(),
    phaseChangedAt: iso(at),
  };
}

const cfg = (o: Record<string, unknown> = {}): ReleaseConfig => ReleaseConfigSchema.parse({ name: STREAM, to: 'release', ...o });

// ---------------------------------------------------------------- inputHash

const tag = (component: string, pullSpec: string): InputTag => ({ input: 'in', component, pullSpec, labels: {}, updatedAt: '' });

test('inputHash: empty input → "" (nothing to build)', () => {
  assert.equal(inputHash([]), '');
});

test('inputHash: order-independent, changes with any pull spec', () => {
  const a = inputHash([tag('cli', 'q/cli@sha256:1'), tag('installer', 'q/inst@sha256:2')]);
  const b = inputHash([tag('installer', 'q/inst@sha256:2'), tag('cli', 'q/cli@sha256:1')]);
  const c = inputHash([tag('cli', 'q/cli@sha256:1'), tag('installer', 'q/inst@sha256:3')]);
  assert.match(a, /^sha256:[0-9a-f]{64}$/);
  assert.equal(a, b);
  assert.notEqual(a, c);
});

// ---------------------------------------------------------------- decideCreation

interface CreationRow {
  name: string;
  config?: Record<string, unknown>;
  /** newest first */
  payloads: Payload[];
  hash: string;
  expected: { create: boolean; blockedBy?: string | RegExp; retryAfterMs?: number | null };
}

const creationRows: CreationRow[] = [
  { name: 'no components → nothing to create', payloads: [], hash: '', expected: { create: false, blockedBy: 'input stream has no components', retryAfterMs: null } },
  { name: 'first payload of a stream', payloads: [], hash: 'sha256:new', expected: { create: true, blockedBy: '', retryAfterMs: null } },
  { name: 'new hash after an Accepted payload', payloads: [payload(5, 'Accepted', { hash: 'sha256:old' })], hash: 'sha256:new', expected: { create: true } },
  {
    name: 'same hash as the newest → no new images',
    payloads: [payload(1, 'Accepted', { hash: 'sha256:same' })],
    hash: 'sha256:same',
    expected: { create: false, blockedBy: 'no new images' },
  },
  {
    name: 'same hash anywhere (an older Rejected payload) → no new images',
    payloads: [payload(1, 'Accepted', { hash: 'sha256:b' }), payload(3, 'Failed', { hash: 'sha256:c' }), payload(9, 'Rejected', { hash: 'sha256:a' })],
    hash: 'sha256:a',
    expected: { create: false, blockedBy: 'no new images' },
  },
  {
    name: 'keep tag with the same hash does not count as same images (upstream §3.4 note)',
    payloads: [payload(1, 'Accepted', { hash: 'sha256:same', keep: true }), payload(2, 'Accepted', { hash: 'sha256:old' })],
    hash: 'sha256:same',
    expected: { create: true },
  },
  {
    name: 'a pending payload blocks creation',
    payloads: [payload(1, 'Pending'), payload(2, 'Accepted')],
    hash: 'sha256:new',
    expected: { create: false, blockedBy: 'a payload is pending' },
  },
  {
    name: 'an older pending payload blocks too',
    payloads: [payload(1, 'Accepted'), payload(2, 'Pending')],
    hash: 'sha256:new',
    expected: { create: false, blockedBy: 'a payload is pending' },
  },
  {
    name: 'a kept pending payload does not block',
    payloads: [payload(1, 'Pending', { keep: true }), payload(2, 'Accepted')],
    hash: 'sha256:new',
    expected: { create: true },
  },
  {
    name: 'maxUnreadyReleases 1: one Ready blocks',
    config: { maxUnreadyReleases: 1 },
    payloads: [payload(1, 'Ready')],
    hash: 'sha256:new',
    expected: { create: false, blockedBy: 'no more than 1 pending' },
  },
  {
    name: 'maxUnreadyReleases 2: one Ready allows',
    config: { maxUnreadyReleases: 2 },
    payloads: [payload(1, 'Ready'), payload(2, 'Accepted')],
    hash: 'sha256:new',
    expected: { create: true },
  },
  {
    name: 'maxUnreadyReleases 2: two Ready block',
    config: { maxUnreadyReleases: 2 },
    payloads: [payload(1, 'Ready'), payload(2, 'Accepted'), payload(3, 'Ready')],
    hash: 'sha256:new',
    expected: { create: false, blockedBy: 'no more than 2 pending' },
  },
  {
    name: 'maxUnreadyReleases counts only Pending/Ready: Accepted, Rejected, Failed do not count',
    config: { maxUnreadyReleases: 1 },
    payloads: [payload(1, 'Rejected'), payload(2, 'Failed'), payload(3, 'Accepted')],
    hash: 'sha256:new',
    expected: { create: true },
  },
  {
    name: 'maxUnreadyReleases: a kept Ready payload is excluded',
    config: { maxUnreadyReleases: 1 },
    payloads: [payload(1, 'Ready', { keep: true }), payload(2, 'Accepted')],
    hash: 'sha256:new',
    expected: { create: true },
  },
  {
    name: 'maxUnreadyReleases 0 means no limit',
    config: { maxUnreadyReleases: 0 },
    payloads: [payload(1, 'Ready'), payload(2, 'Ready'), payload(3, 'Ready')],
    hash: 'sha256:new',
    expected: { create: true },
  },
  {
    name: 'minCreationIntervalSeconds not yet passed → blocked with the remaining wait',
    config: { minCreationIntervalSeconds: 4 * 3600 },
    payloads: [payload(1, 'Accepted')],
    hash: 'sha256:new',
    expected: { create: false, blockedBy: 'waiting for 10800s', retryAfterMs: 3 * HOUR },
  },
  {
    name: 'minCreationIntervalSeconds exactly passed → create',
    config: { minCreationIntervalSeconds: 3600 },
    payloads: [payload(1, 'Accepted')],
    hash: 'sha256:new',
    expected: { create: true },
  },
  {
    name: 'minCreationIntervalSeconds measured from the newest non-kept payload',
    config: { minCreationIntervalSeconds: 3600 },
    payloads: [payload(0.1, 'Accepted', { keep: true }), payload(2, 'Accepted')],
    hash: 'sha256:new',
    expected: { create: true },
  },
  {
    name: 'minCreationIntervalSeconds: the newest payload is a Failed one',
    config: { minCreationIntervalSeconds: 3600 },
    payloads: [payload(0.5, 'Failed'), payload(5, 'Accepted')],
    hash: 'sha256:new',
    expected: { create: false, retryAfterMs: HOUR / 2 },
  },
  {
    name: 'minCreationIntervalSeconds: an unparseable timestamp disables the gate',
    config: { minCreationIntervalSeconds: 3600 },
    payloads: [payload(0.5, 'Accepted', { createdAt: 'yesterday' })],
    hash: 'sha256:new',
    expected: { create: true },
  },
  {
    name: 'no new images is checked before the interval',
    config: { minCreationIntervalSeconds: 3600 },
    payloads: [payload(0.5, 'Accepted', { hash: 'sha256:same' })],
    hash: 'sha256:same',
    expected: { create: false, blockedBy: 'no new images', retryAfterMs: null },
  },
];

for (const row of creationRows) {
  test(`decideCreation: ${row.name}`, () => {
    const d = decideCreation(cfg(row.config), row.payloads, row.hash, NOW);
    assert.equal(d.create, row.expected.create);
    if (typeof row.expected.blockedBy === 'string') assert.equal(d.blockedBy, row.expected.blockedBy);
    if (row.expected.blockedBy instanceof RegExp) assert.match(d.blockedBy, row.expected.blockedBy);
    if (row.expected.retryAfterMs !== undefined) assert.equal(d.retryAfterMs, row.expected.retryAfterMs);
  });
}

// ---------------------------------------------------------------- pendingToAbort

const P = {
  newest: payload(1, 'Pending'),
  middle: payload(2, 'Pending'),
  oldest: payload(3, 'Pending'),
  accepted: payload(4, 'Accepted'),
  kept: payload(0.5, 'Pending', { keep: true }),
};

const abortRows: { name: string; payloads: Payload[]; expected: Payload[] }[] = [
  { name: 'none pending', payloads: [P.accepted], expected: [] },
  { name: 'one pending survives', payloads: [P.newest, P.accepted], expected: [] },
  { name: 'two pending: the newest survives (DESIGN §13 item 4)', payloads: [P.newest, P.middle, P.accepted], expected: [P.middle] },
  { name: 'three pending: all but the newest', payloads: [P.newest, P.middle, P.oldest], expected: [P.middle, P.oldest] },
  { name: 'a kept pending payload is neither aborted nor the survivor', payloads: [P.kept, P.newest, P.middle], expected: [P.middle] },
];

for (const row of abortRows) {
  test(`pendingToAbort: ${row.name}`, () => {
    assert.deepEqual(pendingToAbort(row.payloads).map((p) => p.tag), row.expected.map((p) => p.tag));
  });
}

// ---------------------------------------------------------------- selectGarbage

/** builds a newest-first list from a compact spec: one letter per payload, newest first */
function series(spec: string, o: { expiresAgeStart?: number; keepAt?: number[] } = {}): Payload[] {
  const phases: Record<string, Phase> = { A: 'Accepted', R: 'Rejected', F: 'Failed', P: 'Pending', Y: 'Ready' };
  return [...spec].map((c, i) => payload(i + 1, phases[c], { keep: o.keepAt?.includes(i) }));
}

interface GarbageRow {
  name: string;
  config?: Record<string, unknown>;
  payloads: Payload[];
  /** indexes (newest first) of the payloads removed */
  expected: number[];
  now?: Date;
}

const garbageRows: GarbageRow[] = [
  { name: 'nothing to remove', payloads: series('AFRA'), expected: [] },
  {
    name: 'quirk: Failed/Rejected older than the OLDEST Accepted go, not those older than the newest (DESIGN §13 item 3)',
    // A F R A F R: only the last F and R are older than the oldest Accepted (index 3)
    payloads: series('AFRAFR'),
    expected: [4, 5],
  },
  {
    name: 'quirk: Failed between the newest and the oldest Accepted are kept',
    payloads: series('AFFFA'),
    expected: [],
  },
  {
    name: 'no Accepted: everything older stays, only the 5-newest rule applies',
    payloads: series('FFFFFFF'),
    expected: [5, 6],
  },
  {
    name: 'keep the 5 newest Failed (newer than any Accepted)',
    payloads: series('FFFFFFFA'),
    expected: [5, 6],
  },
  {
    name: 'keep the 5 newest Rejected (newer than any Accepted)',
    payloads: series('RRRRRRRRA'),
    expected: [5, 6, 7],
  },
  {
    name: 'Failed and Rejected counted separately',
    payloads: series('FRFRFRFRFRFR'),
    expected: [10, 11],
  },
  {
    name: 'Pending and Ready never go, however old',
    payloads: series('APYFRPY'),
    expected: [3, 4],
  },
  {
    name: 'kept Failed payloads never go and do not count towards the 5',
    payloads: series('AFFFFFFFA', { keepAt: [1, 2] }),
    expected: [],
  },
  {
    name: 'a kept Accepted payload does not count as the oldest Accepted',
    // A F A(keep) F: the oldest counted Accepted is the newest one, so both Failed are older
    payloads: series('AFAF', { keepAt: [2] }),
    expected: [1, 3],
  },
  {
    name: 'kept payloads older than the oldest Accepted stay',
    payloads: series('AFR', { keepAt: [1, 2] }),
    expected: [],
  },
  {
    name: 'Accepted: no expires → all kept',
    payloads: series('AAAAAAAA'),
    expected: [],
  },
  {
    name: 'Accepted beyond the newest 5 past expires go (payload i is i+1 hours old, expires 6h)',
    config: { expires: '6h' },
    payloads: series('AAAAAAAAA'),
    expected: [6, 7, 8],
  },
  {
    name: 'Accepted within the newest 5 stay even when expired',
    config: { expires: '1h' },
    payloads: series('AAAAA'),
    expected: [],
  },
  {
    name: 'Accepted: invalid expires keeps all',
    config: { expires: '14d' },
    payloads: series('AAAAAAAA'),
    expected: [],
  },
  {
    name: 'expired Accepted plus Failed older than the oldest Accepted',
    config: { expires: '1h' },
    payloads: series('AAAAAAFA'),
    expected: [5, 7],
  },
  { name: 'empty stream', payloads: [], expected: [] },
];

for (const row of garbageRows) {
  test(`selectGarbage: ${row.name}`, () => {
    const removed = new Set(selectGarbage(cfg(row.config), row.payloads, row.now ?? NOW).map((p) => p.tag));
    const got = row.payloads.map((p, i) => (removed.has(p.tag) ? i : -1)).filter((i) => i >= 0);
    assert.deepEqual(got, row.expected);
    assert.equal(removed.size, row.expected.length, 'no payload selected twice');
  });
}

test('selectGarbage: realistic 4.16 nightly retention (expires 336h)', () => {
  // one payload every 3 hours over 30 days; every 4th Accepted, the rest alternately Rejected/Failed
  const list: Payload[] = [];
  for (let i = 0; i < 240; i++) list.push(payload(3 * (i + 1), i % 4 === 0 ? 'Accepted' : i % 2 ? 'Rejected' : 'Failed'));
  const removed = selectGarbage(cfg({ expires: '336h' }), list, NOW);
  const kept = list.filter((p) => !removed.includes(p));
  assert.equal(kept.filter((p) => p.phase === 'Failed').length, 5);
  assert.equal(kept.filter((p) => p.phase === 'Rejected').length, 5);
  const acc = kept.filter((p) => p.phase === 'Accepted');
  // 5 newest always; beyond them, only those younger than 14 days
  assert.ok(acc.slice(5).every((p) => NOW.getTime() - Date.parse(p.createdAt) <= 14 * DAY));
  assert.equal(acc.length, Math.floor((14 * 24) / 12));
});

// ---------------------------------------------------------------- when garbage collection is next due

const expiryRows: { name: string; expires?: string; ages: number[]; expected: number | null }[] = [
  { name: 'no expires: never', ages: [1, 2, 3, 4, 5, 6, 7], expected: null },
  { name: 'five Accepted: none beyond the newest five', expires: '72h', ages: [1, 2, 3, 4, 5], expected: null },
  { name: 'the sixth expires in 2h (+1 s slack)', expires: '72h', ages: [1, 2, 3, 4, 5, 70], expected: 2 * HOUR + 1000 },
  { name: 'already expired ones are garbage now, not a future wake', expires: '72h', ages: [1, 2, 3, 4, 5, 80], expected: null },
];

for (const row of expiryRows) {
  test(`nextExpiryMs: ${row.name}`, () => {
    const ps = row.ages.map((h) => payload(h, 'Accepted'));
    assert.equal(nextExpiryMs(cfg(row.expires ? { expires: row.expires } : {}), ps, NOW), row.expected);
  });
}
