// Release stream config validation: one table row per rule (upstream runtime rules, upstream
// offline rules, ours), unknown-field warnings, and the invalid-config fixture directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadConfigDir } from '../../src/domain/config/load.ts';
import { formatIssue, joinPath, validateConfig, type ConfigIssue } from '../../src/domain/config/validate.ts';

const INVALID_DIR = new URL('../fixtures/invalid-configs', import.meta.url).pathname;

type Obj = Record<string, unknown>;
const job = (name = 'periodic-ci-e2e-aws') => ({ prowJob: { name } });
/** A valid integration stream, with overrides merged in at the top level. */
const base = (over: Obj = {}): Obj => ({ name: '4.16.0-0.nightly', to: 'release', verify: { aws: job() }, ...over });
/** base() with one extra verify entry `e`. */
const withVerify = (entry: Obj, over: Obj = {}): Obj => base({ verify: { aws: job(), e: entry }, ...over });
const withPeriodic = (entry: Obj): Obj => base({ periodic: { p: entry } });
const lines = (issues: ConfigIssue[]) => issues.map((i) => `${i.path}: ${i.reason}`);

interface Row {
  name: string;
  raw: unknown;
  /** substring of one `path: reason` error */
  error?: string;
  /** substring of one `path: reason` warning */
  warning?: string;
}

const errorRows: Row[] = [
  // zod schema: wrong types
  { name: 'not an object', raw: [1, 2], error: '(root): a release configuration must be a JSON object, not an array' },
  { name: 'null document', raw: null, error: '(root): a release configuration must be a JSON object, not null' },
  { name: 'name of the wrong type', raw: base({ name: 42 }), error: 'name: must be a string, not number' },
  { name: 'maxRetries as a string', raw: withVerify({ ...job(), maxRetries: '2' }), error: 'verify.e.maxRetries: must be a number, not string' },
  { name: 'maxRetries not an integer', raw: withVerify({ ...job(), maxRetries: 1.5 }), error: 'verify.e.maxRetries: must be an integer, not float' },
  { name: 'verify entry null', raw: base({ verify: { e: null } }), error: 'verify.e: must be an object, not null' },
  { name: 'optional as a string', raw: withVerify({ ...job(), optional: 'true' }), error: 'verify.e.optional: must be a boolean, not string' },
  { name: 'imageStreamRef tags element', raw: base({ publish: { p: { imageStreamRef: { name: 'x', tags: ['a', 3] } } } }), error: 'publish.p.imageStreamRef.tags[1]: must be a string, not number' },
  { name: 'path quoting of keys with spaces', raw: base({ check: { 'images match': { consistentImages: { parent: 7 } } } }), error: 'check["images match"].consistentImages.parent: must be a string, not number' },
  // upstream runtime rules (ParseReleaseConfig)
  { name: 'name missing', raw: { to: 'release' }, error: 'name: is required' },
  { name: 'name empty', raw: base({ name: '' }), error: 'name: is required' },
  { name: 'name with a slash', raw: base({ name: '4.16/nightly' }), error: 'name: invalid stream name "4.16/nightly"' },
  { name: 'to missing (integration)', raw: { name: 'x' }, error: 'to: is required unless "as" is "Stable"' },
  { name: 'to empty', raw: base({ to: '' }), error: 'to: is required unless "as" is "Stable"' },
  { name: 'empty verify key', raw: base({ verify: { '': job() } }), error: 'verify[""]: verify names must not be empty' },
  { name: 'verify upgradeFrom PreviousMinus1', raw: withVerify({ ...job(), upgrade: true, upgradeFrom: 'PreviousMinus1' }), error: 'verify.e.upgradeFrom: invalid value "PreviousMinus1": must be one of Previous, PreviousMinor, PreviousPatch' },
  { name: 'verify upgradeFrom PreviousMicro', raw: withVerify({ ...job(), upgrade: true, upgradeFrom: 'PreviousMicro' }), error: 'verify.e.upgradeFrom: invalid value "PreviousMicro": must be one of Previous, PreviousMinor, PreviousPatch' },
  { name: 'verify prowJob with empty name', raw: withVerify({ prowJob: { name: '' } }), error: 'verify.e.prowJob.name: must not be empty' },
  { name: 'verify prowJob without name', raw: withVerify({ prowJob: {} }), error: 'verify.e.prowJob.name: is required' },
  { name: 'non-disabled verify without prowJob', raw: withVerify({ optional: true }), error: 'verify.e.prowJob: is required' },
  { name: 'empty publish key', raw: base({ publish: { '': { tagRef: { name: '4.16' } } } }), error: 'publish[""]: publish names must not be empty' },
  { name: 'publish tagRef empty name', raw: base({ publish: { tag: { tagRef: { name: '' } } } }), error: 'publish.tag.tagRef.name: must not be empty' },
  { name: 'publish imageStreamRef empty name', raw: base({ publish: { is: { imageStreamRef: { name: ' ' } } } }), error: 'publish.is.imageStreamRef.name: must not be empty' },
  // upstream offline rules (1.13 items 2–9)
  { name: 'async without optional', raw: withVerify({ ...job(), async: true }), error: 'verify.e.async: has async set but is not optional' },
  { name: 'async with maxRetries', raw: withVerify({ ...job(), async: true, optional: true, maxRetries: 1 }), error: 'verify.e.maxRetries: async jobs are not retried' },
  { name: 'verify upgradeFrom and upgradeFromRelease', raw: withVerify({ ...job(), upgrade: true, upgradeFrom: 'Previous', upgradeFromRelease: { candidate: { stream: 'nightly', version: '4.15' } } }), error: 'verify.e: upgradeFrom and upgradeFromRelease are mutually exclusive' },
  { name: 'periodic upgradeFrom and upgradeFromRelease', raw: withPeriodic({ ...job('p1'), cron: '@daily', upgradeFrom: 'Previous', upgradeFromRelease: { release: { version: '4.15', channel: 'stable' } } }), error: 'periodic.p: upgradeFrom and upgradeFromRelease are mutually exclusive' },
  { name: 'periodic without cron or interval', raw: withPeriodic(job('p1')), error: 'periodic.p: one of cron or interval is required' },
  { name: 'periodic with cron and interval', raw: withPeriodic({ ...job('p1'), cron: '@daily', interval: '24h' }), error: 'periodic.p: cron and interval are mutually exclusive' },
  { name: 'periodic interval in days', raw: withPeriodic({ ...job('p1'), interval: '2d' }), error: 'periodic.p.interval: must be a Go duration such as 24h: time: unknown unit "d" in duration "2d"' },
  { name: 'periodic interval without unit', raw: withPeriodic({ ...job('p1'), interval: '24' }), error: 'periodic.p.interval: must be a Go duration such as 24h: time: missing unit in duration "24"' },
  { name: 'periodic cron out of range', raw: withPeriodic({ ...job('p1'), cron: '0 24 * * *' }), error: 'periodic.p.cron: invalid cron spec "0 24 * * *"' },
  { name: 'periodic cron with 4 fields', raw: withPeriodic({ ...job('p1'), cron: '0 0 * *' }), error: 'periodic.p.cron: invalid cron spec "0 0 * *": expected 5 fields (or 6 with leading seconds), found 4' },
  { name: 'periodic cron garbage', raw: withPeriodic({ ...job('p1'), cron: 'every day' }), error: 'periodic.p.cron: invalid cron spec "every day"' },
  { name: 'periodic cron unknown descriptor', raw: withPeriodic({ ...job('p1'), cron: '@fortnightly' }), error: 'periodic.p.cron: invalid cron spec "@fortnightly": unknown descriptor' },
  { name: 'periodic @every without unit', raw: withPeriodic({ ...job('p1'), cron: '@every 24' }), error: 'periodic.p.cron: invalid cron spec "@every 24": time: missing unit' },
  { name: 'periodic @every without a space', raw: withPeriodic({ ...job('p1'), cron: '@every24h' }), error: 'periodic.p.cron: invalid cron spec "@every24h": unknown descriptor' },
  { name: 'periodic @every 0s', raw: withPeriodic({ ...job('p1'), cron: '@every 0s' }), error: 'periodic.p.cron: invalid cron spec "@every 0s": @every needs a positive duration' },
  { name: 'qualifier sets approval (false)', raw: withVerify({ ...job(), optional: true, qualifiers: { fips: { approval: false } } }), error: 'verify.e.qualifiers.fips.approval: approval qualifiers are only valid in global config' },
  { name: 'optional aggregated job', raw: withVerify({ ...job(), optional: true, aggregatedProwJob: { analysisJobCount: 10 } }), error: 'verify.e: an aggregated job (aggregatedProwJob) cannot be optional' },
  { name: 'verify key ending in -<digits>', raw: base({ verify: { 'e2e-aws-3': job() } }), error: 'verify.e2e-aws-3: verify names must not end in "-<digits>"' },
  // aggregatedProwJob.analysisJobCount (DESIGN §13 item 7: validated)
  { name: 'aggregated with analysisJobCount 0', raw: withVerify({ ...job(), aggregatedProwJob: { analysisJobCount: 0 } }), error: 'verify.e.aggregatedProwJob.analysisJobCount: must be greater than 0' },
  { name: 'aggregated without analysisJobCount', raw: withVerify({ ...job(), aggregatedProwJob: {} }), error: 'verify.e.aggregatedProwJob.analysisJobCount: must be greater than 0' },
  // upper bounds of the counts that multiply job launches (issue 13)
  { name: 'maxRetries above the maximum', raw: withVerify({ ...job(), maxRetries: 21 }), error: 'verify.e.maxRetries: must be at most 20 (got 21): every retry launches the job again' },
  { name: 'maxRetries far above the maximum on a QE job', raw: withVerify({ ...job(), qe: true, maxRetries: 1000 }), error: 'verify.e.maxRetries: must be at most 20 (got 1000)' },
  { name: 'analysisJobCount above the maximum', raw: withVerify({ ...job(), aggregatedProwJob: { analysisJobCount: 101 } }), error: 'verify.e.aggregatedProwJob.analysisJobCount: must be at most 100 (got 101): each attempt launches that many analysis jobs' },
  { name: 'analysisJobCount huge', raw: withVerify({ ...job(), aggregatedProwJob: { analysisJobCount: 1e6 } }), error: 'verify.e.aggregatedProwJob.analysisJobCount: must be at most 100 (got 1000000)' },
  { name: 'aggregator prowJob with empty name', raw: withVerify({ ...job(), aggregatedProwJob: { analysisJobCount: 3, prowJob: { name: '' } } }), error: 'verify.e.aggregatedProwJob.prowJob.name: must not be empty' },
  // periodic details
  { name: 'periodic upgradeFrom PreviousMicro', raw: withPeriodic({ ...job('p1'), cron: '@daily', upgradeFrom: 'PreviousMicro' }), error: 'periodic.p.upgradeFrom: invalid value "PreviousMicro": must be one of Previous, PreviousMinus1, PreviousMinor, PreviousPatch' },
  { name: 'periodic without prowJob', raw: withPeriodic({ cron: '@daily' }), error: 'periodic.p.prowJob: is required' },
  { name: 'periodic with empty prowJob name', raw: withPeriodic({ cron: '@daily', prowJob: { name: '' } }), error: 'periodic.p.prowJob.name: must not be empty' },
  { name: 'periodic upgradeFromRelease empty', raw: withPeriodic({ ...job('p1'), cron: '@daily', upgradeFromRelease: {} }), error: 'periodic.p.upgradeFromRelease: one of candidate, prerelease or release must be set' },
  // ours
  { name: 'qe.gate unknown', raw: withVerify({ ...job(), qe: true }, { qe: { gate: 'Ready' } }), error: 'qe.gate: invalid value "Ready": must be one of InformingPassed, InformingCompleted, Accepted' },
  { name: 'qe.timeout not a duration', raw: withVerify({ ...job(), qe: true }, { qe: { timeout: '1d' } }), error: 'qe.timeout: must be a Go duration such as 24h: time: unknown unit "d"' },
  { name: 'qe.timeout zero', raw: withVerify({ ...job(), qe: true }, { qe: { timeout: '0' } }), error: 'qe.timeout: must be positive' },
  { name: 'qe.timeout negative', raw: withVerify({ ...job(), qe: true }, { qe: { timeout: '-2h' } }), error: 'qe.timeout: must be positive' },
  { name: 'QE job that is async', raw: withVerify({ ...job(), qe: true, optional: true, async: true }), error: 'verify.e.async: a QE job cannot be async' },
  { name: 'negative maxRetries', raw: withVerify({ ...job(), maxRetries: -1 }), error: 'verify.e.maxRetries: must not be negative (got -1)' },
  { name: 'negative maxUnreadyReleases', raw: base({ maxUnreadyReleases: -1 }), error: 'maxUnreadyReleases: must not be negative' },
  { name: 'negative minCreationIntervalSeconds', raw: base({ minCreationIntervalSeconds: -5 }), error: 'minCreationIntervalSeconds: must not be negative' },
  { name: 'expires in days', raw: base({ expires: '14d' }), error: 'expires: must be a Go duration such as 336h: time: unknown unit "d" in duration "14d"' },
  { name: 'expires empty string', raw: base({ expires: '' }), error: 'expires: must be a Go duration' },
  { name: 'expires as a number (ns)', raw: base({ expires: 1209600000000000 }), error: 'expires: must be a string, not number' },
  { name: 'publish on unknown', raw: base({ publish: { t: { on: 'Ready', tagRef: { name: 'x' } } } }), error: 'publish.t.on: invalid value "Ready": must be one of Accepted, QEAccepted' },
  { name: 'verify upgradeFromRelease with no variant', raw: withVerify({ ...job(), upgrade: true, upgradeFromRelease: {} }), error: 'verify.e.upgradeFromRelease: one of candidate, prerelease or release must be set' },
  { name: 'verify upgradeFromRelease with only unknown keys', raw: withVerify({ ...job(), upgrade: true, upgradeFromRelease: { official: { version: '4.15' } } }), error: 'verify.e.upgradeFromRelease: one of candidate, prerelease or release must be set' },
  { name: 'upgrade entry prowJob empty', raw: { name: '4-stable', as: 'Stable', upgrade: { aws: { prowJob: { name: '' } } } }, error: 'upgrade.aws.prowJob.name: must not be empty' },
];

const warningRows: Row[] = [
  { name: 'disabled QE job', raw: withVerify({ ...job(), qe: true, disabled: true }), warning: 'verify.e: this QE job is disabled and will never run' },
  { name: 'qe block without QE jobs', raw: base({ qe: { gate: 'Accepted' } }), warning: 'qe: the stream has a qe block but no verify entry with "qe": true' },
  { name: 'QE job with aggregatedProwJob', raw: withVerify({ ...job(), qe: true, aggregatedProwJob: { analysisJobCount: 3 } }), warning: 'verify.e.aggregatedProwJob: QE jobs are not aggregated' },
  { name: 'unknown top-level field', raw: base({ colour: 'red' }), warning: 'colour: unknown field "colour"' },
  { name: 'legacy top-level analysis', raw: base({ analysis: {} }), warning: 'analysis: legacy field "analysis"' },
  { name: 'unknown verify field', raw: withVerify({ ...job(), retries: 2 }), warning: 'verify.e.retries: unknown field "retries"' },
  { name: 'legacy verify analysisJobCount', raw: withVerify({ ...job(), analysisJobCount: 10 }), warning: 'verify.e.analysisJobCount: legacy field "analysisJobCount"' },
  { name: 'legacy verify analysis', raw: withVerify({ ...job(), analysis: true }), warning: 'verify.e.analysis: legacy field "analysis"' },
  { name: 'legacy verify verifyBugs', raw: withVerify({ ...job(), verifyBugs: {} }), warning: 'verify.e.verifyBugs: legacy field "verifyBugs"' },
  { name: 'legacy publish verifyBugs', raw: base({ publish: { bugs: { verifyBugs: {} } } }), warning: 'publish.bugs.verifyBugs: legacy field "verifyBugs"' },
  { name: 'unknown prowJob field', raw: withVerify({ prowJob: { name: 'x', cluster: 'b01' } }), warning: 'verify.e.prowJob.cluster: unknown field "cluster"' },
  { name: 'unknown periodic field', raw: withPeriodic({ ...job('p1'), cron: '@daily', timezone: 'UTC' }), warning: 'periodic.p.timezone: unknown field "timezone"' },
  { name: 'unknown periodic prowJob field', raw: withPeriodic({ prowJob: { name: 'p1', x: 1 }, cron: '@daily' }), warning: 'periodic.p.prowJob.x: unknown field "x"' },
  { name: 'unknown publish field', raw: base({ publish: { t: { tagRef: { name: 'x' }, when: 'always' } } }), warning: 'publish.t.when: unknown field "when"' },
  { name: 'unknown tagRef field', raw: base({ publish: { t: { tagRef: { name: 'x', namespace: 'ocp' } } } }), warning: 'publish.t.tagRef.namespace: unknown field "namespace"' },
  { name: 'unknown imageStreamRef field', raw: base({ publish: { t: { imageStreamRef: { name: 'x', all: true } } } }), warning: 'publish.t.imageStreamRef.all: unknown field "all"' },
  { name: 'unknown verifyIssues field', raw: base({ publish: { i: { verifyIssues: { previousReleaseTag: { namespace: 'ocp', name: 'release', tag: 't', kind: 'x' } } } } }), warning: 'publish.i.verifyIssues.previousReleaseTag.kind: unknown field "kind"' },
  { name: 'unknown check field', raw: base({ check: { c: { consistentImages: { parent: 'p' }, strict: true } } }), warning: 'check.c.strict: unknown field "strict"' },
  { name: 'unknown consistentImages field', raw: base({ check: { c: { consistentImages: { parent: 'p', depth: 2 } } } }), warning: 'check.c.consistentImages.depth: unknown field "depth"' },
  { name: 'unknown upgrade field', raw: { name: '4-stable', as: 'Stable', upgrade: { aws: { ...job(), weight: 2 } } }, warning: 'upgrade.aws.weight: unknown field "weight"' },
  { name: 'unknown referenceRelease field', raw: base({ referenceRelease: { pushRepository: 'quay.io/x', mirror: true } }), warning: 'referenceRelease.mirror: unknown field "mirror"' },
  { name: 'unknown aggregatedProwJob field', raw: withVerify({ ...job(), aggregatedProwJob: { analysisJobCount: 3, weight: 1 } }), warning: 'verify.e.aggregatedProwJob.weight: unknown field "weight"' },
  { name: 'unknown aggregator prowJob field', raw: withVerify({ ...job(), aggregatedProwJob: { analysisJobCount: 3, prowJob: { name: 'agg', y: 1 } } }), warning: 'verify.e.aggregatedProwJob.prowJob.y: unknown field "y"' },
  { name: 'unknown upgradeFromRelease field', raw: withVerify({ ...job(), upgrade: true, upgradeFromRelease: { candidate: { stream: 'nightly', version: '4.15' }, official: {} } }), warning: 'verify.e.upgradeFromRelease.official: unknown field "official"' },
  { name: 'unknown candidate field', raw: withVerify({ ...job(), upgrade: true, upgradeFromRelease: { candidate: { stream: 'nightly', version: '4.15', arch: 'arm64' } } }), warning: 'verify.e.upgradeFromRelease.candidate.arch: unknown field "arch"' },
  { name: 'unknown prerelease field', raw: withPeriodic({ ...job('p1'), cron: '@daily', upgradeFromRelease: { prerelease: { version_bounds: { lower: '4.5.1', upper: '4.5.3' }, stream: 'x' } } }), warning: 'periodic.p.upgradeFromRelease.prerelease.stream: unknown field "stream"' },
  { name: 'unknown version_bounds field', raw: withPeriodic({ ...job('p1'), cron: '@daily', upgradeFromRelease: { prerelease: { version_bounds: { lower: '4.5.1', upper: '4.5.3', step: 1 } } } }), warning: 'periodic.p.upgradeFromRelease.prerelease.version_bounds.step: unknown field "step"' },
  { name: 'unknown release (official) field', raw: withVerify({ ...job(), upgrade: true, upgradeFromRelease: { release: { version: '4.15', channel: 'stable', endpoint: 'x' } } }), warning: 'verify.e.upgradeFromRelease.release.endpoint: unknown field "endpoint"' },
  { name: 'unknown qe field', raw: withVerify({ ...job(), qe: true }, { qe: { gate: 'Accepted', owners: ['qe'] } }), warning: 'qe.owners: unknown field "owners"' },
  { name: 'unknown top-level field with a space is quoted', raw: base({ 'my field': 1 }), warning: '(root)["my field"]: unknown field "my field"' },
];

for (const row of errorRows) {
  test(`error: ${row.name}`, () => {
    const r = validateConfig(row.raw, 'f.json');
    const got = lines(r.errors);
    assert.ok(got.some((l) => l.includes(row.error!)), `expected an error containing ${JSON.stringify(row.error)}, got ${JSON.stringify(got)}`);
    assert.equal(r.config, null, 'a config with errors is not returned');
    for (const e of r.errors) assert.equal(e.file, 'f.json');
  });
}

for (const row of warningRows) {
  test(`warning: ${row.name}`, () => {
    const r = validateConfig(row.raw, 'f.json');
    assert.deepEqual(lines(r.errors), [], 'warnings only');
    const got = lines(r.warnings);
    assert.ok(got.some((l) => l.includes(row.warning!)), `expected a warning containing ${JSON.stringify(row.warning)}, got ${JSON.stringify(got)}`);
    assert.ok(r.config, 'a config with only warnings is returned');
  });
}

const validRows: { name: string; raw: Obj }[] = [
  { name: 'minimal integration stream', raw: { name: '4.16.0-0.ci', to: 'release' } },
  { name: 'Stable stream without to', raw: { name: '4-stable', as: 'Stable' } },
  { name: 'expires null', raw: base({ expires: null }) },
  { name: 'expires 336h', raw: base({ expires: '336h' }) },
  { name: 'disabled verify entry without prowJob', raw: withVerify({ disabled: true }) },
  { name: 'verify upgradeFrom "" and the three allowed values', raw: base({ verify: { a: { ...job(), upgradeFrom: '' }, b: { ...job(), upgradeFrom: 'Previous' }, c: { ...job(), upgradeFrom: 'PreviousMinor' }, d: { ...job(), upgradeFrom: 'PreviousPatch' } } }) },
  { name: 'periodic upgradeFrom PreviousMinus1', raw: withPeriodic({ ...job('p1'), interval: '24h', upgrade: true, upgradeFrom: 'PreviousMinus1' }) },
  { name: 'async optional job', raw: withVerify({ ...job(), optional: true, async: true, maxRetries: 0 }) },
  { name: 'maxRetries at the maximum (20)', raw: withVerify({ ...job(), maxRetries: 20 }) },
  { name: 'analysisJobCount at the maximum (100) with maxRetries 20', raw: withVerify({ ...job(), maxRetries: 20, aggregatedProwJob: { analysisJobCount: 100 } }) },
  { name: 'aggregated job with a count', raw: withVerify({ ...job(), aggregatedProwJob: { analysisJobCount: 10, prowJob: { name: 'agg' } } }) },
  { name: 'qualifier contents are free-form', raw: withVerify({ ...job(), qualifiers: { fips: {}, rt: { badge: 'x', anything: { nested: 1 } } } }) },
  { name: 'full QE setup', raw: base({ verify: { aws: job(), 'qe-e2e': { ...job('qe'), qe: true, maxRetries: 1 }, 'qe-up': { ...job('qe-up'), qe: true, optional: true, upgrade: true } }, qe: { gate: 'InformingCompleted', timeout: '12h' }, publish: { qe: { on: 'QEAccepted', tagRef: { name: '4.16-qe-accepted' } }, tag: { on: 'Accepted', tagRef: { name: '4.16' } } } }) },
  { name: 'nullable maps', raw: base({ verify: null, periodic: null, publish: null, check: null, upgrade: null, referenceRelease: null, qe: null }) },
  ...['@every 6h', '@every 1h30m', '@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@yearly', '@annually', '0 9 * * *', '*/15 * * * *', '0 0 9 * * MON-FRI', '0 0 1 JAN *'].map((cron) => ({
    name: `periodic cron ${JSON.stringify(cron)}`,
    raw: withPeriodic({ ...job('p1'), cron }),
  })),
];

for (const row of validRows) {
  test(`valid: ${row.name}`, () => {
    const r = validateConfig(row.raw, 'f.json');
    assert.deepEqual(lines(r.errors), []);
    assert.ok(r.config);
  });
}

test('the count maxima are reported as file: json.path: reason, and every real config stays within them', () => {
  const r = validateConfig(base({ verify: { 'e2e-agg': { ...job(), maxRetries: 50, aggregatedProwJob: { analysisJobCount: 500 } } } }), 'releases/x.json');
  assert.deepEqual(r.errors.map(formatIssue), [
    'releases/x.json: verify.e2e-agg.maxRetries: must be at most 20 (got 50): every retry launches the job again',
    'releases/x.json: verify.e2e-agg.aggregatedProwJob.analysisJobCount: must be at most 100 (got 500): each attempt launches that many analysis jobs',
  ]);
  assert.equal(r.config, null);
  const real = loadConfigDir(new URL('../fixtures/openshift-release/releases', import.meta.url).pathname);
  assert.ok(real.streams.length >= 20, `${real.streams.length} real configs loaded`);
  assert.deepEqual(real.errors.filter((e) => /at most/.test(e.reason)).map(formatIssue), []);
});

test('unknown fields are kept in the parsed config', () => {
  const r = validateConfig(base({ colour: 'red', verify: { aws: { ...job(), analysisJobCount: 10, prowJob: { name: 'x', cluster: 'b01' } } } }), 'f.json');
  assert.ok(r.config);
  const c = r.config as Obj & { verify: Record<string, Obj & { prowJob: Obj }> };
  assert.equal(c.colour, 'red');
  assert.equal(c.verify.aws.analysisJobCount, 10);
  assert.equal(c.verify.aws.prowJob.cluster, 'b01');
  assert.equal(r.warnings.length, 3);
});

test('schema errors still report unknown fields, and every issue names the file', () => {
  const r = validateConfig({ name: 1, to: 'release', extra: true }, 'dir/x.json');
  assert.deepEqual(lines(r.errors), ['name: must be a string, not number']);
  assert.deepEqual(lines(r.warnings), ['extra: unknown field "extra" is kept but ignored']);
  assert.equal(formatIssue(r.errors[0]), 'dir/x.json: name: must be a string, not number');
});

test('several problems in one file are all reported', () => {
  const r = validateConfig(
    base({ expires: 'soon', verify: { 'a-1': { async: true }, b: { ...job(), upgradeFrom: 'PreviousMicro' } }, periodic: { p: job('p1') } }),
    'f.json',
  );
  const got = lines(r.errors).join('\n');
  for (const want of ['expires:', 'verify.a-1: verify names', 'verify.a-1.prowJob:', 'verify.a-1.async:', 'verify.b.upgradeFrom:', 'periodic.p: one of cron']) assert.ok(got.includes(want), `${want} in\n${got}`);
});

test('joinPath: plain keys with dots, other keys quoted, indexes in brackets', () => {
  assert.equal(joinPath('(root)', 'verify'), 'verify');
  assert.equal(joinPath('verify', 'aws-serial'), 'verify.aws-serial');
  assert.equal(joinPath('check', 'OCP and Origin'), 'check["OCP and Origin"]');
  assert.equal(joinPath('verify', 'a.b'), 'verify["a.b"]');
  assert.equal(joinPath('tags', 0), 'tags[0]');
  assert.equal(joinPath('(root)', 'a b'), '(root)["a b"]');
});

// --- the invalid-config fixture directory: each file breaks one rule

/** file → the start of the `file: path: reason` line it must produce */
const EXPECTED: Record<string, string> = {
  'aggregated-zero-count.json': 'aggregated-zero-count.json: verify.job.aggregatedProwJob.analysisJobCount: must be greater than 0',
  'async-not-optional.json': 'async-not-optional.json: verify.job.async: has async set but is not optional',
  'async-with-retries.json': 'async-with-retries.json: verify.job.maxRetries: async jobs are not retried',
  'bad-expires.json': 'bad-expires.json: expires: must be a Go duration such as 336h: time: unknown unit "d" in duration "14d"',
  'cross-file/b-duplicate-name.json': 'cross-file/b-duplicate-name.json: name: duplicate stream name "4.16.0-0.invalid-shared" (already defined in cross-file/a-stream.json)',
  'cross-file/c-duplicate-periodic-job.json': 'cross-file/c-duplicate-periodic-job.json: periodic.again.prowJob.name: found job periodic-ci-shared-upgrade in multiple locations: [4.16.0-0.invalid-shared (cross-file/a-stream.json): periodic: upgrade]',
  'invalid-json-trailing-comma.json': 'invalid-json-trailing-comma.json: (root): invalid JSON: ',
  'missing-name.json': 'missing-name.json: name: is required',
  'missing-to.json': 'missing-to.json: to: is required unless "as" is "Stable"',
  'negative-maxretries.json': 'negative-maxretries.json: verify.job.maxRetries: must not be negative (got -1)',
  'negative-maxunreadyreleases.json': 'negative-maxunreadyreleases.json: maxUnreadyReleases: must not be negative (got -2)',
  'negative-mincreationinterval.json': 'negative-mincreationinterval.json: minCreationIntervalSeconds: must not be negative (got -60)',
  'not-an-object.json': 'not-an-object.json: (root): a release configuration must be a JSON object, not an array',
  'optional-aggregated.json': 'optional-aggregated.json: verify.job: an aggregated job (aggregatedProwJob) cannot be optional',
  'periodic-bad-cron.json': 'periodic-bad-cron.json: periodic.upgrade.cron: invalid cron spec "0 25 * * *"',
  'periodic-bad-interval.json': 'periodic-bad-interval.json: periodic.upgrade.interval: must be a Go duration such as 24h: time: unknown unit "d" in duration "1d"',
  'periodic-bad-upgradefrom.json': 'periodic-bad-upgradefrom.json: periodic.upgrade.upgradeFrom: invalid value "PreviousMicro": must be one of Previous, PreviousMinus1, PreviousMinor, PreviousPatch',
  'periodic-cron-and-interval.json': 'periodic-cron-and-interval.json: periodic.upgrade: cron and interval are mutually exclusive',
  'periodic-no-schedule.json': 'periodic-no-schedule.json: periodic.upgrade: one of cron or interval is required',
  'publish-bad-on.json': 'publish-bad-on.json: publish.qe-tag.on: invalid value "Ready": must be one of Accepted, QEAccepted',
  'publish-tagref-empty-name.json': 'publish-tagref-empty-name.json: publish.tag.tagRef.name: must not be empty',
  'qe-async.json': 'qe-async.json: verify.job.async: a QE job cannot be async',
  'qe-bad-gate.json': 'qe-bad-gate.json: qe.gate: invalid value "Ready": must be one of InformingPassed, InformingCompleted, Accepted',
  'qe-bad-timeout.json': 'qe-bad-timeout.json: qe.timeout: must be positive (got "0s")',
  'qualifier-approval.json': 'qualifier-approval.json: verify.job.qualifiers.fips.approval: approval qualifiers are only valid in global config',
  'upgradefrom-and-upgradefromrelease.json': 'upgradefrom-and-upgradefromrelease.json: verify.job: upgradeFrom and upgradeFromRelease are mutually exclusive',
  'upgradefromrelease-empty.json': 'upgradefromrelease-empty.json: verify.job.upgradeFromRelease: one of candidate, prerelease or release must be set',
  'verify-name-ends-in-digits.json': 'verify-name-ends-in-digits.json: verify.e2e-aws-2: verify names must not end in "-<digits>"',
  'verify-prowjob-empty-name.json': 'verify-prowjob-empty-name.json: verify.job.prowJob.name: must not be empty',
  'verify-upgradefrom-previousmicro.json': 'verify-upgradefrom-previousmicro.json: verify.job.upgradeFrom: invalid value "PreviousMicro": must be one of Previous, PreviousMinor, PreviousPatch',
  'verify-upgradefrom-previousminus1.json': 'verify-upgradefrom-previousminus1.json: verify.job.upgradeFrom: invalid value "PreviousMinus1": must be one of Previous, PreviousMinor, PreviousPatch',
  'verify-without-prowjob.json': 'verify-without-prowjob.json: verify.job.prowJob: is required',
  'wrong-type.json': 'wrong-type.json: verify.job.maxRetries: must be a number, not string',
};
/** the valid partner of the cross-file checks */
const VALID_IN_INVALID_DIR = ['cross-file/a-stream.json'];

function jsonFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) jsonFiles(p, out);
    else if (name.endsWith('.json')) out.push(relative(INVALID_DIR, p));
  }
  return out.sort();
}

test('invalid-configs: at least 15 files, each with an expected line', () => {
  const files = jsonFiles(INVALID_DIR);
  assert.ok(files.length >= 15, `${files.length} files`);
  assert.deepEqual(files, [...Object.keys(EXPECTED), ...VALID_IN_INVALID_DIR].sort(), 'every fixture file has an expectation');
});

test('invalid-configs: every file produces its `file: path: reason` line and only the valid partner loads', () => {
  const r = loadConfigDir(INVALID_DIR);
  const out = r.errors.map(formatIssue);
  for (const [file, want] of Object.entries(EXPECTED)) {
    const mine = out.filter((l) => l.startsWith(`${file}: `));
    assert.ok(mine.some((l) => l.startsWith(want)), `${file}: expected a line starting with\n  ${want}\ngot\n  ${mine.join('\n  ')}`);
    assert.equal(mine.length, 1, `${file} breaks exactly one rule: ${mine.join(' | ')}`);
  }
  assert.deepEqual(r.streams.map((s) => s.file), VALID_IN_INVALID_DIR);
  assert.deepEqual(r.warnings, []);
});
