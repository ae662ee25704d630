// Table tests for the pure primitives of the domain: Go durations, tag and job naming, semantic
// versions and upstream's tag ordering, ranges, and the phase / QE constants of DESIGN.md §6.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DurationError, durationError, formatDuration, parseDuration } from '../../src/domain/duration.ts';
import { releaseTagName, rfc3339, runName, safeJobName } from '../../src/domain/tagname.ts';
import {
  compareTagsDescending,
  compareVersions,
  incrementVersion,
  parseRange,
  parseStrict,
  parseTolerant,
  RangeError_,
  sortTagNamesDescending,
} from '../../src/domain/version.ts';
import {
  AnnotationPhase,
  AnnotationQEPhase,
  AnnotationQEVerify,
  PHASES,
  PhaseAccepted,
  PhaseFailed,
  PhasePending,
  PhaseReady,
  PhaseRejected,
  QE_STATES,
  QEAccepted,
  QEPending,
  QERejected,
  QERunning,
  QESkipped,
} from '../../src/domain/types.ts';
import { QE_GATES } from '../../src/domain/config/schema.ts';

const H = 3_600_000;
const M = 60_000;
const S = 1000;

// ---------------------------------------------------------------- parseDuration

const parseRows: { name: string; input: string; expected: number }[] = [
  { name: 'hours (upstream expires)', input: '336h', expected: 336 * H },
  { name: 'hours and minutes', input: '1h30m', expected: 90 * M },
  { name: 'seconds', input: '90s', expected: 90 * S },
  { name: 'fractional hours', input: '1.5h', expected: 90 * M },
  { name: 'bare zero', input: '0', expected: 0 },
  { name: 'negative', input: '-2m', expected: -2 * M },
  { name: 'explicit plus', input: '+5m', expected: 5 * M },
  { name: 'milliseconds', input: '250ms', expected: 250 },
  { name: 'every unit at once', input: '1h1m1s1ms', expected: H + M + S + 1 },
  { name: 'leading dot fraction', input: '.5h', expected: 30 * M },
  { name: 'zero with a unit', input: '0s', expected: 0 },
];

for (const row of parseRows) {
  test(`parseDuration: ${row.name} (${JSON.stringify(row.input)})`, () => {
    assert.equal(parseDuration(row.input), row.expected);
    assert.equal(durationError(row.input), null);
  });
}

const parseErrorRows: { name: string; input: string; message: RegExp }[] = [
  { name: 'no day unit in Go', input: '1d', message: /unknown unit "d" in duration "1d"/ },
  { name: 'empty string', input: '', message: /invalid duration ""/ },
  { name: 'unit without a number', input: 'h', message: /invalid duration "h"/ },
  { name: 'number without a unit', input: '5', message: /missing unit in duration "5"/ },
  { name: 'a sign in the middle', input: '1h-3m', message: /invalid duration "1h-3m"/ },
  { name: 'words', input: 'two hours', message: /invalid duration/ },
];

for (const row of parseErrorRows) {
  test(`parseDuration error: ${row.name} (${JSON.stringify(row.input)})`, () => {
    assert.throws(() => parseDuration(row.input), (e: unknown) => e instanceof DurationError && row.message.test(e.message));
    assert.match(durationError(row.input) ?? '', row.message);
  });
}

// ---------------------------------------------------------------- formatDuration

const formatRows: { name: string; ms: number; expected: string }[] = [
  { name: 'zero is 0s as in Go', ms: 0, expected: '0s' },
  { name: '336h keeps the zero minutes and seconds', ms: 336 * H, expected: '336h0m0s' },
  { name: '1h30m', ms: 90 * M, expected: '1h30m0s' },
  { name: '90s becomes 1m30s', ms: 90 * S, expected: '1m30s' },
  { name: 'whole minutes keep 0s', ms: 4 * M, expected: '4m0s' },
  { name: 'seconds only', ms: 15 * S, expected: '15s' },
  { name: 'sub-second in ms', ms: 500, expected: '500ms' },
  { name: 'fractional seconds', ms: 1500, expected: '1.5s' },
  { name: 'negative', ms: -2 * M, expected: '-2m0s' },
];

for (const row of formatRows) {
  test(`formatDuration: ${row.name}`, () => {
    assert.equal(formatDuration(row.ms), row.expected);
  });
}

test('formatDuration → parseDuration round-trips', () => {
  for (const ms of [0, 336 * H, 90 * M, 90 * S, 4 * M, 1500, -2 * M]) assert.equal(parseDuration(formatDuration(ms)), ms);
});

// ---------------------------------------------------------------- releaseTagName / rfc3339

const tagNameRows: { name: string; stream: string; at: string; expected: string; rfc: string }[] = [
  { name: 'upstream example', stream: '4.16.0-0.nightly', at: '2024-05-01T12:34:56Z', expected: '4.16.0-0.nightly-2024-05-01-123456', rfc: '2024-05-01T12:34:56Z' },
  { name: 'zero padding of every field', stream: '4.16.0-0.nightly', at: '2024-01-02T03:04:05Z', expected: '4.16.0-0.nightly-2024-01-02-030405', rfc: '2024-01-02T03:04:05Z' },
  { name: 'truncated (not rounded) to whole seconds', stream: '4.16.0-0.ci', at: '2024-12-31T23:59:59.999Z', expected: '4.16.0-0.ci-2024-12-31-235959', rfc: '2024-12-31T23:59:59Z' },
  { name: 'UTC, not local time (offset input)', stream: '4.16.0-0.nightly-arm64', at: '2024-05-01T01:30:00+05:00', expected: '4.16.0-0.nightly-arm64-2024-04-30-203000', rfc: '2024-04-30T20:30:00Z' },
  { name: 'midnight', stream: 'okd-scos', at: '2025-03-09T00:00:00Z', expected: 'okd-scos-2025-03-09-000000', rfc: '2025-03-09T00:00:00Z' },
];

for (const row of tagNameRows) {
  test(`releaseTagName: ${row.name}`, () => {
    const at = new Date(row.at);
    assert.equal(releaseTagName(row.stream, at), row.expected);
    assert.equal(rfc3339(at), row.rfc);
  });
}

// ---------------------------------------------------------------- safeJobName / runName

const safeRows: { name: string; base: string; suffix: string; expected: string }[] = [
  {
    name: 'upstream: long aggregated name + aggregator',
    base: '4.11.0-0.nightly-2022-02-09-091559-aggregated-azure-ovn-upgrade-4.11-micro',
    suffix: 'aggregator',
    expected: '4.11.0-0.nightly-2022-02-09-091559-aggregate-b99pz22-aggregator',
  },
  {
    name: 'upstream: first analysis run of the same entry',
    base: '4.11.0-0.nightly-2022-02-09-091559-aggregated-azure-ovn-upgrade-4.11-micro',
    suffix: 'analysis-0',
    expected: '4.11.0-0.nightly-2022-02-09-091559-aggregate-b99pz22-analysis-0',
  },
  {
    name: 'upstream: short name unchanged',
    base: '4.19.0-0.nightly-2024-05-01-123456-e2e-aws-ovn',
    suffix: '',
    expected: '4.19.0-0.nightly-2024-05-01-123456-e2e-aws-ovn',
  },
  {
    name: 'upstream: long name, retry 2',
    base: '4.19.0-0.nightly-2024-05-01-123456-e2e-aws-ovn-serial-techpreview-upgrade',
    suffix: '2',
    expected: '4.19.0-0.nightly-2024-05-01-123456-e2e-aws-ovn-serial-c9p920b-2',
  },
  {
    name: 'suffix with its own dash is not doubled',
    base: '4.19.0-0.nightly-2024-05-01-123456-e2e-aws-ovn',
    suffix: '-2',
    expected: '4.19.0-0.nightly-2024-05-01-123456-e2e-aws-ovn-2',
  },
  {
    name: 'exactly 63 characters is kept',
    base: 'a'.repeat(61),
    suffix: '1',
    expected: 'a'.repeat(61) + '-1',
  },
];

for (const row of safeRows) {
  test(`safeJobName: ${row.name}`, () => {
    const got = safeJobName(row.base, row.suffix);
    assert.equal(got, row.expected);
    assert.ok(got.length <= 63, `${got} is ${got.length} characters`);
  });
}

test('safeJobName: 64 characters are shortened with the hash of the base', () => {
  const got = safeJobName('a'.repeat(62), '1');
  assert.equal(got.length, 63);
  assert.match(got, /^a+-[bcdfghijklmnpqrstvwxyz0-9]{7}-1$/);
});

const runNameRows: { name: string; tag: string; verify: string; attempt: number; extra?: string; expected: string }[] = [
  { name: 'first attempt has no suffix', tag: '4.19.0-0.nightly-2024-05-01-123456', verify: 'e2e-aws-ovn', attempt: 0, expected: '4.19.0-0.nightly-2024-05-01-123456-e2e-aws-ovn' },
  { name: 'retry n → -n', tag: '4.19.0-0.nightly-2024-05-01-123456', verify: 'e2e-aws-ovn', attempt: 1, expected: '4.19.0-0.nightly-2024-05-01-123456-e2e-aws-ovn-1' },
  { name: 'upstream retry 2, truncated', tag: '4.19.0-0.nightly-2024-05-01-123456', verify: 'e2e-aws-ovn-serial-techpreview-upgrade', attempt: 2, expected: '4.19.0-0.nightly-2024-05-01-123456-e2e-aws-ovn-serial-c9p920b-2' },
  { name: 'extra part before the attempt', tag: '4.19.0-0.nightly-2024-05-01-123456', verify: 'qe', attempt: 1, extra: 'rerun1', expected: '4.19.0-0.nightly-2024-05-01-123456-qe-rerun1-1' },
];

for (const row of runNameRows) {
  test(`runName: ${row.name}`, () => {
    assert.equal(runName(row.tag, row.verify, row.attempt, row.extra), row.expected);
  });
}

// ---------------------------------------------------------------- semantic versions

const tolerantRows: { name: string; input: string; expected: [number, number, number, (string | number)[]] | null }[] = [
  { name: 'plain', input: '4.16.3', expected: [4, 16, 3, []] },
  { name: 'v prefix', input: 'v4.16.3', expected: [4, 16, 3, []] },
  { name: 'surrounding spaces', input: '  4.16.3 ', expected: [4, 16, 3, []] },
  { name: 'major only is padded', input: '4', expected: [4, 0, 0, []] },
  { name: 'major.minor is padded', input: '4.16', expected: [4, 16, 0, []] },
  { name: 'v + padding', input: 'v4.16', expected: [4, 16, 0, []] },
  { name: 'nightly prerelease with numeric and text identifiers', input: '4.16.0-0.nightly-2024-05-01-123456', expected: [4, 16, 0, [0, 'nightly-2024-05-01-123456']] },
  { name: 'rc prerelease', input: '4.17.0-rc.1', expected: [4, 17, 0, ['rc', 1]] },
  { name: 'short form with a dash is refused (4-stable)', input: '4-stable', expected: null },
  { name: 'short form with build metadata is refused', input: '4.16+abc', expected: null },
  { name: 'not a version', input: 'next', expected: null },
  { name: 'leading zero numeric prerelease is invalid', input: '4.16.0-01', expected: null },
];

for (const row of tolerantRows) {
  test(`parseTolerant: ${row.name} (${JSON.stringify(row.input)})`, () => {
    const v = parseTolerant(row.input);
    if (row.expected === null) {
      assert.equal(v, null);
      return;
    }
    assert.ok(v, `${row.input} should parse`);
    assert.deepEqual([v.major, v.minor, v.patch, v.prerelease], row.expected);
  });
}

const strictRows: { name: string; input: string; ok: boolean }[] = [
  { name: 'full version', input: '4.16.3', ok: true },
  { name: 'with build metadata', input: '4.16.3+abc', ok: true },
  { name: 'no padding in strict mode', input: '4.16', ok: false },
  { name: 'no v prefix in strict mode', input: 'v4.16.3', ok: false },
  { name: 'leading zero in the core', input: '4.016.3', ok: false },
];

for (const row of strictRows) {
  test(`parseStrict: ${row.name}`, () => {
    assert.equal(parseStrict(row.input) !== null, row.ok);
  });
}

const compareRows: { name: string; a: string; b: string; sign: -1 | 0 | 1 }[] = [
  { name: 'release above its prerelease', a: '4.16.0', b: '4.16.0-rc.1', sign: 1 },
  { name: 'numeric prerelease identifiers compare numerically', a: '4.16.0-rc.10', b: '4.16.0-rc.9', sign: 1 },
  { name: 'numeric identifiers below text ones', a: '4.16.0-0', b: '4.16.0-ec', sign: -1 },
  { name: 'ec below rc (lexical)', a: '4.17.0-ec.2', b: '4.17.0-rc.0', sign: -1 },
  { name: 'longer prerelease above its prefix', a: '4.16.0-0.nightly', b: '4.16.0-0', sign: 1 },
  { name: 'build metadata ignored', a: '4.16.3+a', b: '4.16.3+b', sign: 0 },
  { name: 'patch numerically', a: '4.16.10', b: '4.16.9', sign: 1 },
];

for (const row of compareRows) {
  test(`compareVersions: ${row.name}`, () => {
    const c = compareVersions(parseStrict(row.a)!, parseStrict(row.b)!);
    assert.equal(Math.sign(c), row.sign);
  });
}

// ---------------------------------------------------------------- tag ordering (upstream §6.3)

const orderRows: { name: string; input: string[]; expected: string[] }[] = [
  {
    name: 'descending semver',
    input: ['4.16.3', '4.16.10', '4.15.22', '4.17.0'],
    expected: ['4.17.0', '4.16.10', '4.16.3', '4.15.22'],
  },
  {
    name: 'prereleases below their release, ec below rc',
    input: ['4.17.0-ec.2', '4.17.0', '4.17.0-rc.1', '4.17.0-rc.0'],
    expected: ['4.17.0', '4.17.0-rc.1', '4.17.0-rc.0', '4.17.0-ec.2'],
  },
  {
    name: 'nightly names order by their timestamp prerelease',
    input: ['4.16.0-0.nightly-2024-05-01-123456', '4.16.0-0.nightly-2024-05-03-000000', '4.16.0-0.nightly-2024-05-02-235959'],
    expected: ['4.16.0-0.nightly-2024-05-03-000000', '4.16.0-0.nightly-2024-05-02-235959', '4.16.0-0.nightly-2024-05-01-123456'],
  },
  {
    name: 'nightlies of a minor below its releases, above the previous minor',
    input: ['4.16.0-0.nightly-2024-05-01-123456', '4.16.0', '4.15.9'],
    expected: ['4.16.0', '4.16.0-0.nightly-2024-05-01-123456', '4.15.9'],
  },
  {
    name: 'unparseable names after parseable ones, by name descending',
    input: ['abc', '4.16.3', 'next', 'zzz', '4.15.0'],
    expected: ['4.16.3', '4.15.0', 'zzz', 'next', 'abc'],
  },
  {
    name: 'strict parse: a padded short name counts as unparseable',
    input: ['4.16', '4.1.0'],
    expected: ['4.1.0', '4.16'],
  },
  {
    name: 'ties (build metadata) by name descending',
    input: ['4.16.3+a', '4.16.3+c', '4.16.3+b'],
    expected: ['4.16.3+c', '4.16.3+b', '4.16.3+a'],
  },
  { name: 'empty', input: [], expected: [] },
];

for (const row of orderRows) {
  test(`tag order: ${row.name}`, () => {
    assert.deepEqual([...row.input].sort(compareTagsDescending), row.expected);
    assert.deepEqual(
      sortTagNamesDescending(row.input.map((n) => ({ n })), (x) => x.n).map((x) => x.n),
      row.expected,
    );
  });
}

// ---------------------------------------------------------------- parseRange (blang semantics)

const rangeRows: { name: string; range: string; matches: string[]; misses: string[] }[] = [
  {
    name: 'nightly prereleases inside a minor',
    range: '>4.15.0-0 <4.16.0-0',
    matches: ['4.15.0-0.nightly-2024-05-01-123456', '4.15.3', '4.15.0-rc.1'],
    misses: ['4.16.0-0.nightly-2024-05-01-123456', '4.16.0', '4.14.9', '4.15.0-0'],
  },
  {
    name: 'plain bounds still match prereleases (blang, unlike npm default)',
    range: '>=4.1.0 <4.2.0',
    // 4.2.0-0.nightly… precedes 4.2.0, so `<4.2.0` takes it: why real ranges say `<4.2.0-0`
    matches: ['4.1.0', '4.1.5-0.nightly-2019-06-01-000000', '4.1.99', '4.2.0-0.nightly-2019-06-01-000000'],
    misses: ['4.2.0', '4.0.9', '4.1.0-0.nightly-2019-06-01-000000'],
  },
  {
    name: 'or (||)',
    range: '>=4.1.0 <4.2.0 || >4.3.0',
    matches: ['4.1.3', '4.3.1', '5.0.0'],
    misses: ['4.2.5', '4.3.0'],
  },
  {
    name: 'unparseable names never match',
    range: '>4.0.0',
    matches: ['4.16.3'],
    misses: ['next', '4.16', 'v4.16.3'],
  },
];

for (const row of rangeRows) {
  test(`parseRange: ${row.name} (${row.range})`, () => {
    const match = parseRange(row.range);
    for (const v of row.matches) assert.equal(match(v), true, `${v} should match ${row.range}`);
    for (const v of row.misses) assert.equal(match(v), false, `${v} should not match ${row.range}`);
  });
}

for (const bad of ['', 'not a range', '>>4.1']) {
  test(`parseRange error: ${JSON.stringify(bad)}`, () => {
    assert.throws(() => parseRange(bad), RangeError_);
  });
}

// ---------------------------------------------------------------- incrementVersion

const incRows: { name: string; input: string; expected: string | null }[] = [
  { name: 'patch + 1', input: '4.1.3', expected: '4.1.4' },
  { name: 'rc number + 1', input: '4.2.0-rc.1', expected: '4.2.0-rc.2' },
  { name: 'ec number + 1', input: '4.17.0-ec.9', expected: '4.17.0-ec.10' },
  { name: 'last numeric identifier wins', input: '4.2.0-0.rc.3', expected: '4.2.0-0.rc.4' },
  { name: 'no numeric prerelease identifier', input: '4.2.0-rc', expected: null },
];

for (const row of incRows) {
  test(`incrementVersion: ${row.name}`, () => {
    assert.equal(incrementVersion(parseStrict(row.input)!), row.expected);
  });
}

// ---------------------------------------------------------------- constants (DESIGN §5, §6)

const constantRows: { name: string; got: unknown; expected: unknown }[] = [
  { name: 'phases', got: [...PHASES], expected: ['Pending', 'Ready', 'Accepted', 'Rejected', 'Failed'] },
  { name: 'phase constants', got: [PhasePending, PhaseReady, PhaseAccepted, PhaseRejected, PhaseFailed], expected: ['Pending', 'Ready', 'Accepted', 'Rejected', 'Failed'] },
  { name: 'QE states ("" = no QE jobs)', got: [...QE_STATES], expected: ['', 'QEPending', 'QERunning', 'QEAccepted', 'QERejected', 'QESkipped'] },
  { name: 'QE constants', got: [QEPending, QERunning, QEAccepted, QERejected, QESkipped], expected: ['QEPending', 'QERunning', 'QEAccepted', 'QERejected', 'QESkipped'] },
  { name: 'QE gates', got: [...QE_GATES], expected: ['InformingPassed', 'InformingCompleted', 'Accepted'] },
  { name: 'annotations', got: [AnnotationPhase, AnnotationQEPhase, AnnotationQEVerify], expected: ['release.openshift.io/phase', 'release.openshift.io/qe-phase', 'release.openshift.io/qe-verify'] },
];

for (const row of constantRows) {
  test(`constants: ${row.name}`, () => {
    assert.deepEqual(row.got, row.expected);
  });
}
