// The production start runs compiled JavaScript (issue 20 item 3): `npm ci` builds dist/ through the
// `prepare` script, and bin/release-controller.mjs runs it when it is current — and falls back to
// the TypeScript sources when any source is newer than the build, so a checkout never runs stale
// code. The suite otherwise runs the sources (RELEASE_CONTROLLER_SOURCES=1 from run-tests.mjs);
// this test turns that off (empty: choose by the build stamp) for its own child processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, utimesSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cleanup, tempDir, waitFor } from '../helpers/harness.ts';
import { startServe } from '../helpers/serve-proc.ts';

const ROOT = resolve('.');
const STAMP = join(ROOT, 'dist/.build-stamp');

/** `npm run build`: incremental, so about a second when nothing changed since the last build */
function build(): void {
  const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  assert.equal(r.status, 0, `npm run build failed:\n${r.stdout}${r.stderr}`);
}

const args = (dir: string) => ['--releases', resolve('demo/releases'), '--jobs', resolve('demo/jobs.yaml'), '--data', join(dir, 'data'), '--port', '0', '--host', '127.0.0.1', '--no-watch'];

test('serve runs the compiled build when it is current: same console, same API', async () => {
  build();
  const dir = tempDir('rc-compiled-');
  const proc = await startServe(args(dir), 60_000, { RELEASE_CONTROLLER_SOURCES: '' });
  try {
    assert.match(proc.output(), /"runtime":"compiled"/);
    await waitFor('ready', async () => (await fetch(`${proc.url}/readyz`)).status === 200);
    const js = await fetch(`${proc.url}/static/console.js`);
    assert.equal(js.status, 200);
    assert.equal(await js.text(), readFileSync('src/http/pages/static/console.js', 'utf8'), 'the console script is copied beside the compiled pages');
    const streams = (await (await fetch(`${proc.url}/api/v1/releasestreams/accepted`)).json()) as Record<string, unknown>;
    assert.ok(Object.keys(streams).length >= 1, JSON.stringify(streams));
  } finally {
    proc.child.kill('SIGTERM');
    await proc.exited;
    cleanup(dir);
  }
});

test('a build older than the sources is not run: the command falls back to the sources', async () => {
  build();
  const st = statSync(STAMP);
  const dir = tempDir('rc-compiled-');
  // the stamp made older than every source file, as after an edit
  utimesSync(STAMP, st.atime, new Date(0));
  try {
    const proc = await startServe(args(dir), 60_000, { RELEASE_CONTROLLER_SOURCES: '' });
    try {
      assert.match(proc.output(), /"runtime":"sources"/);
      await waitFor('ready', async () => (await fetch(`${proc.url}/readyz`)).status === 200);
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  } finally {
    utimesSync(STAMP, st.atime, st.mtime);
    cleanup(dir);
  }
});
