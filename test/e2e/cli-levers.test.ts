// The real CLI verbs of the operator levers (keep, unkeep, lock, unlock, why, pin, pins, unpin,
// poke, prune) against a real `serve` process, with their refusals and exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, pullSpec, tempDir, waitFor } from '../helpers/harness.ts';
import { BIN, startServe } from '../helpers/serve-proc.ts';

const STREAM = '4.23.0-0.nightly';
const INPUT = '4.23-art-latest';
const ADMIN = 'admin-token-0123456789';
const CI = 'ci-token-0123456789ab';

test('CLI levers against a running server: effects, refusals and exit codes', async () => {
  const dir = tempDir('rc-cli-levers-');
  const releases = join(dir, 'releases');
  mkdirSync(releases);
  writeFileSync(join(releases, 'n.json'), JSON.stringify({ name: STREAM, to: 'release', mirrorPrefix: INPUT }));
  const jobs = join(dir, 'jobs.yaml');
  writeFileSync(jobs, 'jobs:\n  "*": { command: ["bash", "-c", "exit 0"] }\n');
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, [`- { user: root, token: ${ADMIN}, roles: [admin] }`, `- { user: bot, token: ${CI}, roles: [ci] }`].join('\n'));
  const s = await startServe(['--releases', releases, '--jobs', jobs, '--tokens', tokens, '--data', join(dir, 'data'), '--port', '0', '--no-watch']);
  try {
    const cli = (args: string[]) => {
      const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', RELEASE_CONTROLLER_SERVER: s.url } });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    const tagsOf = async () => (((await (await fetch(`${s.url}/api/v1/releasestream/${STREAM}/tags`)).json()) as { tags: { name: string; phase: string }[] | null }).tags ?? []);
    const cliSpec = pullSpec('cli');
    assert.equal(cli(['input', 'set', INPUT, `cli=${cliSpec}`, `installer=${pullSpec('installer')}`, '--token', CI]).code, 0);
    const tag = await waitFor('accepted payload', async () => (await tagsOf()).find((t) => t.phase === 'Accepted')?.name, 30_000);

    // keep → prune refused → unkeep
    let r = cli(['keep', STREAM, tag, '--reason', 'GA candidate', '--token', ADMIN]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), `${tag}: kept`);
    r = cli(['prune', STREAM, tag, '--reason', 'cleanup', '--token', ADMIN]);
    assert.equal(r.code, 1);
    assert.match(r.err, /server answered 409: .*is kept \(GA candidate\): unkeep it before pruning it/);
    r = cli(['keep', STREAM, tag, '--reason', 'x', '--token', CI]);
    assert.equal(r.code, 4, 'wrong role');
    assert.match(r.err, /server answered 403: .*bot lacks a required role \(admin\)/);
    r = cli(['keep', STREAM, tag, '--reason', 'x']);
    assert.equal(r.code, 2, 'no token');
    assert.match(r.err, /needs a token/);
    r = cli(['keep', STREAM, 'no-such-tag', '--reason', 'x', '--token', ADMIN]);
    assert.equal(r.code, 5);
    assert.match(r.err, /unknown release tag no-such-tag/);
    assert.equal(cli(['unkeep', STREAM, tag, '--reason', 'shipped', '--token', ADMIN]).code, 0);
    // the payload that was kept: kept payloads do not count as "same images" (upstream), so wait for things to settle
    await waitFor('no pending payload', async () => (await tagsOf()).every((t) => t.phase !== 'Pending' && t.phase !== 'Ready'), 30_000);

    // lock (role ci) → why → poke refused → unlock
    r = cli(['lock', STREAM, '--reason', 'registry maintenance', '--token', CI]);
    assert.equal(r.code, 0, r.err);
    r = cli(['why', STREAM]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^4\.23\.0-0\.nightly: locked by bot at \S+: registry maintenance$/m);
    assert.match(r.out, /^next payload may not start: locked: registry maintenance$/m);
    r = cli(['poke', STREAM, '--reason', 'now', '--token', ADMIN]);
    assert.equal(r.code, 1);
    assert.match(r.err, /409: .*locked by bot: registry maintenance; unlock it first/);
    assert.equal(cli(['unlock', STREAM, '--reason', 'done', '--token', CI]).code, 0);

    // pin --from-tag → pins → an update of cli makes no payload → unpin
    r = cli(['pin', INPUT, 'cli', '--pull-spec', 'x', '--from-tag', tag, '--reason', 'r', '--token', ADMIN]);
    assert.equal(r.code, 2);
    assert.match(r.err, /exactly one of --pull-spec and --from-tag/);
    r = cli(['pin', INPUT, 'cli', '--from-tag', tag, '--reason', 'cli regression', '--token', ADMIN]);
    assert.equal(r.code, 0, r.err);
    const newCli = pullSpec('cli');
    const before = (await tagsOf()).length;
    assert.equal(cli(['input', 'set', INPUT, `cli=${newCli}`, '--token', CI]).code, 0);
    r = cli(['pins', INPUT]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), `cli ${cliSpec} (from ${tag}) — by root at ${/at (\S+):/.exec(r.out)![1]}: cli regression [input has ${newCli}]`);
    r = cli(['why', STREAM]);
    assert.match(r.out, /next payload may not start: no new images/);
    assert.match(r.out, new RegExp(`pinned: cli ${cliSpec.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(by root: cli regression\\)`));
    assert.equal((await tagsOf()).length, before, 'pinned: the update made no payload');
    r = cli(['unpin', INPUT, 'cli', '--reason', 'fixed', '--token', ADMIN]);
    assert.equal(r.code, 0, r.err);
    assert.match(cli(['pins', INPUT]).out, /no pinned components/);
    await waitFor('unpinned: the new cli makes a payload', async () => (await tagsOf()).length > before, 10_000);
    await waitFor('settled', async () => (await tagsOf()).every((t) => t.phase === 'Accepted' || t.phase === 'Rejected' || t.phase === 'Failed'), 30_000);

    // poke → prune the poked payload
    await new Promise((res) => setTimeout(res, 1010 - (Date.now() % 1000)));
    r = cli(['poke', STREAM, '--reason', 're-test the same images', '--token', ADMIN]);
    assert.equal(r.code, 0, r.err);
    const poked = /created (\S+)$/.exec(r.out.trim())![1];
    assert.ok((await tagsOf()).some((t) => t.name === poked));
    await waitFor('poked payload built', async () => (await tagsOf()).find((t) => t.name === poked)?.phase !== 'Pending', 10_000);
    r = cli(['prune', STREAM, poked, '--reason', 'not needed', '--token', ADMIN]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), `${poked}: pruned`);
    assert.ok(!(await tagsOf()).some((t) => t.name === poked));
  } finally {
    s.child.kill('SIGTERM');
    await s.exited;
    cleanup(dir);
  }
});
