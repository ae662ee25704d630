// Notifications from the real `release-controller serve` process (issue 19): verdicts reach a real
// receiver on loopback exactly once through SIGKILLs — one while a notification is in flight (the
// receiver holds the request open: committed, sent, not recorded), one right after a change is
// committed — and the API, console page, /metrics and hot reload show the deliveries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import { notificationType } from '../../src/domain/notifications.ts';
import { cleanup, pullSpec, tempDir, waitFor, writeScripts } from '../helpers/harness.ts';
import { Receiver, validSignature } from '../helpers/receiver.ts';
import { startServe, type ServeProc } from '../helpers/serve-proc.ts';

const STREAM = '4.20.0-0.nightly';
const SECRET = 'hook-secret-from-the-environment';
const ADMIN = 'admin-token-0123456789abcdef';
const CI = 'ci-token-0123456789abcdef';

async function getJson(url: string, token?: string): Promise<{ status: number; body: unknown; text: string; headers: Headers }> {
  const r = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const text = await r.text();
  return { status: r.status, text, headers: r.headers, body: text.startsWith('{') ? JSON.parse(text) : text };
}

async function kill9(p: ServeProc): Promise<void> {
  p.child.kill('SIGKILL');
  await p.exited;
}

test('serve --notify: delivered exactly once through kill -9 (in flight and right after a commit); API, page, metrics and reload show it', async () => {
  const dir = tempDir('rc-notify-serve-');
  const rx = await new Receiver().start();
  let proc: ServeProc | undefined;
  try {
    const releases = join(dir, 'releases');
    mkdirSync(releases);
    writeFileSync(
      join(releases, 'stream.json'),
      JSON.stringify({ name: STREAM, to: 'release', verify: { 'e2e-aws': { prowJob: { name: 'e2e-aws' } }, 'qe-a': { qe: true, prowJob: { name: 'qe-a' } } }, qe: { timeout: '10m' } }),
    );
    const s = writeScripts(dir, { job: 'sleep 0.3; exit 0' });
    const jobs = join(dir, 'jobs.yaml');
    writeFileSync(jobs, `jobs:\n  "*": { command: ["bash", "${s.job}"] }\n`);
    const tokens = join(dir, 'tokens.yaml');
    writeFileSync(tokens, `- user: admin\n  token: ${ADMIN}\n  roles: [admin]\n- user: ci\n  token: ${CI}\n  roles: [ci]\n`);
    const notify = join(dir, 'notify', 'notify.yaml');
    mkdirSync(join(dir, 'notify'));
    writeFileSync(notify, `webhooks:\n  - name: art\n    url: ${rx.url}\n    secret: \${HOOK_SECRET}\n    events: [PayloadCreated, PayloadReady, PayloadAccepted, PayloadRejected, QEStarted, QEAccepted, QERejected]\n    streams: ["4.*.0-0.nightly"]\n`);
    const data = join(dir, 'data');
    const args = ['--releases', releases, '--jobs', jobs, '--tokens', tokens, '--notify', notify, '--data', data, '--port', '0', '--host', '127.0.0.1', '--public-url', 'https://rc.example'];
    const env = { HOOK_SECRET: SECRET };
    const putInput = async (p: ServeProc) => {
      const r = await fetch(`${p.url}/api/v1/inputstreams/${STREAM}/tags`, {
        method: 'PUT', headers: { authorization: `Bearer ${CI}`, 'content-type': 'application/json' }, body: JSON.stringify({ tags: { cli: pullSpec('cli') } }),
      });
      assert.ok(r.status < 300, await r.text());
    };

    // 1. the first PayloadAccepted is held open by the receiver: the controller has committed the
    //    verdict and sent it, but cannot have recorded it delivered when it is killed
    let held = false;
    rx.respond = (r) => {
      if (!held && r.headers['x-release-controller-event'] === 'PayloadAccepted') {
        held = true;
        return { status: 200, hang: true };
      }
      return { status: 200 };
    };
    proc = await startServe(args, 30_000, env);
    await putInput(proc);
    await waitFor('the Accepted notification in flight', () => held, 30_000);
    await kill9(proc);

    // 2. restart; a second payload; kill right after its input change is committed
    proc = await startServe(args, 30_000, env);
    await waitFor('first payload QE accepted', async () => {
      const r = await getJson(`${proc!.url}/api/v1/releasestream/${STREAM}/tags`);
      return (r.body as { tags: { qePhase: string }[] }).tags?.some((t) => t.qePhase === 'QEAccepted');
    }, 30_000);
    await new Promise((r) => setTimeout(r, 1100)); // the next payload's tag name is per second
    await putInput(proc);
    await kill9(proc);

    // 3. restart and let everything settle
    proc = await startServe(args, 30_000, env);
    const url = proc.url;
    await waitFor('both payloads QE accepted', async () => {
      const r = await getJson(`${url}/api/v1/releasestream/${STREAM}/tags`);
      const tags = (r.body as { tags: { qePhase: string }[] }).tags ?? [];
      return tags.length === 2 && tags.every((t) => t.qePhase === 'QEAccepted');
    }, 40_000);
    await waitFor('nothing pending', async () => {
      const r = await getJson(`${url}/api/v1/notifications?state=pending`, ADMIN);
      return r.status === 200 && (r.body as { deliveries: unknown[] }).deliveries.length === 0 && rx.fresh.length >= 10;
    }, 20_000);

    // the API: admin only, bounded, filtered, no URL or secret
    assert.equal((await getJson(`${url}/api/v1/notifications`)).status, 401);
    assert.equal((await getJson(`${url}/api/v1/notifications`, CI)).status, 403);
    const bad = await getJson(`${url}/api/v1/notifications?state=bogus`, ADMIN);
    assert.equal(bad.status, 400);
    assert.match((bad.body as { error: string }).error, /state must be one of pending, delivered, failed, dropped/);
    const list = await getJson(`${url}/api/v1/notifications?webhook=art&limit=3`, ADMIN);
    const body = list.body as { webhooks: { name: string; signed: boolean }[]; deliveries: { id: string; state: string; attempts: number }[]; next: number | null };
    assert.deepEqual(body.webhooks.map((w) => [w.name, w.signed]), [['art', true]]);
    assert.equal(body.deliveries.length, 3);
    assert.ok(body.next !== null, 'a next page');
    assert.ok(!list.text.includes(rx.url) && !list.text.includes(SECRET), 'neither the URL nor the secret is shown');
    const page2 = await getJson(`${url}/api/v1/notifications?webhook=art&limit=3&before=${body.next}`, ADMIN);
    assert.equal((page2.body as { deliveries: unknown[] }).deliveries.length, 3);

    // the console page: the browser's Basic prompt with the token as the password
    const noAuth = await fetch(`${url}/notifications`);
    assert.equal(noAuth.status, 401);
    assert.match(noAuth.headers.get('www-authenticate') ?? '', /Basic realm=/);
    const basic = (t: string) => ({ authorization: `Basic ${Buffer.from(`anyone:${t}`).toString('base64')}` });
    assert.equal((await fetch(`${url}/notifications`, { headers: basic(CI) })).status, 403);
    const html = await (await fetch(`${url}/notifications?state=delivered`, { headers: basic(ADMIN) })).text();
    assert.match(html, /<h1>Notifications<\/h1>/);
    assert.match(html, /data-state="delivered"/);
    assert.doesNotMatch(html, /data-state="pending"/);

    // /metrics per webhook and state
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const delivered = Number(/release_controller_notifications\{webhook="art",state="delivered"\} (\d+)/.exec(metrics)?.[1]);
    assert.equal(delivered, rx.fresh.length);

    // hot reload: a bad file (a variable that is not set) keeps the last good one and shows up
    writeFileSync(notify, 'webhooks:\n  - name: art\n    url: ${NO_SUCH_VARIABLE}\n');
    await waitFor('config error shown', async () => /release_controller_config_errors\{file="[^"]*notify\.yaml",kind="notify"\} 1/.test(await (await fetch(`${url}/metrics`)).text()), 10_000);
    const overview = await (await fetch(`${url}/`)).text();
    assert.match(overview, /Notify file/);
    assert.match(overview, /NO_SUCH_VARIABLE is not set/);

    proc.child.kill('SIGTERM');
    await proc.exited;
    proc = undefined;

    // exactly once, as the receiver sees it: every announced event under one id, no id missing,
    // none extra; only the one held in flight was received twice, with the same bytes
    const store = openSqliteStore(join(data, 'release-controller.db'));
    await store.migrate();
    const events = await store.listEvents({ limit: 10_000 });
    await store.close();
    const wanted = new Set(['PayloadCreated', 'PayloadReady', 'PayloadAccepted', 'PayloadRejected', 'QEStarted', 'QEAccepted', 'QERejected']);
    const expected = events.filter((e) => wanted.has(notificationType(e) ?? '')).map((e) => `${e.id}.art`);
    assert.equal(expected.length, 10, `two payloads × created, ready, accepted, QE started, QE accepted: ${expected.join(', ')}`);
    assert.deepEqual([...rx.fresh].sort(), [...expected].sort(), 'no notification missing, none extra');
    assert.equal(new Set(rx.fresh).size, rx.fresh.length, 'no id is new twice');
    const byEvent = (id: string) => Number(id.split('.')[0]);
    assert.deepEqual(rx.fresh.map(byEvent), [...rx.fresh.map(byEvent)].sort((a, b) => a - b), 'in event order, across restarts');
    const twice = [...new Set(rx.requests.map((r) => r.id))].filter((id) => rx.bodies(id).length > 1);
    assert.ok(twice.length >= 1 && twice.length <= 2, `resent after a kill: ${twice.join(', ')}`);
    for (const id of twice) assert.equal(new Set(rx.bodies(id)).size, 1, `${id}: every attempt has the same body`);
    for (const r of rx.requests) assert.ok(validSignature(SECRET, r.body, r.headers['x-release-controller-signature']), `${r.id}: signature`);
  } finally {
    if (proc) await kill9(proc);
    await rx.stop();
    cleanup(dir);
  }
});
