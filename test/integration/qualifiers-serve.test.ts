// `serve --qualifiers FILE` (issue 16 item 7) through the real CLI process: a payload's jobs run and
// earn its badge; an edited file (saved by rename, watched) changes the cached API answer and the
// pages without a state change; an invalid file keeps the last good version and is reported in
// /metrics and on the console; a deleted file defines no qualifiers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, pullSpec, tempDir, waitFor, writeScripts } from '../helpers/harness.ts';
import { startServe, type ServeProc } from '../helpers/serve-proc.ts';

const STREAM = '4.21.0-0.nightly';
const CI = 'ci-token-0123456789abcdef';

const file = (badge: string) => `qualifiers:\n  fips:\n    enabled: true\n    badgeName: ${JSON.stringify(badge)}\n    payloadBadgeStatus: OnSuccess\n`;

test('serve --qualifiers: the summary and badges follow the hot-reloaded file', async () => {
  const dir = tempDir('rc-qualifiers-serve-');
  let proc: ServeProc | undefined;
  try {
    const releases = join(dir, 'releases');
    mkdirSync(releases);
    writeFileSync(join(releases, 'stream.json'), JSON.stringify({ name: STREAM, to: 'release', verify: { 'e2e-fips': { prowJob: { name: 'e2e-fips' }, qualifiers: { fips: {} } } } }));
    const s = writeScripts(dir, { job: 'exit 0' });
    const jobs = join(dir, 'jobs.yaml');
    writeFileSync(jobs, `jobs:\n  "*": { command: ["bash", "${s.job}"] }\n`);
    const tokens = join(dir, 'tokens.yaml');
    writeFileSync(tokens, `- user: ci\n  token: ${CI}\n  roles: [ci]\n`);
    mkdirSync(join(dir, 'qualifiers'));
    const qualifiers = join(dir, 'qualifiers', 'release-qualifiers.yaml');
    writeFileSync(qualifiers, file('FIPS'));
    const save = (text: string) => {
      const tmp = join(dir, 'qualifiers', '.release-qualifiers.yaml.swp');
      writeFileSync(tmp, text);
      renameSync(tmp, qualifiers);
    };
    proc = await startServe(['--releases', releases, '--jobs', jobs, '--tokens', tokens, '--qualifiers', qualifiers, '--data', join(dir, 'data'), '--port', '0', '--host', '127.0.0.1']);
    const url = proc.url;
    const put = await fetch(`${url}/api/v1/inputstreams/${STREAM}/tags`, {
      method: 'PUT', headers: { authorization: `Bearer ${CI}`, 'content-type': 'application/json' }, body: JSON.stringify({ tags: { cli: pullSpec('cli') } }),
    });
    assert.ok(put.status < 300, await put.text());
    const tag = await waitFor('an Accepted payload', async () => {
      const r = (await (await fetch(`${url}/api/v1/releasestream/${STREAM}/tags`)).json()) as { tags: { name: string; phase: string }[] };
      return r.tags.find((t) => t.phase === 'Accepted')?.name;
    }, 30_000);
    const summary = async () => {
      const r = await fetch(`${url}/api/v1/releasetag/${tag}/qualifiers`);
      assert.equal(r.status, 200);
      return { body: (await r.json()) as { qualifiers?: Record<string, { badgeName?: string; badgeEarned?: boolean; aggregateState: string }> }, cache: r.headers.get('x-cache') };
    };
    const first = await summary();
    assert.deepEqual(first.body.qualifiers?.fips, { jobs: [{ ciConfigurationName: 'e2e-fips', ciConfigurationJobName: 'e2e-fips' }], aggregateState: 'Success', badgeName: 'FIPS', badgeEarned: true, badgePropagated: true });
    assert.equal((await summary()).cache, 'hit', 'the answer is cached');
    const streamPage = async () => (await fetch(`${url}/releasestream/${STREAM}`)).text();
    assert.match(await streamPage(), /data-qualifier="fips" data-qualifier-state="Success" data-earned="" title="FIPS: Passed"/);

    // edited and saved by rename: the cached answer and the pages change (the state does not)
    save(file('FIPS 140-3'));
    await waitFor('the new badge name served', async () => (await summary()).body.qualifiers?.fips?.badgeName === 'FIPS 140-3', 10_000);
    assert.match(await streamPage(), /title="FIPS 140-3: Passed"/);

    // an unknown field: the last good version keeps running, the error is reported
    save('qualifiers:\n  fips:\n    enabled: true\n    badge: x\n');
    await waitFor('the qualifiers error in /metrics', async () => /release_controller_config_errors\{[^}]*kind="qualifiers"[^}]*\} 1/.test(await (await fetch(`${url}/metrics`)).text()), 10_000);
    assert.equal((await summary()).body.qualifiers?.fips?.badgeName, 'FIPS 140-3');
    const overview = await (await fetch(url)).text();
    assert.match(overview, /Qualifiers file/);
    assert.match(overview, /qualifiers\.fips: unknown field badge/);

    // removed: no qualifiers at all (as upstream), and the error is gone
    rmSync(qualifiers);
    await waitFor('no qualifiers', async () => (await summary()).body.qualifiers === undefined, 10_000);
    assert.deepEqual((await summary()).body, {});
    await waitFor('the error cleared', async () => !/kind="qualifiers"[^}]*\} 1/.test(await (await fetch(`${url}/metrics`)).text()), 10_000);
    assert.doesNotMatch(await streamPage(), /qualifier-badge/);
  } finally {
    if (proc) {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
    cleanup(dir);
  }
});
