// The real CLI: the README's start command on a fresh data directory, and every client
// subcommand against a running server, error cases included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, pullSpec, tempDir, waitFor, writeScripts } from '../helpers/harness.ts';

const BIN = new URL('../../bin/release-controller.mjs', import.meta.url).pathname;

function startServe(args: string[]): { child: ChildProcess; url: Promise<string>; output: () => string } {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = waitFor('server listening', () => /listening on (http:\/\/[^\s"]+)/.exec(out)?.[1], 60_000);
  return { child, url, output: () => out };
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (c) => r(c))));
}

interface Tag {
  name: string;
  phase: string;
  qePhase: string;
}

test('the start command: payloads accepted and QE-labelled within 90 s, SIGINT exits 0, a restart resumes', async () => {
  const dir = tempDir();
  const data = join(dir, 'data');
  let s: ReturnType<typeof startServe> | undefined;
  try {
    s = startServe(['--demo', '--data', data, '--port', '0', '--feed-interval', '3000']);
    const url = await s.url;
    const decided = await waitFor(
      'an Accepted payload with a QE verdict',
      async () => {
        const r = await fetch(`${url}/api/v1/releasestream/4.16.0-0.nightly/tags`);
        const tags = ((await r.json()) as { tags: Tag[] | null }).tags ?? [];
        return tags.find((t) => t.phase === 'Accepted' && (t.qePhase === 'QEAccepted' || t.qePhase === 'QERejected'));
      },
      90_000,
      500,
    );
    assert.ok(decided.name.startsWith('4.16.0-0.nightly-'));
    const before = ((await (await fetch(`${url}/api/v1/releasestreams/all`)).json()) as Record<string, string[] | null>)['4.16.0-0.nightly'] ?? [];
    s.child.kill('SIGINT');
    assert.equal(await exitOf(s.child), 0, s.output());

    // the restart resumes from the stored state: every payload is still there with its verdict
    s = startServe(['--demo', '--data', data, '--port', '0', '--feed-interval', '60000']);
    const url2 = await s.url;
    const after = ((await (await fetch(`${url2}/api/v1/releasestreams/all`)).json()) as Record<string, string[] | null>)['4.16.0-0.nightly'] ?? [];
    for (const t of before) assert.ok(after.includes(t), `${t} survived the restart`);
    const info = (await (await fetch(`${url2}/api/v1/releasestream/4.16.0-0.nightly/release/${decided.name}`)).json()) as Tag;
    assert.equal(info.qePhase, decided.qePhase);
    s.child.kill('SIGTERM');
    assert.equal(await exitOf(s.child), 0, s.output());
  } finally {
    if (s && s.child.exitCode === null) {
      s.child.kill('SIGKILL');
      await exitOf(s.child);
    }
    cleanup(dir);
  }
});

test('CLI subcommands against a running server, with their errors and exit codes', async () => {
  const dir = tempDir();
  const releases = join(dir, 'releases');
  mkdirSync(releases);
  const sc = writeScripts(dir, { pass: 'exit 0', fail: 'exit 1' });
  writeFileSync(
    join(releases, 'nightly.json'),
    JSON.stringify({
      name: '4.21.0-0.nightly',
      to: 'release',
      verify: {
        'e2e-aws': { prowJob: { name: 'e2e-aws' } },
        'e2e-flaky': { optional: true, prowJob: { name: 'e2e-flaky' } },
        'qe-e2e': { qe: true, prowJob: { name: 'qe-e2e' } },
      },
      qe: { gate: 'Accepted' },
    }),
  );
  const jobs = join(dir, 'jobs.yaml');
  writeFileSync(jobs, `jobs:\n  e2e-flaky: { command: ["bash", "${sc.fail}"] }\n  "*": { command: ["bash", "${sc.pass}"] }\n`);
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, ['- { user: root, token: admin-token-0123456789, roles: [admin] }', '- { user: qa, token: qe-token-0123456789ab, roles: [qe] }', '- { user: bot, token: ci-token-0123456789ab, roles: [ci] }'].join('\n'));
  const s = startServe(['--releases', releases, '--jobs', jobs, '--tokens', tokens, '--data', join(dir, 'data'), '--port', '0']);
  try {
    const server = await s.url;
    const cli = (args: string[], env: Record<string, string> = {}) => {
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', RELEASE_CONTROLLER_SERVER: server, ...env } });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    // input set (role ci), then the payload appears
    let r = cli(['input', 'set', '4.21.0-0.nightly', `cli=${pullSpec('cli')}`, '--token', 'ci-token-0123456789ab']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /updated 1 component/);
    const tag = await waitFor('accepted payload', async () => {
      const t = ((await (await fetch(`${server}/api/v1/releasestream/4.21.0-0.nightly/tags`)).json()) as { tags: Tag[] | null }).tags;
      return t?.find((x) => x.phase === 'Accepted' && x.qePhase === 'QEAccepted')?.name;
    }, 30_000);

    // status and latest
    r = cli(['status']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`${tag}\\s+Accepted\\s+QEAccepted`));
    r = cli(['status', '--json']);
    assert.equal(JSON.parse(r.out)['4.21.0-0.nightly'][0].name, tag);
    r = cli(['status', 'no-such-stream']);
    assert.equal(r.code, 5);
    assert.match(r.err, /unknown release stream no-such-stream/);
    r = cli(['latest', '4.21.0-0.nightly', '--phase', 'QEAccepted', '--format', 'pullSpec']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), `registry.local/release:${tag}`);
    r = cli(['latest', '4.21.0-0.nightly', '--json']);
    assert.equal(JSON.parse(r.out).qePhase, 'QEAccepted');
    r = cli(['latest', 'nope']);
    assert.equal(r.code, 5);
    assert.match(r.err, /no release configuration exists with the requested name/);

    // writes: missing reason, bad token, wrong role, right role
    r = cli(['qe', 'reject', '4.21.0-0.nightly', tag, '--token', 'qe-token-0123456789ab']);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /--reason/);
    r = cli(['qe', 'reject', '4.21.0-0.nightly', tag, '--reason', 'x', '--token', 'wrong-token-0000000000']);
    assert.equal(r.code, 4);
    assert.match(r.err, /401/);
    r = cli(['qe', 'reject', '4.21.0-0.nightly', tag, '--reason', 'x', '--token', 'ci-token-0123456789ab']);
    assert.equal(r.code, 4);
    assert.match(r.err, /403/);
    r = cli(['qe', 'reject', '4.21.0-0.nightly', tag, '--reason', 'regression found by QE', '--token', 'qe-token-0123456789ab']);
    assert.equal(r.code, 0, r.err);
    r = cli(['latest', '4.21.0-0.nightly', '--phase', 'QERejected', '--format', 'name']);
    assert.equal(r.out.trim(), tag);
    r = cli(['qe', 'rerun', '4.21.0-0.nightly', tag, '--reason', 'fixed the lab', '--token', 'qe-token-0123456789ab']);
    assert.equal(r.code, 0, r.err);
    await waitFor('QE accepted again', async () => ((await (await fetch(`${server}/api/v1/releasestream/4.21.0-0.nightly/release/${tag}`)).json()) as Tag).qePhase === 'QEAccepted');
    r = cli(['qe', 'accept', '4.21.0-0.nightly', tag, '--reason', 'signed off', '--token', 'qe-token-0123456789ab']);
    assert.equal(r.code, 0, r.err);
    r = cli(['reject', '4.21.0-0.nightly', tag, '--reason', 'bad build', '--token', 'admin-token-0123456789']);
    assert.equal(r.code, 0, r.err);
    r = cli(['accept', '4.21.0-0.nightly', tag, '--reason', 'false alarm', '--token', 'admin-token-0123456789']);
    assert.equal(r.code, 0, r.err);
    r = cli(['accept', '4.21.0-0.nightly', 'no-such-tag', '--reason', 'x', '--token', 'admin-token-0123456789']);
    assert.equal(r.code, 5);
    // retry the failed informing job (role ci)
    r = cli(['retry', '4.21.0-0.nightly', tag, 'e2e-flaky', '--reason', 'flake', '--token', 'ci-token-0123456789ab']);
    assert.equal(r.code, 0, r.err);
    r = cli(['retry', '4.21.0-0.nightly', tag, 'e2e-aws', '--reason', 'again', '--token', 'ci-token-0123456789ab']);
    assert.equal(r.code, 1);
    assert.match(r.err, /409.*already succeeded/);
    // the audit trail names the users
    const events = (await (await fetch(`${server}/api/v1/releasestream/4.21.0-0.nightly/release/${tag}/events`)).json()) as { type: string; actor: string }[];
    assert.ok(events.some((e) => e.type === 'QEVerdictOverridden' && e.actor === 'qa'));
    assert.ok(events.some((e) => e.type === 'PhaseOverridden' && e.actor === 'root'));
    assert.ok(events.some((e) => e.type === 'JobRetryRequested' && e.actor === 'bot'));

    // validate, help, unreachable server, bad usage
    r = cli(['validate', releases]);
    assert.equal(r.code, 0, r.err);
    r = cli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /qe/);
    r = cli(['status'], { RELEASE_CONTROLLER_SERVER: 'http://127.0.0.1:1' });
    assert.equal(r.code, 3);
    assert.match(r.err, /cannot reach the server/);
    r = cli(['input', 'set', 'x', 'no-equals-sign', '--token', 't']);
    assert.equal(r.code, 2);
    assert.doesNotMatch(r.err + r.out, /^\s+at /m, 'no stack traces');
  } finally {
    s.child.kill('SIGINT');
    await exitOf(s.child);
    cleanup(dir);
  }
});
