// `serve --release-architecture` (issue 22, item 6): the value is one of upstream's five, and the
// jobs of the real serve process get their release image under that architecture's name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, pullSpec, tempDir, waitFor, writeScripts } from '../helpers/harness.ts';
import { BIN, startServe, type ServeProc } from '../helpers/serve-proc.ts';

const STREAM = '4.21.0-0.nightly-arm64';
const TOKEN = 'ci-token-0123456789abcdef';

function setup(): { dir: string; args: string[]; envFile: string } {
  const dir = tempDir('rc-arch-');
  const releases = join(dir, 'releases');
  mkdirSync(releases);
  const envFile = join(dir, 'job.env');
  const s = writeScripts(dir, { job: `env > "${envFile}.tmp"; mv "${envFile}.tmp" "${envFile}"; exit 0` });
  writeFileSync(join(releases, 'stream.json'), JSON.stringify({ name: STREAM, to: 'release-arm64', verify: { 'e2e-aws': { prowJob: { name: 'e2e-aws' } } } }));
  const jobs = join(dir, 'jobs.yaml');
  writeFileSync(jobs, `jobs:\n  "*": { command: ["bash", "${s.job}"] }\n`);
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, `- user: ci\n  token: ${TOKEN}\n  roles: [ci]\n`);
  return { dir, envFile, args: ['--releases', releases, '--jobs', jobs, '--tokens', tokens, '--data', join(dir, 'data'), '--port', '0', '--host', '127.0.0.1'] };
}

test('serve --release-architecture: a value that is not one of upstream’s five is refused, naming the choices', () => {
  const s = setup();
  try {
    for (const bad of ['x86_64', 'ARM64', '']) {
      const r = spawnSync(process.execPath, [BIN, 'serve', ...s.args, '--release-architecture', bad], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } });
      assert.notEqual(r.status, 0, `${bad}: ${r.stdout}`);
      assert.match(r.stderr, new RegExp(`--release-architecture <arch>' argument '${bad}' is invalid\\. Allowed choices are amd64, arm64, ppc64le, s390x, multi\\.`), r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, /listening on/, 'never started');
    }
    const help = spawnSync(process.execPath, [BIN, 'serve', '--help'], { encoding: 'utf8', timeout: 30_000 });
    assert.match(help.stdout.replace(/\s+/g, ' '), /--release-architecture <arch> .*\(choices: "amd64", "arm64", "ppc64le", "s390x", "multi", default: "amd64"\)/);
  } finally {
    cleanup(s.dir);
  }
});

test('serve --release-architecture arm64: a verification job gets RELEASE_IMAGE_ARM64_LATEST, not the amd64 name', async () => {
  const s = setup();
  let proc: ServeProc | undefined;
  try {
    proc = await startServe([...s.args, '--release-architecture', 'arm64']);
    const put = await fetch(`${proc.url}/api/v1/inputstreams/${STREAM}/tags`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tags: { cli: pullSpec('cli') } }),
    });
    assert.ok(put.status < 300, await put.text());
    const p = proc;
    const text = await waitFor('job env written', () => (existsSync(s.envFile) ? readFileSync(s.envFile, 'utf8') : undefined), 20_000).catch((e: Error) => {
      throw new Error(`${e.message}; output:\n${p.output().slice(-4000)}`);
    });
    const env = new Map(text.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const tag = env.get('PAYLOAD_TAG')!;
    assert.ok(tag?.startsWith(`${STREAM}-`), tag);
    const { tags } = (await (await fetch(`${proc.url}/api/v1/releasestream/${STREAM}/tags`)).json()) as { tags: { name: string; pullSpec: string }[] };
    const pull = tags.find((t) => t.name === tag)?.pullSpec;
    assert.ok(pull, JSON.stringify(tags));
    assert.equal(env.get('RELEASE_IMAGE_ARM64_LATEST'), pull);
    assert.equal(env.has('RELEASE_IMAGE_LATEST'), false);
    assert.equal(env.has('RELEASE_IMAGE_ARM64_INITIAL'), false, 'not an upgrade job');
    proc.child.kill('SIGINT');
    assert.equal(await proc.exited, 0);
    proc = undefined;
  } finally {
    if (proc) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    cleanup(s.dir);
  }
});
