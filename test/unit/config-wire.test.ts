// /config wire shape (upstream-behavior.md §6.8, §1.2–§1.10, upstream's types.go): every field of
// upstream's structs with its zero value except those Go tags `omitempty` (left out when zero), in
// declaration order, maps sorted, expires in ns — checked on every real stream
// config in test/fixtures (each parsed as the loader parses it) and on table rows for the subsets.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ReleaseConfigSchema, type ReleaseConfig } from '../../src/domain/config/schema.ts';
import { configBody, configWire, expiresNanos, periodicWire, verificationWire } from '../../src/domain/config/wire.ts';

const RELEASE_KEYS = [
  'name', 'message', 'hide', 'endOfLife', 'as', 'to', 'maxUnreadyReleases', 'minCreationIntervalSeconds', 'referenceMode', 'pullSecretName',
  'mirrorPrefix', 'overrideCLIImage', 'expires', 'verify', 'periodic', 'publish', 'check', 'upgrade', 'alternateImageRepository',
  'alternateImageRepositorySecretName', 'referenceRelease', 'disableManifestListMode',
];
const VERIFY_KEYS = ['disabled', 'optional', 'async', 'upgrade', 'upgradeFrom', 'upgradeFromRelease', 'prowJob', 'maxRetries', 'aggregatedProwJob', 'multiJobAnalysis', 'qualifiers'];
const PERIODIC_KEYS = ['interval', 'cron', 'upgrade', 'upgradeFrom', 'upgradeFromRelease', 'prowJob'];
const PUBLISH_KEYS = ['disabled', 'tagRef', 'imageStreamRef', 'verifyIssues'];
/** upstream's `omitempty` fields: present only when the config sets them to a non-zero value */
const isSet = (v: unknown) => v !== undefined && v !== null && v !== false && v !== 0 && v !== '' && !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
const OMIT_EMPTY: Record<string, string[]> = { verify: ['async', 'maxRetries', 'qualifiers'], periodic: ['interval', 'cron'], publish: [] };
function expectedKeys(map: 'verify' | 'periodic' | 'publish', keys: readonly string[], raw: Record<string, unknown>): string[] {
  return keys.filter((k) => {
    // a nil pointer is omitted; a present aggregatedProwJob stays (even with empty members)
    if (map === 'verify' && k === 'aggregatedProwJob') return raw.aggregatedProwJob !== undefined && raw.aggregatedProwJob !== null;
    return !OMIT_EMPTY[map].includes(k) || isSet(raw[k]);
  });
}

const DIR = 'test/fixtures/openshift-release/releases';
const fixtures = readdirSync(DIR).filter((f) => f.endsWith('.json'));
const parse = (raw: unknown): ReleaseConfig => ReleaseConfigSchema.parse(raw);
const sorted = (o: object) => [...Object.keys(o)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

for (const f of fixtures) {
  test(`config wire: ${f}: every upstream field, in order, maps sorted, values as configured`, () => {
    const raw = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as Record<string, unknown>;
    const w = configWire(parse(raw)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(w), RELEASE_KEYS, 'no fields of ours in a fixture: exactly upstream keys');
    assert.equal(w.name, raw.name);
    assert.equal(w.hide, raw.hide === true);
    assert.equal(w.maxUnreadyReleases, (raw.maxUnreadyReleases as number | undefined) ?? 0);
    assert.equal(w.expires, expiresNanos(raw.expires as string | undefined));
    for (const [map, keys] of [['verify', VERIFY_KEYS], ['periodic', PERIODIC_KEYS], ['publish', PUBLISH_KEYS]] as const) {
      if (raw[map] === undefined) {
        assert.equal(w[map], null, `${map}: a nil map is null`);
        continue;
      }
      const m = w[map] as Record<string, Record<string, unknown>>;
      assert.deepEqual(Object.keys(m), sorted(raw[map] as object), `${map}: keys sorted`);
      const rawMap = raw[map] as Record<string, Record<string, unknown>>;
      for (const [k, v] of Object.entries(m)) assert.deepEqual(Object.keys(v), expectedKeys(map, keys, rawMap[k]), `${map}.${k}: key order`);
    }
    for (const [k, v] of Object.entries((raw.verify ?? {}) as Record<string, Record<string, unknown>>)) {
      const ours = (w.verify as Record<string, Record<string, unknown>>)[k];
      assert.equal(ours.optional, v.optional === true, `verify.${k}.optional`);
      assert.equal(ours.maxRetries, isSet(v.maxRetries) ? v.maxRetries : undefined, `verify.${k}.maxRetries (omitempty)`);
      assert.deepEqual(ours.prowJob, v.prowJob ?? null, `verify.${k}.prowJob`);
      assert.equal(ours.upgradeFrom, (v.upgradeFrom as string | undefined) ?? '', `verify.${k}.upgradeFrom`);
    }
  });
}

test('config wire: zero values as Go encodes them (false, 0, "", null) for a minimal config', () => {
  const w = configWire(parse({ name: 'x', to: 'release', verify: { a: { prowJob: { name: 'j' } } } }));
  assert.deepEqual(w, {
    name: 'x', message: '', hide: false, endOfLife: false, as: '', to: 'release', maxUnreadyReleases: 0, minCreationIntervalSeconds: 0,
    referenceMode: '', pullSecretName: '', mirrorPrefix: '', overrideCLIImage: '', expires: 0,
    // async, maxRetries, aggregatedProwJob and qualifiers are omitempty upstream
    verify: { a: { disabled: false, optional: false, upgrade: false, upgradeFrom: '', upgradeFromRelease: null, prowJob: { name: 'j' }, multiJobAnalysis: false } },
    periodic: null, publish: null, check: null, upgrade: null, alternateImageRepository: '', alternateImageRepositorySecretName: '', referenceRelease: null, disableManifestListMode: false,
  });
});

test('config wire: nested structs get every field (upgradeFromRelease, aggregatedProwJob, imageStreamRef, check, referenceRelease)', () => {
  const c = parse({
    name: 'x', to: 'release', expires: '336h',
    verify: {
      up: { upgrade: true, upgradeFromRelease: { candidate: { stream: 'nightly', version: '4.15' } }, prowJob: { name: 'j' } },
      agg: { aggregatedProwJob: { analysisJobCount: 10 }, prowJob: { name: 'k' } },
    },
    publish: { mirror: { imageStreamRef: { name: '4.16' } } },
    check: { 'images match': { consistentImages: { parent: '4.16.0-0.ci' } } },
    referenceRelease: { pullRepository: 'quay.io/x/y' },
    // legacy field: upstream ignores it when parsing, so it never reaches the JSON
    analysis: { x: 1 },
  });
  const w = configWire(c) as Record<string, Record<string, unknown>>;
  assert.equal(w.expires as unknown, 336 * 3600 * 1e9);
  assert.ok(!('analysis' in w));
  const v = w.verify as Record<string, Record<string, unknown>>;
  // UpgradeRelease's members and candidate.relative are omitempty; so is aggregatedProwJob.prowJob
  assert.deepEqual(v.up.upgradeFromRelease, { candidate: { stream: 'nightly', version: '4.15' } });
  assert.deepEqual(v.agg.aggregatedProwJob, { analysisJobCount: 10 });
  assert.deepEqual(Object.keys(v.agg), ['disabled', 'optional', 'upgrade', 'upgradeFrom', 'upgradeFromRelease', 'prowJob', 'aggregatedProwJob', 'multiJobAnalysis']);
  assert.deepEqual(verificationWire(parse({ name: 'x', verify: { e: { aggregatedProwJob: {}, prowJob: { name: 'k' } } } }).verify!.e).aggregatedProwJob, {}, 'a present, empty aggregatedProwJob stays {}');
  assert.deepEqual((w.publish as Record<string, unknown>).mirror, { disabled: false, tagRef: null, imageStreamRef: { name: '4.16', namespace: '', tags: null, excludeTags: null }, verifyIssues: null });
  assert.deepEqual(w.check, { 'images match': { consistentImages: { parent: '4.16.0-0.ci' } } });
  assert.deepEqual(w.referenceRelease, { pushRepository: '', pullRepository: 'quay.io/x/y', secretName: '' });
});

test('config wire: our fields (verify qe, top-level qe and source, publish on) follow upstream fields, only when set', () => {
  const c = parse({ name: 'x', to: 'release', source: 'in', qe: { timeout: '12h' }, verify: { q: { qe: true, prowJob: { name: 'j' } } }, publish: { p: { on: 'QEAccepted', tagRef: { name: 't' } } } });
  const w = configWire(c) as Record<string, unknown>;
  assert.deepEqual(Object.keys(w), [...RELEASE_KEYS, 'qe', 'source']);
  assert.deepEqual(w.qe, { gate: '', timeout: '12h' });
  assert.deepEqual(Object.keys(verificationWire(c.verify!.q)), [...expectedKeys('verify', VERIFY_KEYS, {}), 'qe']);
  assert.deepEqual(Object.keys((w.publish as Record<string, object>).p), [...PUBLISH_KEYS, 'on']);
  assert.deepEqual(Object.keys(periodicWire({ cron: '@daily' })), PERIODIC_KEYS.filter((k) => k !== 'interval'));
});

test('config body by jobType: QE entries are neither blocking nor informing; jobType=qe lists them; {} without verify; undefined for unknown', () => {
  const c = parse({
    name: 'x', to: 'release',
    verify: {
      b: { prowJob: { name: 'b' } },
      i: { optional: true, prowJob: { name: 'i' } },
      q: { qe: true, prowJob: { name: 'q' } },
      qi: { qe: true, optional: true, prowJob: { name: 'qi' } },
      d: { disabled: true, prowJob: { name: 'd' } },
      qd: { qe: true, disabled: true, prowJob: { name: 'qd' } },
    },
  });
  const keys = (t: string) => Object.keys(configBody(c, t) as object);
  const rows: [string, string[]][] = [
    ['blocking', ['b', 'd']],
    ['informing', ['i']],
    ['qe', ['q', 'qd', 'qi']],
    ['disabled', ['d', 'qd']],
  ];
  for (const [t, want] of rows) assert.deepEqual(keys(t), want, `jobType=${t}`);
  assert.deepEqual((configBody(c, 'blocking') as Record<string, unknown>).b, verificationWire(c.verify!.b));
  assert.equal(configBody(c, 'periodic'), null, 'a nil periodic map is null, as Go encodes it');
  assert.equal(configBody(c, 'nonsense'), undefined);
  assert.deepEqual(configBody(parse({ name: 'y', to: 'release' }), ''), {});
  assert.deepEqual(configBody(parse({ name: 'y', to: 'release' }), 'nonsense'), {}, 'upstream quirk kept: no verify → {} whatever jobType');
});
