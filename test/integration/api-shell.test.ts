// The API as shell scripts use it: real curl (and jq) against the app on a real port.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.ts';
import type { Store } from '../../src/ports/store.ts';
import { NIGHTLY, ReadOps, STABLE, T, seedStore } from '../helpers/api-seed.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';

const run = promisify(execFile);
const has = (tool: string) => {
  try {
    execFileSync('which', [tool], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const CURL = has('curl');
const JQ = has('jq');

/** Runs a bash pipeline; fails on any failing stage. */
async function sh(script: string): Promise<string> {
  const r = await run('bash', ['-c', `set -euo pipefail\n${script}`], { timeout: 20_000 });
  return r.stdout;
}

describe('API from the shell (curl, jq)', { skip: !CURL && 'curl is not installed' }, () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    dir = tempDir('rc-api-shell-');
    store = await seedStore(dir);
    app = await buildApp({ ops: await ReadOps.load(store), artifactsUrl: 'https://artifacts.example.com' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  after(async () => {
    await app.close();
    await store.close();
    cleanup(dir);
  });

  test('curl …/latest | jq -r .pullSpec', { skip: !JQ && 'jq is not installed (add it to the CI apt list)' }, async () => {
    const out = await sh(`curl -sf '${base}/api/v1/releasestream/${NIGHTLY}/latest' | jq -r .pullSpec`);
    assert.equal(out, `registry.local/release:${T(5)}\n`);
  });

  test('?format=pullSpec is the value and a newline, usable in $(…)', async () => {
    const raw = await sh(`curl -sf '${base}/api/v1/releasestream/${NIGHTLY}/latest?format=pullSpec'`);
    assert.equal(raw, `registry.local/release:${T(5)}\n`);
    const v = await sh(`v=$(curl -sf '${base}/api/v1/releasestream/${NIGHTLY}/latest?format=pullSpec'); printf '[%s]' "$v"`);
    assert.equal(v, `[registry.local/release:${T(5)}]`);
  });

  test('in=>4.15.0-0 <4.16.0-0 (URL-encoded) and rel=1 select as upstream', async () => {
    const name = await sh(`curl -sfG '${base}/api/v1/releasestream/${STABLE}/latest' --data-urlencode 'in=>4.15.0-0 <4.16.0-0' --data-urlencode format=name`);
    assert.equal(name, '4.15.10\n');
    const rel1 = await sh(`curl -sfG '${base}/api/v1/releasestream/${STABLE}/latest' --data-urlencode 'in=>4.15.0-0 <4.16.0-0' -d rel=1 -d format=name`);
    assert.equal(rel1, '4.15.3\n');
    const newest = await sh(`curl -sf '${base}/api/v1/releasestream/${STABLE}/latest?format=name'`);
    assert.equal(newest, '4.16.0-rc.1\n');
    // a range over prereleases: every 4.16 nightly is inside >4.16.0-0 <4.17.0-0
    const nightly = await sh(`curl -sfG '${base}/api/v1/releasestream/${NIGHTLY}/latest' --data-urlencode 'in=>4.16.0-0 <4.17.0-0' -d rel=2 -d format=name`);
    assert.equal(nightly, `${T(3)}\n`);
  });

  test('phase=QEAccepted', { skip: !JQ && 'jq is not installed (add it to the CI apt list)' }, async () => {
    const out = await sh(`curl -sf '${base}/api/v1/releasestream/${NIGHTLY}/latest?phase=QEAccepted' | jq -r '.name + " " + .phase + " " + .qePhase'`);
    assert.equal(out, `${T(4)} Accepted QEAccepted\n`);
    const tags = await sh(`curl -sf '${base}/api/v1/releasestream/${NIGHTLY}/tags?phase=QEAccepted' | jq -r '.tags[].name'`);
    assert.equal(tags, `${T(4)}\n${T(1)}\n`);
  });

  test('errors: status code and upstream’s plain-text message (curl -w)', async () => {
    const out = await sh(`curl -s -w '|%{http_code}|%{content_type}' '${base}/api/v1/releasestream/${STABLE}/latest?rel=-1'`);
    assert.equal(out, 'error: ?rel must be non-negative integer\n|400|text/plain; charset=utf-8');
    const missing = await sh(`curl -s -o /dev/null -w '%{http_code}' '${base}/api/v1/releasestream/nope/latest'`);
    assert.equal(missing, '404');
  });

  test('the latest redirect lands on the release page path', async () => {
    const loc = await sh(`curl -s -o /dev/null -w '%{http_code} %{redirect_url}' '${base}/releasestream/${NIGHTLY}/latest'`);
    assert.equal(loc, `302 ${base}/releasestream/${NIGHTLY}/release/${T(5)}`);
  });
});
