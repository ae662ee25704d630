// Reloading without a restart (DESIGN.md §14): the real `serve` (in-process, file watching on) and
// the real CLI process (--no-watch, SIGHUP) pick up edited release configs, jobs and tokens files;
// a file that fails validation keeps its last good version running and shows up in /metrics, on
// the console and in the log; fixing it clears the error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LocalExecutor } from '../../src/adapters/jobs/local/index.ts';
import { parseJobsFile } from '../../src/adapters/jobs/local/jobsfile.ts';
import { ConfigReloader } from '../../src/cli/reload.ts';
import { serve } from '../../src/cli/serve.ts';
import type { JobSpec } from '../../src/ports/executor.ts';
import { cleanup, pullSpec, tempDir, waitFor, writeScripts } from '../helpers/harness.ts';
import { startServe, type ServeProc } from '../helpers/serve-proc.ts';

const STREAM = '4.20.0-0.nightly';
const CI_TOKEN = 'ci-token-0123456789abcdef';

/** Saves like an editor that writes a temporary file and renames it over the original. */
function replaceFile(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.swp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** release_controller_config_errors samples as `kind file → value`. */
async function configErrors(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^release_controller_config_errors\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    out.set(`${labels.kind} ${labels.file}`, Number(m[2]));
  }
  return out;
}

async function page(url: string): Promise<string> {
  const r = await fetch(url);
  assert.equal(r.status, 200);
  return r.text();
}

async function streamConfig(url: string): Promise<{ verify?: Record<string, unknown> }> {
  const r = await fetch(`${url}/api/v1/releasestream/${STREAM}/config`);
  assert.equal(r.status, 200);
  return (await r.json()) as { verify?: Record<string, unknown> };
}

function putTags(url: string, token: string): Promise<Response> {
  return fetch(`${url}/api/v1/inputstreams/x/tags`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tags: { cli: `quay.io/a/b@sha256:${'0123456789abcdef'.repeat(4)}` } }),
  });
}

test('serve reloads an edited stream config; an invalid file keeps the last good version and is shown until fixed', async () => {
  const dir = tempDir();
  const releases = join(dir, 'releases');
  mkdirSync(releases);
  const file = join(releases, 'stream.json');
  writeFileSync(file, JSON.stringify({ name: STREAM, to: 'release' }));
  const jobs = join(dir, 'jobs.yaml');
  writeFileSync(jobs, 'jobs:\n  "*": { command: ["bash", "-c", "exit 0"] }\n');
  const srv = await serve({ releases, jobs, data: join(dir, 'data'), port: 0, host: '127.0.0.1', executor: 'local', logLevel: 'silent' });
  try {
    assert.deepEqual(await streamConfig(srv.url), {});

    // add a blocking job: served without a restart
    writeFileSync(file, JSON.stringify({ name: STREAM, to: 'release', verify: { 'e2e-aws': { prowJob: { name: 'e2e-aws' } } } }));
    await waitFor('the edited config served', async () => (await streamConfig(srv.url)).verify?.['e2e-aws'], 5000);

    // invalid JSON (saved by rename): the old config keeps running, the error is shown
    replaceFile(file, '<b>not json</b>');
    const errors = await waitFor('config error in /metrics', async () => {
      const m = await configErrors(srv.url);
      return m.get('releases stream.json') ? m : null;
    }, 5000);
    assert.equal(errors.get('releases stream.json'), 1);
    assert.ok((await streamConfig(srv.url)).verify?.['e2e-aws'], 'the last good config keeps running');
    const overview = await page(srv.url);
    assert.match(overview, /class="box danger config-problems"/);
    assert.match(overview, /<code>stream\.json<\/code>/);
    assert.match(overview, /the last good version is still running/);
    assert.match(overview, /\(stream 4\.20\.0-0\.nightly\)/);
    assert.match(overview, /invalid JSON: Unexpected token/);
    assert.ok(overview.includes('&lt;b&gt;not json&lt;/b&gt;'), 'the error is escaped');
    assert.ok(!overview.includes('<b>not json'), 'no raw markup from the file');
    const streamPage = await page(`${srv.url}/releasestream/${STREAM}`);
    assert.match(streamPage, /config-problems/);
    assert.ok(streamPage.includes('&lt;b&gt;not json&lt;/b&gt;'));

    // a schema error in the same file: still the last good version, the new error replaces the old
    writeFileSync(file, JSON.stringify({ name: STREAM, to: 'release', verify: { 'e2e-aws': { prowJob: { name: 'e2e-aws' } }, bad: { optional: 'yes' } } }));
    await waitFor('the schema error shown', async () => !(await page(srv.url)).includes('not json') && /config-problems/.test(await page(srv.url)), 5000);
    assert.equal((await configErrors(srv.url)).get('releases stream.json')! >= 1, true);

    // fixed (with another job): the gauge and the banner go away, the new config runs
    writeFileSync(file, JSON.stringify({ name: STREAM, to: 'release', verify: { 'e2e-aws': { prowJob: { name: 'e2e-aws' } }, 'e2e-gcp': { prowJob: { name: 'e2e-gcp' } } } }));
    await waitFor('the fixed config served', async () => (await streamConfig(srv.url)).verify?.['e2e-gcp'], 5000);
    await waitFor('the gauge cleared', async () => !(await configErrors(srv.url)).get('releases stream.json'), 5000);
    assert.doesNotMatch(await page(srv.url), /config-problems/);
    assert.doesNotMatch(await page(`${srv.url}/releasestream/${STREAM}`), /config-problems/);

    // a new subdirectory is watched too, also across a save by rename
    mkdirSync(join(releases, 'sub'));
    const other = join(releases, 'sub', 'other.json');
    writeFileSync(other, JSON.stringify({ name: 'other', to: 'other' }));
    await waitFor('the new stream served', async () => (await fetch(`${srv.url}/api/v1/releasestream/other/config`)).status === 200, 5000);
    replaceFile(other, JSON.stringify({ name: 'other', to: 'other', verify: { unit: { prowJob: { name: 'unit' } } } }));
    await waitFor('the nested edit served', async () => {
      const r = await fetch(`${srv.url}/api/v1/releasestream/other/config`);
      return ((await r.json()) as { verify?: Record<string, unknown> }).verify?.unit;
    }, 5000);
  } finally {
    await srv.close();
    cleanup(dir);
  }
});

test('serve reloads the jobs file: an invalid one is reported, the fixed one runs the new command', async () => {
  const dir = tempDir();
  const releases = join(dir, 'releases');
  mkdirSync(releases);
  writeFileSync(join(releases, 'stream.json'), JSON.stringify({ name: STREAM, to: 'release', verify: { e2e: { prowJob: { name: 'e2e' } } } }));
  const out = join(dir, 'out.log');
  const s = writeScripts(dir, { old: `echo "old $BUILD_ID" >> "${out}"`, new: `echo "new $BUILD_ID" >> "${out}"` });
  const jobs = join(dir, 'jobs.yaml');
  writeFileSync(jobs, `jobs:\n  e2e: { command: ["bash", "${s.old}"] }\n`);
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, `- user: ci\n  token: ${CI_TOKEN}\n  roles: [ci]\n`);
  const srv = await serve({ releases, jobs, tokens, data: join(dir, 'data'), port: 0, host: '127.0.0.1', executor: 'local', logLevel: 'silent' });
  try {
    replaceFile(jobs, 'jobs:\n  e2e: { command: "not a list" }\n');
    await waitFor('jobs file error in /metrics', async () => (await configErrors(srv.url)).get(`jobs ${jobs}`), 5000);
    const overview = await page(srv.url);
    assert.match(overview, /Jobs file <code>[^<]*jobs\.yaml<\/code>/);
    assert.match(overview, /jobs\.e2e\.command: must be a non-empty array of strings/);

    replaceFile(jobs, `jobs:\n  e2e: { command: ["bash", "${s.new}"] }\n`);
    await waitFor('jobs file error cleared', async () => !(await configErrors(srv.url)).get(`jobs ${jobs}`), 5000);
    const put = await fetch(`${srv.url}/api/v1/inputstreams/${STREAM}/tags`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${CI_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tags: { cli: pullSpec('cli') } }),
    });
    assert.ok(put.status < 300, await put.text());
    const line = await waitFor('the job ran', () => (existsSync(out) ? readFileSync(out, 'utf8').trim() : ''), 8000);
    assert.match(line, /^new /, 'the new command ran');
  } finally {
    await srv.close();
    cleanup(dir);
  }
});

test('jobs reload: launches use the new file, an invalid file keeps the old one, a raised concurrency starts queued runs', async () => {
  const dir = tempDir();
  const outDir = join(dir, 'out');
  mkdirSync(outDir);
  const go = join(dir, 'go');
  const jobs = join(dir, 'jobs.yaml');
  const yaml = (concurrency: number, word: string) =>
    `concurrency: ${concurrency}\njobs:\n  block: { command: ["bash", "-c", "while [ ! -e '${go}' ]; do sleep 0.05; done"] }\n  run: { command: ["bash", "-c", "echo ${word} > '${outDir}'/$BUILD_ID"] }\n`;
  const text = yaml(1, 'old');
  writeFileSync(jobs, text);
  const executor = new LocalExecutor({ jobs: parseJobsFile(text, jobs), runDir: join(dir, 'runs') });
  const finished = new Set<string>();
  executor.onStatus((st) => st.state !== 'Pending' && finished.add(st.runId));
  const logged: string[] = [];
  const log = { info: () => {}, warn: () => {}, error: (_o: object | string, m?: string) => void logged.push(m ?? '') };
  const reloader = new ConfigReloader({
    releases: join(dir, 'releases-unused'),
    jobs,
    controller: { applyConfigs: async () => [], configProblems: () => [] },
    executor,
    log,
    initial: { jobs: { value: parseJobsFile(text, jobs), text } },
  });
  const spec = (runId: string, jobName: string): JobSpec => ({ runId, jobName, stream: 's', tag: 't', verifyName: jobName, pullSpec: 'p', initialPullSpec: '', env: {}, labels: {} });
  const word = (runId: string) => waitFor(`${runId} output`, () => (existsSync(join(outDir, runId)) ? readFileSync(join(outDir, runId), 'utf8').trim() : ''), 5000);
  try {
    await executor.launch(spec('r1', 'run'));
    assert.equal(await word('r1'), 'old');
    await waitFor('r1 done', () => finished.has('r1'));
    await executor.launch(spec('b1', 'block'));
    const queued = await executor.launch(spec('r2', 'run'));
    assert.equal(queued.startedAt, null, 'concurrency 1: r2 waits behind b1');

    writeFileSync(jobs, 'concurrency: 0\njobs: {}\n');
    const [bad] = await reloader.reload(['jobs']);
    assert.equal(bad.changed, false);
    assert.deepEqual(bad.failed[0].errors, ['concurrency: must be a positive integer']);
    assert.deepEqual(reloader.problems().map((p) => [p.kind, p.file, p.keptRunning]), [['jobs', jobs, true]]);
    assert.equal(logged.length, 1);
    assert.equal(executor.status('r2')?.startedAt, null, 'still the old concurrency');

    writeFileSync(jobs, yaml(2, 'new'));
    const [good] = await reloader.reload(['jobs']);
    assert.equal(good.changed, true);
    assert.deepEqual(good.detail.modified, ['run']);
    assert.equal(good.detail.concurrencyWas, 1);
    assert.deepEqual(reloader.problems(), []);
    // the raised limit starts the queued run (with the entry it was launched with)
    assert.equal(await word('r2'), 'old');
    await executor.launch(spec('r3', 'run'));
    assert.equal(await word('r3'), 'new');
    // reloading an unchanged file changes nothing
    assert.equal((await reloader.reload(['jobs']))[0].changed, false);
  } finally {
    writeFileSync(go, '');
    await waitFor('every run finished', () => ['b1', 'r2', 'r3'].every((r) => finished.has(r)), 5000).catch(() => undefined);
    await reloader.close();
    await executor.shutdown();
    cleanup(dir);
  }
});


test('SIGHUP reloads the tokens file of the real CLI (--no-watch); an invalid file keeps the old tokens', async () => {
  const dir = tempDir();
  const releases = join(dir, 'releases');
  mkdirSync(releases);
  writeFileSync(join(releases, 'stream.json'), JSON.stringify({ name: STREAM, to: 'release' }));
  const jobs = join(dir, 'jobs.yaml');
  writeFileSync(jobs, 'jobs:\n  "*": { command: ["bash", "-c", "exit 0"] }\n');
  const tokens = join(dir, 'tokens.yaml');
  const tokenA = 'token-a-0123456789abcdef';
  const tokenB = 'token-b-0123456789abcdef';
  writeFileSync(tokens, `- user: alice\n  token: ${tokenA}\n  roles: [ci]\n`);
  let proc: ServeProc | undefined;
  try {
    proc = await startServe(['--releases', releases, '--jobs', jobs, '--tokens', tokens, '--data', join(dir, 'data'), '--port', '0', '--host', '127.0.0.1', '--no-watch']);
    assert.equal((await putTags(proc.url, tokenA)).status, 200);

    replaceFile(tokens, `- user: bob\n  token: ${tokenB}\n  roles: [ci]\n`);
    assert.equal((await putTags(proc.url, tokenB)).status, 401, 'not watched: nothing changes before SIGHUP');
    proc.child.kill('SIGHUP');
    await waitFor('the new token accepted', async () => (await putTags(proc!.url, tokenB)).status === 200, 5000);
    assert.equal((await putTags(proc.url, tokenA)).status, 401, 'the removed token no longer works');

    writeFileSync(tokens, `- user: bob\n  token: short\n  roles: [ci]\n`);
    proc.child.kill('SIGHUP');
    const m = await waitFor('tokens error in /metrics', async () => (await configErrors(proc!.url)).get(`tokens ${tokens}`), 5000);
    assert.equal(m, 1);
    assert.equal((await putTags(proc.url, tokenB)).status, 200, 'the last good tokens keep working');
    assert.match(proc.output(), /tokens file .* failed to load: 0\.token: must be at least 16 characters/);
    assert.ok(!proc.output().includes(tokenB), 'tokens never reach the log');
    assert.match(await page(proc.url), /Tokens file <code>/);

    proc.child.kill('SIGINT');
    const code = await new Promise((r) => proc!.child.once('exit', (c) => r(c)));
    assert.equal(code, 0, proc.output());
  } finally {
    if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
    cleanup(dir);
  }
});
