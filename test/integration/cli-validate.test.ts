// `release-controller validate DIR` as a real child process: exit codes, the
// `file: json.path: reason` lines on stdout, warnings and summary on stderr, no stack traces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/release-controller.mjs');
const RELEASES = join(ROOT, 'test/fixtures/openshift-release/releases');
const INVALID = join(ROOT, 'test/fixtures/invalid-configs');

function validate(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'validate', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertNoStackTrace(text: string) {
  assert.ok(!text.split('\n').some((l) => l.startsWith('    at ')), `no stack trace in:\n${text}`);
}

test('the real upstream configs: exit 0, nothing on stdout, legacy and not-acted-on warnings and a summary on stderr', () => {
  const r = validate(RELEASES);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^warning: release-ocp-4\.9-ci\.json: analysis: legacy field "analysis"/m);
  assert.match(r.stderr, /^warning: release-ocp-4\.16\.json: publish\.issues\.verifyIssues: is parsed but not acted on: the Jira automation/m);
  assert.match(r.stderr, /^22 streams valid, 0 errors in 0 files, 31 warnings$/m);
  assertNoStackTrace(r.stderr);
});

test('the invalid-config directory: exit 1 with one `file: json.path: reason` line per error on stdout', () => {
  // each entry is the start of a line (some reasons carry a hint after the allowed values)
  const r = validate(INVALID);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  for (const want of [
    'missing-name.json: name: is required',
    'missing-to.json: to: is required unless "as" is "Stable"',
    'verify-upgradefrom-previousminus1.json: verify.job.upgradeFrom: invalid value "PreviousMinus1": must be one of Previous, PreviousMinor, PreviousPatch',
    'verify-upgradefrom-previousmicro.json: verify.job.upgradeFrom: invalid value "PreviousMicro": must be one of Previous, PreviousMinor, PreviousPatch',
    'async-not-optional.json: verify.job.async: has async set but is not optional',
    'periodic-bad-interval.json: periodic.upgrade.interval: must be a Go duration such as 24h: time: unknown unit "d" in duration "1d"',
    'qe-bad-gate.json: qe.gate: invalid value "Ready": must be one of InformingPassed, InformingCompleted, Accepted',
    'wrong-type.json: verify.job.maxRetries: must be a number, not string',
    'cross-file/b-duplicate-name.json: name: duplicate stream name "4.16.0-0.invalid-shared" (already defined in cross-file/a-stream.json)',
  ]) {
    assert.ok(lines.some((l) => l.startsWith(want)), `stdout has ${JSON.stringify(want)}:\n${r.stdout}`);
  }
  assert.ok(lines.some((l) => l.startsWith('invalid-json-trailing-comma.json: (root): invalid JSON: ')));
  for (const l of lines) assert.match(l, /^[^:]+\.json: [^ ]+: .+/, `line shape: ${l}`);
  assert.equal(lines.length, 33);
  assert.match(r.stderr, /^1 stream valid, 33 errors in 33 files, 0 warnings$/m);
  assertNoStackTrace(r.stdout + r.stderr);
});

test('the upstream file with a trailing comma: exit 1, invalid JSON with line and column', () => {
  const r = validate(join(ROOT, 'test/fixtures/openshift-release/invalid'));
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^release-ocp-4\.8\.json: \(root\): invalid JSON: .*\(line 157 column 3\)\n$/);
  assertNoStackTrace(r.stdout + r.stderr);
});

test('a directory that does not exist: exit 2 with a clear message, no stack trace', () => {
  const r = validate(join(ROOT, 'test/fixtures/no-such-dir'));
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /no-such-dir: no such directory/);
  assertNoStackTrace(r.stderr);
});

test('a file instead of a directory: exit 2, "not a directory"', () => {
  const r = validate(join(ROOT, 'package.json'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /package\.json: not a directory/);
  assertNoStackTrace(r.stderr);
});

test('an unreadable file (a dangling link) is reported and skipped; the readable ones load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rc-validate-'));
  try {
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ name: 'a', to: 'release' }));
    symlinkSync(join(dir, 'gone.json'), join(dir, 'b.json'));
    const r = validate(dir);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'b.json: (root): cannot read: ENOENT\n');
    assert.match(r.stderr, /^1 stream valid, 1 error in 1 file, 0 warnings$/m);
    assertNoStackTrace(r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('subdirectories are walked, hidden ones and linked directories are not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rc-validate-'));
  try {
    mkdirSync(join(dir, 'sub'));
    mkdirSync(join(dir, '..2024_01_01'));
    writeFileSync(join(dir, 'sub/a.json'), JSON.stringify({ name: 'a', to: 'release' }));
    writeFileSync(join(dir, '..2024_01_01/a.json'), JSON.stringify({ name: 'a', to: 'release' }));
    symlinkSync(join(dir, 'sub'), join(dir, 'linked'));
    writeFileSync(join(dir, 'notes.txt'), 'not a config');
    const r = validate(dir);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stderr, /^1 stream valid, 0 errors in 0 files, 0 warnings$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an empty directory: exit 0 with a warning that nothing was found', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rc-validate-'));
  try {
    const r = validate(dir);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /no \*\.json release configs found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing argument is a usage error, not a stack trace', () => {
  const r = validate();
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /missing required argument 'dir'/);
  assertNoStackTrace(r.stderr);
});
