// Validation honesty (issue 22): every config field this build parses but does not act on is a
// warning per file and field; unset, false, "" and disabled entries are not. Table rows plus the
// real upstream configs in test/fixtures.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfigDir } from '../../src/domain/config/load.ts';
import { formatIssue, validateConfig } from '../../src/domain/config/validate.ts';

type Obj = Record<string, unknown>;
const base = (extra: Obj = {}): Obj => ({ name: '4.16.0-0.nightly', to: 'release', ...extra });
const job = (name = 'j') => ({ prowJob: { name } });

const rows: { name: string; raw: Obj; warns: string[] }[] = [
  { name: 'referenceMode public (we keep source pull specs)', raw: base({ referenceMode: 'public' }), warns: ['referenceMode: is parsed but not acted on'] },
  { name: 'referenceMode source is what we do', raw: base({ referenceMode: 'source' }), warns: [] },
  { name: 'pullSecretName', raw: base({ pullSecretName: 'source' }), warns: ['pullSecretName: is parsed but not acted on'] },
  { name: 'overrideCLIImage', raw: base({ overrideCLIImage: 'quay.io/x/cli:latest' }), warns: ['overrideCLIImage: is parsed but not acted on'] },
  {
    name: 'alternateImageRepository and its secret are acted on (mirrored by the registry builder)',
    raw: base({ alternateImageRepository: 'quay.io/x/dev-release', alternateImageRepositorySecretName: 'push' }),
    warns: [],
  },
  { name: 'referenceRelease', raw: base({ referenceRelease: { pushRepository: 'quay.io/x/y', pullRepository: 'quay.io/x/y' } }), warns: ['referenceRelease: is parsed but not acted on'] },
  { name: 'disableManifestListMode true', raw: base({ disableManifestListMode: true }), warns: ['disableManifestListMode: is parsed but not acted on'] },
  { name: 'disableManifestListMode false changes nothing', raw: base({ disableManifestListMode: false }), warns: [] },
  { name: 'upgrade per platform on an integration stream (only Stable streams run them)', raw: base({ upgrade: { aws: job(), gcp: { ...job(), disabled: true } } }), warns: ['upgrade.aws: is used only by Stable streams'] },
  { name: 'upgrade per platform on a Stable stream is implemented', raw: { name: '4-stable', as: 'Stable', upgrade: { aws: job() } }, warns: [] },
  { name: 'verify qualifiers are acted on (badges)', raw: base({ verify: { fips: { ...job(), qualifiers: { fips: {} } } } }), warns: [] },
  { name: 'verify qualifier notifications (Jira escalations)', raw: base({ verify: { fips: { ...job(), qualifiers: { fips: { notifications: { jira: { project: 'X' } } } } } } }), warns: ['verify.fips.qualifiers.fips.notifications: notifications is parsed but not acted on: qualifier Jira escalations'] },
  { name: 'qualifiers of a disabled entry lose nothing', raw: base({ verify: { fips: { ...job(), disabled: true, qualifiers: { fips: { notifications: {} } } } } }), warns: [] },
  {
    name: 'publish verifyIssues (Jira automation)',
    raw: base({ publish: { issues: { verifyIssues: { previousReleaseTag: { namespace: 'ocp', name: 'release', tag: '4.15.0' } } }, off: { disabled: true, verifyIssues: {} } } }),
    warns: ['publish.issues.verifyIssues: is parsed but not acted on: the Jira automation'],
  },
  {
    name: 'official upgradeFromRelease (update service) on verify and periodic',
    raw: base({
      verify: { up: { ...job(), upgrade: true, upgradeFromRelease: { release: { version: '4.15', channel: 'stable' } } } },
      periodic: { p: { ...job('p'), interval: '24h', upgrade: true, upgradeFromRelease: { release: { version: '4.15', channel: 'stable' } } } },
    }),
    warns: ['verify.up.upgradeFromRelease.release: resolves only against the releases of this deployment', 'periodic.p.upgradeFromRelease.release: resolves only against the releases of this deployment'],
  },
  { name: 'candidate upgradeFromRelease is implemented', raw: base({ verify: { up: { ...job(), upgrade: true, upgradeFromRelease: { candidate: { stream: 'nightly', version: '4.15' } } } } }), warns: [] },
  { name: 'implemented fields do not warn', raw: base({ message: 'm', hide: true, mirrorPrefix: '4.16-art-latest', expires: '72h', maxUnreadyReleases: 1, minCreationIntervalSeconds: 60, check: { c: { consistentImages: { parent: '4.16.0-0.ci' } } }, publish: { t: { tagRef: { name: '4.16' } } } }), warns: [] },
];

for (const row of rows) {
  test(`not acted on: ${row.name}`, () => {
    const r = validateConfig(row.raw, 'f.json');
    assert.deepEqual(r.errors, []);
    assert.ok(r.config, 'warnings never make a config invalid');
    const got = r.warnings.map((w) => `${w.path}: ${w.reason}`);
    assert.equal(got.length, row.warns.length, JSON.stringify(got));
    for (const w of row.warns) assert.ok(got.some((g) => g.startsWith(w)), `expected ${JSON.stringify(w)} in ${JSON.stringify(got)}`);
    for (const w of r.warnings) assert.equal(w.file, 'f.json');
  });
}

test('a config with errors reports its errors, not what it would not act on', () => {
  const r = validateConfig(base({ overrideCLIImage: 'x', to: '' }), 'f.json');
  assert.ok(r.errors.length > 0);
  assert.deepEqual(r.warnings, []);
});

test('the real upstream configs: each unimplemented field they set is named per file and field', () => {
  const r = loadConfigDir(new URL('../fixtures/openshift-release/releases', import.meta.url).pathname);
  assert.deepEqual(r.errors, []);
  const lines = r.warnings.map(formatIssue);
  for (const want of [
    'release-ocp-4.16.json: publish.issues.verifyIssues: is parsed but not acted on',
    'release-ocp-4.16.json: pullSecretName: is parsed but not acted on',
    'release-ocp-4.16-arm64.json: overrideCLIImage: is parsed but not acted on',
  ]) {
    assert.ok(lines.some((l) => l.startsWith(want)), `${want}\nin\n${lines.join('\n')}`);
  }
  assert.ok(!lines.some((l) => /\.qualifiers/.test(l)), 'qualifiers without notifications are acted on (badges)');
  assert.ok(!lines.some((l) => /5-dev-preview\.json: upgrade\./.test(l)), 'a Stable stream runs its upgrade tests');
  assert.ok(!lines.some((l) => / referenceMode: /.test(l)), 'every real config says referenceMode "source", which is what we do');
  assert.ok(!lines.some((l) => / check/.test(l)), 'consistentImages checks are evaluated (console alerts)');
  assert.ok(!lines.some((l) => / alternateImageRepository/.test(l)), 'alternate-repository mirroring is acted on');
  // every warning names a file and a field path
  for (const l of lines) assert.match(l, /^[^:]+\.json: [^ ]+: .+/);
});
