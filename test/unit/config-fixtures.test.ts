// Real upstream release stream configs (openshift/release, copied unmodified) load with zero
// errors, and their values come through the schema as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigDir, type LoadedConfig } from '../../src/domain/config/load.ts';
import { ciEntries, isStable, type ReleaseConfig } from '../../src/domain/config/schema.ts';
import { formatIssue, validateConfig } from '../../src/domain/config/validate.ts';

const FIXTURES = new URL('../fixtures/openshift-release/', import.meta.url).pathname;
const RELEASES = join(FIXTURES, 'releases');
const FILES = readdirSync(RELEASES).filter((f) => f.endsWith('.json')).sort();

const loaded = loadConfigDir(RELEASES);
const byFile = new Map<string, LoadedConfig>(loaded.streams.map((s) => [s.file, s]));
const cfg = (file: string): ReleaseConfig => {
  const s = byFile.get(file);
  assert.ok(s, `${file} loaded`);
  return s.config;
};

test('the releases directory loads with zero errors and every file becomes a stream', () => {
  assert.deepEqual(loaded.errors.map(formatIssue), []);
  assert.ok(FILES.length >= 20, `${FILES.length} fixture files`);
  assert.deepEqual(loaded.streams.map((s) => s.file), FILES);
  assert.equal(new Set(loaded.streams.map((s) => s.name)).size, FILES.length, 'stream names are unique');
});

test('the only warnings are the legacy fields still present in old configs, and fields parsed but not acted on', () => {
  // the "parsed but not acted on" warnings are table-tested in config-not-acted-on.test.ts
  assert.deepEqual(loaded.warnings.map(formatIssue).filter((w) => !w.includes(': is parsed but not acted on: ')), [
    'release-ocp-4.1.json: publish.bugs.verifyBugs: legacy field "verifyBugs" (Bugzilla) is ignored',
    'release-ocp-4.9-ci.json: analysis: legacy field "analysis" (replaced by aggregatedProwJob) is ignored',
  ]);
  assert.deepEqual(byFile.get('release-ocp-4.9-ci.json')!.warnings.filter((w) => !w.includes(': is parsed but not acted on: ')), ['analysis: legacy field "analysis" (replaced by aggregatedProwJob) is ignored']);
});

for (const file of FILES) {
  test(`${file}: validates on its own with zero errors`, () => {
    const r = validateConfig(JSON.parse(readFileSync(join(RELEASES, file), 'utf8')), file);
    assert.deepEqual(r.errors.map(formatIssue), []);
    assert.ok(r.config);
  });
}

test('release-ocp-4.16.json: nightly with mirrorPrefix, candidate upgrade, checks and Jira publish', () => {
  const s = byFile.get('release-ocp-4.16.json')!;
  assert.equal(s.name, '4.16.0-0.nightly');
  assert.equal(s.input, '4.16-art-latest', 'bound to its mirrorPrefix');
  const c = s.config;
  assert.equal(c.to, 'release');
  assert.equal(c.expires, '336h');
  assert.equal(c.maxUnreadyReleases, 1);
  assert.equal(c.minCreationIntervalSeconds, 14400);
  assert.equal(Object.keys(c.verify!).length, 11);
  assert.equal(ciEntries(c).length, 9, 'two multiJobAnalysis entries are disabled');
  assert.equal(c.verify!['aws-ovn-serial'].maxRetries, 1);
  assert.equal(c.verify!['install-analysis-all'].disabled, true);
  assert.equal(c.verify!['install-analysis-all'].multiJobAnalysis, true);
  const up = c.verify!['gcp-ovn-rt-upgrade-4.16-minor'];
  assert.equal(up.upgrade, true);
  assert.deepEqual(up.upgradeFromRelease, { candidate: { stream: 'nightly', version: '4.15' } });
  assert.equal(c.check!['OCP and Origin images should match'].consistentImages!.parent, '4.16.0-0.ci');
  assert.deepEqual(c.publish!.issues.verifyIssues, { previousReleaseTag: { namespace: 'ocp', name: 'release', tag: '4.15.0-rc.0' } });
  assert.equal(c.publish!.tag.tagRef!.name, '4.16');
  assert.equal(c.alternateImageRepositorySecretName, 'release-controller-quay-mirror-secret');
});

test('release-ocp-4.16-arm64.json: arch target stream, overrideCLIImage, retries', () => {
  const s = byFile.get('release-ocp-4.16-arm64.json')!;
  assert.equal(s.input, '4.16-art-latest-arm64');
  const c = s.config;
  assert.equal(c.to, 'release-arm64');
  assert.equal(c.overrideCLIImage, 'image-registry.openshift-image-registry.svc:5000/ocp/4.16-art-latest:cli');
  assert.equal(Object.keys(c.verify!).length, 14);
  assert.equal(c.verify!['aws-ovn-arm64'].maxRetries, 3);
  assert.equal(c.verify!['gcp-ovn-arm64'].optional, true);
  assert.equal(c.verify!['upgrade-minor'].upgradeFromRelease!.candidate!.version, '4.15');
});

test('release-ocp-4.5-ci.json: periodics, including the prerelease upgradeFromRelease variant', () => {
  const c = cfg('release-ocp-4.5-ci.json');
  assert.equal(Object.keys(c.periodic!).length, 12);
  assert.equal(c.periodic!['upgrade-aws-minor'].cron, '@every 48h');
  assert.equal(c.periodic!['upgrade-aws-minor'].upgradeFrom, 'PreviousMinor');
  const caps = c.periodic!['upgrade-aws-with-caps-patch'];
  assert.deepEqual(caps.upgradeFromRelease, { prerelease: { version_bounds: { lower: '4.5.14', upper: '4.5.16' } } });
  assert.equal(caps.upgradeFrom, undefined);
});

test('release-konflux-ocp-4.20.json: aggregated job, disableManifestListMode', () => {
  const s = byFile.get('release-konflux-ocp-4.20.json')!;
  assert.equal(s.input, '4.20-konflux-art-latest');
  assert.equal(s.config.to, 'konflux-release');
  assert.equal(s.config.disableManifestListMode, true);
  const agg = s.config.verify!['aggregated-aws-ovn-upgrade-4.20-micro'];
  assert.equal(agg.aggregatedProwJob!.analysisJobCount, 10);
  assert.equal(agg.maxRetries, 2);
  assert.equal(s.config.verify!['aws-ovn-serial'].optional, false);
});

test('release-ocp-4.16-ci.json: aggregated minor upgrades with a candidate source', () => {
  const c = cfg('release-ocp-4.16-ci.json');
  const agg = c.verify!['aggregated-aws-ovn-upgrade-4.16-minor'];
  assert.equal(agg.aggregatedProwJob!.analysisJobCount, 10);
  assert.ok(agg.upgradeFromRelease!.candidate);
  assert.equal(byFile.get('release-ocp-4.16-ci.json')!.input, '4.16');
});

test('Stable streams: no `to` needed; input is mirrorPrefix, else the name', () => {
  const dev = byFile.get('release-ocp-4-dev-preview.json')!;
  assert.ok(isStable(dev.config));
  assert.equal(dev.config.to, undefined);
  assert.equal(dev.input, '4-dev-preview', 'no mirrorPrefix → bound to its name');
  assert.deepEqual(dev.config.verify, {});
  const multi = byFile.get('release-ocp-4.13-multi.json')!;
  assert.ok(isStable(multi.config));
  assert.equal(multi.input, '4.13-art-latest-multi');
  assert.equal(multi.config.verify!['multi-aws-ovn-upgrade-from-previous-stable'].upgradeFrom, 'PreviousMinor');
  const five = cfg('release-ocp-5-dev-preview.json');
  assert.ok(isStable(five));
  assert.equal(five.upgrade!.aws.prowJob!.name, 'periodic-ci-openshift-release-main-dev-preview-5-e2e-aws-ovn-upgrade');
  assert.deepEqual(five.verify!['upgrade-major'].upgradeFromRelease, { candidate: { stream: 'stable', version: '4.22' } });
});

test('release-ocp-5.1.json: 87 entries, an async informing job, qualifiers kept as written', () => {
  const c = cfg('release-ocp-5.1.json');
  assert.equal(c.to, 'release-5');
  assert.equal(Object.keys(c.verify!).length, 87);
  const agent = c.verify!['claude-payload-agent'];
  assert.deepEqual([agent.async, agent.optional, agent.multiJobAnalysis], [true, true, true]);
  assert.deepEqual(c.verify!['driver-toolkit'].qualifiers, { 'driver-toolkit': {} });
  assert.equal(c.verify!['driver-toolkit'].maxRetries, 2);
});

test('release-ocp-4.1-ci.json and release-ocp-4.1.json: imageStreamRef publish, periodic, legacy verifyBugs kept', () => {
  const ci = byFile.get('release-ocp-4.1-ci.json')!;
  assert.equal(ci.input, '4.1');
  const isr = ci.config.publish!['mirror-to-origin'].imageStreamRef!;
  assert.equal(isr.namespace, 'origin');
  assert.equal(isr.name, '4.1');
  assert.equal(isr.excludeTags!.length, 3);
  assert.equal(ci.config.periodic!['upgrade-aws-rollback'].cron, '@every 24h');
  const ga = cfg('release-ocp-4.1.json');
  assert.equal(ga.verify!.aws.maxRetries, 3);
  assert.ok((ga.publish!.bugs as Record<string, unknown>).verifyBugs, 'the legacy field is kept in the parsed config');
});

test('release-okd-scos-4.22-ci.json: candidate from another stream family', () => {
  const s = byFile.get('release-okd-scos-4.22-ci.json')!;
  assert.equal(s.name, '4.22.0-0.okd-scos');
  assert.equal(s.input, '4.22-okd-scos');
  assert.equal(s.config.to, 'release-scos');
  assert.deepEqual(s.config.verify!['aws-upgrade-minor'].upgradeFromRelease!.candidate, { stream: 'okd', version: '4.21' });
});

test('invalid/release-ocp-4.8.json (a trailing comma) is reported as invalid JSON and skipped', () => {
  const r = loadConfigDir(join(FIXTURES, 'invalid'));
  assert.deepEqual(r.streams, []);
  assert.equal(r.errors.length, 1);
  const line = formatIssue(r.errors[0]);
  assert.match(line, /^release-ocp-4\.8\.json: \(root\): invalid JSON: .+ \(line 157 column 3\)$/);
});
