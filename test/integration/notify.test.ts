// Notification delivery (issue 19) on a real SQLite file with real HTTP receivers on loopback:
// every notification type with its CloudEvents body and a valid signature, the Slack shape, order
// through an outage, retries that stay one logical delivery, permanent refusals, Retry-After, the
// bounded queue, the retry window, new webhooks starting at the end, and hot reload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseNotifyFile, type NotifyFile, type Webhook } from '../../src/adapters/notify/config.ts';
import { Deliverer, signBody, type DelivererOptions } from '../../src/adapters/notify/deliverer.ts';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import { State } from '../../src/controller/state.ts';
import { CLOUDEVENT_TYPES, NOTIFICATION_TYPES, type CloudEvent, type SlackMessage } from '../../src/domain/notifications.ts';
import type { EventRecord } from '../../src/domain/types.ts';
import type { Store } from '../../src/ports/store.ts';
import type { Change } from '../../src/ports/store.ts';
import { cleanup, tempDir, waitFor } from '../helpers/harness.ts';
import { Receiver, validSignature } from '../helpers/receiver.ts';
import { jobRun, payload, streamRecord } from './store-suite.ts';

const STREAM = '4.20.0-0.nightly';
const TAG = '4.20.0-0.nightly-2026-01-02-030405';
const BASE = 'https://rc.example';
const SECRET = 's3cret-for-tests';

interface Env {
  dir: string;
  store: Store;
  state: State;
  deliverers: Deliverer[];
  commit(changes: Change[]): Promise<number[]>;
  start(config: NotifyFile, over?: Partial<DelivererOptions>): Promise<Deliverer>;
  close(): Promise<void>;
}

async function env(): Promise<Env> {
  const dir = tempDir('rc-notify-');
  const store = openSqliteStore(join(dir, 'rc.db'));
  await store.migrate();
  const state = new State();
  const deliverers: Deliverer[] = [];
  const e: Env = {
    dir,
    store,
    state,
    deliverers,
    // as the controller does: the store first, then the view, then a wake-up
    async commit(changes) {
      const ids = await store.commit(changes);
      state.apply(changes);
      for (const d of deliverers) d.wake();
      return ids;
    },
    async start(config, over = {}) {
      const d = new Deliverer({
        store: store.notifications!, events: store, view: state, config, baseUrl: BASE, backoff: { firstMs: 40, maxMs: 200 }, pollMs: 50, timeoutMs: 2000, ...over,
      });
      deliverers.push(d);
      await d.start();
      return d;
    },
    async close() {
      for (const d of deliverers) await d.stop();
      await store.close();
      cleanup(dir);
    },
  };
  await e.commit([{ kind: 'putStream', stream: streamRecord(STREAM) }, { kind: 'putPayload', payload: payload(STREAM, TAG, { pullSpec: `registry.example/ocp/release:${TAG}` }) }]);
  return e;
}

const hook = (url: string, over: Partial<Webhook> = {}): Webhook => ({ name: 'art', url, events: [...NOTIFICATION_TYPES], streams: [], format: 'cloudevents', secret: SECRET, ...over });
const ev = (type: string, data: Record<string, unknown>, over: Partial<EventRecord> = {}): Change => ({
  kind: 'appendEvent',
  event: { at: '2026-01-02T03:04:05Z', stream: STREAM, tag: TAG, type, actor: 'controller', message: `${type} message`, data, ...over },
});

/** one event of every kind the domain emits that is announced, in the order of the notification types */
const EVERY: [string, Change][] = [
  ['PayloadCreated', ev('PayloadCreated', { phase: 'Pending', input: 'in', hash: 'h' })],
  ['PayloadReady', ev('PhaseChanged', { phase: 'Ready', previous: 'Pending', reason: '', message: '' })],
  ['PayloadAccepted', ev('PhaseChanged', { phase: 'Accepted', previous: 'Ready', reason: '', message: '' })],
  ['PayloadRejected', ev('PhaseChanged', { phase: 'Rejected', previous: 'Ready', reason: 'VerificationFailed', message: 'e2e failed' })],
  ['PayloadFailed', ev('PhaseChanged', { phase: 'Failed', previous: 'Pending', reason: 'BuildFailed', message: 'no image' })],
  ['QEStarted', ev('QEStateChanged', { qePhase: 'QERunning', previous: 'QEPending', reason: '', message: '' })],
  ['QEAccepted', ev('QEStateChanged', { qePhase: 'QEAccepted', previous: 'QERunning', reason: 'QEJobsSucceeded', message: '' })],
  ['QERejected', ev('QEStateChanged', { qePhase: 'QERejected', previous: 'QERunning', reason: 'QETimeout', message: 'time limit 24h passed' })],
  ['PayloadOverridden', ev('PhaseOverridden', { phase: 'Accepted', previous: 'Rejected', reason: 'flake <b>&</b>' }, { actor: 'alice' })],
  ['QEOverridden', ev('QEVerdictOverridden', { qePhase: 'QEAccepted', previous: 'QERejected', reason: 'known issue' }, { actor: 'qe-lead' })],
  ['QERerun', ev('QERerun', { generation: 2, previous: 'QERejected', reason: 'infra' }, { actor: 'qe-lead' })],
  ['JobRetried', ev('JobRetryRequested', { verifyName: 'e2e-aws', runId: 'r', attempt: 1, reason: 'flake' }, { actor: 'ci-bot' })],
  ['JobWaived', ev('JobWaived', { verifyName: 'upgrade', reason: 'no source', condition: 'noUpgradeSource' }, { actor: 'ci-bot' })],
];

test('every notification type is delivered in order with its CloudEvents body and a valid signature; other events are not', async () => {
  const e = await env();
  const rx = await new Receiver().start();
  try {
    const p = e.state.payload(STREAM, TAG)!;
    // the rejection lists the entry whose latest attempt failed, not the one that passed on retry
    await e.commit([
      { kind: 'putJobRun', run: jobRun(p, 'e2e-aws', { id: 'a0', attempt: 0, state: 'Failed', url: 'https://prow.example/a0' }) },
      { kind: 'putJobRun', run: jobRun(p, 'e2e-aws', { id: 'a1', attempt: 1, state: 'Failed', url: 'https://prow.example/a1' }) },
      { kind: 'putJobRun', run: jobRun(p, 'unit', { id: 'u0', attempt: 0, state: 'Failed', url: 'https://prow.example/u0' }) },
      { kind: 'putJobRun', run: jobRun(p, 'unit', { id: 'u1', attempt: 1, state: 'Succeeded', url: 'https://prow.example/u1' }) },
    ]);
    await e.start({ webhooks: [hook(rx.url)] });
    const noise = [ev('JobLaunched', { verifyName: 'x' }), ev('InputUpdated', {}, { tag: '' }), ev('QEStateChanged', { qePhase: 'QESkipped', previous: 'QERunning' })];
    const ids = await e.commit([noise[0]!, ...EVERY.slice(0, 6).map(([, c]) => c), noise[1]!, ...EVERY.slice(6).map(([, c]) => c), noise[2]!]);
    await waitFor('13 notifications', () => rx.fresh.length === EVERY.length);
    const eventIds = ids.filter((_, i) => i !== 0 && i !== 7 && i !== ids.length - 1);
    assert.deepEqual(rx.fresh, eventIds.map((id) => `${id}.art`), 'in event order, with ids derived from event and webhook');
    rx.requests.forEach((r, i) => {
      const [type] = EVERY[i]!;
      assert.equal(r.headers['content-type'], 'application/cloudevents+json; charset=utf-8');
      assert.ok(validSignature(SECRET, r.body, r.headers['x-release-controller-signature']), `${type}: signature`);
      assert.equal(r.headers['x-release-controller-signature'], signBody(SECRET, r.body));
      assert.equal(r.headers['x-release-controller-event'], type);
      const ce = JSON.parse(r.body) as CloudEvent;
      assert.deepEqual(
        { specversion: ce.specversion, id: ce.id, source: ce.source, type: ce.type, subject: ce.subject, time: ce.time, datacontenttype: ce.datacontenttype },
        { specversion: '1.0', id: `${eventIds[i]}.art`, source: `${BASE}/releasestream/${STREAM}`, type: CLOUDEVENT_TYPES[type as keyof typeof CLOUDEVENT_TYPES], subject: TAG, time: '2026-01-02T03:04:05Z', datacontenttype: 'application/json' },
      );
      assert.equal(ce.data.stream, STREAM);
      assert.equal(ce.data.tag, TAG);
      assert.equal(ce.data.pullSpec, `registry.example/ocp/release:${TAG}`);
      assert.equal(ce.data.links.release, `${BASE}/releasestream/${STREAM}/release/${TAG}`);
      assert.equal(ce.data.links.api, `${BASE}/api/v1/releasestream/${STREAM}/release/${TAG}`);
    });
    const data = (type: string) => (JSON.parse(rx.requests[EVERY.findIndex(([t]) => t === type)]!.body) as CloudEvent).data;
    assert.equal(data('PayloadAccepted').phase, 'Accepted');
    assert.deepEqual([data('PayloadRejected').phase, data('PayloadRejected').reason, data('PayloadRejected').message], ['Rejected', 'VerificationFailed', 'PhaseChanged message']);
    assert.deepEqual(data('PayloadRejected').failedJobs, [{ name: 'e2e-aws', url: 'https://prow.example/a1' }]);
    assert.deepEqual([data('QERejected').qePhase, data('QERejected').reason], ['QERejected', 'QETimeout']);
    assert.deepEqual(data('QERejected').failedJobs, [], 'no QE job failed: the time limit rejected it');
    assert.deepEqual([data('QEStarted').qePhase, data('QEAccepted').qePhase], ['QERunning', 'QEAccepted']);
    assert.deepEqual([data('PayloadOverridden').phase, data('PayloadOverridden').actor, data('PayloadOverridden').reason], ['Accepted', 'alice', 'flake <b>&</b>']);
    assert.deepEqual([data('QEOverridden').qePhase, data('QEOverridden').actor], ['QEAccepted', 'qe-lead']);
    assert.equal(data('JobRetried').job, 'e2e-aws');
    assert.equal(data('JobWaived').job, 'upgrade');
    const rows = await e.store.notifications!.listDeliveries({ webhook: 'art' });
    assert.equal(rows.length, EVERY.length);
    assert.ok(rows.every((d) => d.state === 'delivered' && d.attempts === 1 && d.lastStatus === 200));
    assert.deepEqual(e.deliverers[0]!.stats().find((s) => s.state === 'delivered'), { webhook: 'art', state: 'delivered', count: EVERY.length });
  } finally {
    await rx.stop();
    await e.close();
  }
});

test('events and streams filters; the default is every verdict; Slack gets one readable message with failed jobs and links', async () => {
  const e = await env();
  const rx = await new Receiver().start();
  try {
    const p = e.state.payload(STREAM, TAG)!;
    await e.commit([{ kind: 'putJobRun', run: jobRun(p, 'e2e-aws', { id: 'f', state: 'Failed', url: 'https://prow.example/f?a=1|2' }) }]);
    const cfg = parseNotifyFile(
      `webhooks:\n  - {name: chat, url: "${rx.url}?to=chat", format: slack}\n  - {name: other, url: "${rx.url}?to=other", streams: ["4.19.*"]}\n  - {name: created, url: "${rx.url}?to=created", events: [PayloadCreated], streams: ["4.*.0-0.nightly"]}\n`,
      'notify.yaml',
      {},
    );
    await e.start(cfg);
    await e.commit(EVERY.map(([, c]) => c));
    // chat: the 7 verdict types (default); other: none (stream filter); created: 1
    await waitFor('chat and created notified', () => rx.requests.length === 8);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(rx.requests.length, 8);
    const chat = rx.requests.filter((r) => r.headers['x-release-controller-delivery']!.toString().endsWith('.chat'));
    assert.deepEqual(chat.map((r) => r.headers['x-release-controller-event']), ['PayloadAccepted', 'PayloadRejected', 'PayloadFailed', 'QEAccepted', 'QERejected', 'PayloadOverridden', 'QEOverridden']);
    assert.equal(rx.requests.filter((r) => String(r.headers['x-release-controller-delivery']).endsWith('.created')).length, 1);
    assert.ok(chat.every((r) => r.headers['content-type'] === 'application/json' && r.headers['x-release-controller-signature'] === undefined), 'unsigned without a secret');
    const rejected = JSON.parse(chat[1]!.body) as SlackMessage;
    assert.equal(rejected.text, `${TAG} was Rejected`);
    assert.equal(rejected.blocks[0]!.type, 'section');
    const texts = rejected.blocks.map((b) => JSON.stringify(b));
    assert.match(texts[0]!, new RegExp(`<${BASE}/releasestream/${STREAM.replace(/\./g, '\\.')}/release/${TAG.replace(/\./g, '\\.')}\\|${TAG.replace(/\./g, '\\.')}>`));
    assert.match(texts.join(''), /VerificationFailed: PhaseChanged message/);
    assert.match(texts.join(''), /\*Failed jobs\*\\n• <https:\/\/prow\.example\/f\?a=1%7C2\|e2e-aws>/);
    assert.equal((rejected.blocks.at(-1) as { type: string }).type, 'context');
    const overridden = JSON.parse(chat[5]!.body) as SlackMessage;
    assert.equal(overridden.text, `${TAG} was manually set to Accepted`);
    assert.match(JSON.stringify(overridden.blocks), /flake &lt;b&gt;&amp;&lt;\/b&gt;/, 'user text escaped for mrkdwn');
    assert.match(JSON.parse(chat[4]!.body).text as string, /QE time limit passed/);
  } finally {
    await rx.stop();
    await e.close();
  }
});

test('a receiver down for a while gets everything later, in order; a new webhook is not sent the history', async () => {
  const e = await env();
  const rx = new Receiver();
  await rx.start();
  const port = rx.port;
  await rx.stop(); // down: connections refused
  try {
    await e.commit([EVERY[0]![1]]); // before the webhook exists: not sent
    await e.start({ webhooks: [hook(`http://127.0.0.1:${port}/hook`)] });
    const ids = await e.commit(EVERY.map(([, c]) => c));
    await waitFor('attempts failing', async () => ((await e.store.notifications!.pendingDeliveries('art', 1))[0]?.attempts ?? 0) >= 2);
    const head = (await e.store.notifications!.pendingDeliveries('art', 1))[0]!;
    assert.equal(head.eventId, ids[0]);
    assert.match(head.lastError, /request failed: ECONNREFUSED/);
    assert.equal(head.lastStatus, null);
    await rx.start(port);
    await waitFor('all delivered after the outage', () => rx.fresh.length === EVERY.length, 10_000);
    assert.deepEqual(rx.fresh, ids.map((id) => `${id}.art`));
    assert.equal(rx.requests.length, EVERY.length, 'each once: the receiver was down, nothing reached it twice');
  } finally {
    await rx.stop();
    await e.close();
  }
});

test('500 then 200 is one logical delivery (same id, same bytes); Retry-After is honoured; a permanent 4xx is recorded and not retried', async () => {
  const e = await env();
  const rx = await new Receiver().start();
  try {
    rx.respond = (r, nth) => {
      const type = String(r.headers['x-release-controller-event']);
      if (type === 'PayloadCreated' && nth === 1) return { status: 500, body: 'boom' };
      if (type === 'PayloadReady' && nth === 1) return { status: 429, headers: { 'retry-after': '1' } };
      if (type === 'PayloadAccepted') return { status: 410, body: 'gone\nfor good' };
      return { status: 200 };
    };
    await e.start({ webhooks: [hook(rx.url)] });
    const ids = await e.commit(EVERY.slice(0, 4).map(([, c]) => c));
    await waitFor('all handled', () => rx.fresh.length === 3, 10_000);
    const created = `${ids[0]}.art`;
    assert.equal(rx.bodies(created).length, 2);
    assert.equal(rx.bodies(created)[0], rx.bodies(created)[1], 'the retry sends the same bytes');
    const ready = rx.requests.filter((r) => r.id === `${ids[1]}.art`);
    assert.ok(ready[1]!.at - ready[0]!.at >= 950, `Retry-After: 1 honoured (${ready[1]!.at - ready[0]!.at} ms)`);
    assert.deepEqual(rx.fresh, [created, `${ids[1]}.art`, `${ids[3]}.art`], 'the refused one is skipped, the next delivered');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(rx.requests.filter((r) => r.id === `${ids[2]}.art`).length, 1, 'a permanent refusal is not retried');
    const rows = new Map((await e.store.notifications!.listDeliveries({})).map((d) => [d.eventId, d]));
    assert.deepEqual([rows.get(ids[0]!)!.state, rows.get(ids[0]!)!.attempts, rows.get(ids[0]!)!.lastStatus], ['delivered', 2, 200]);
    assert.deepEqual([rows.get(ids[2]!)!.state, rows.get(ids[2]!)!.attempts, rows.get(ids[2]!)!.lastStatus, rows.get(ids[2]!)!.lastError], ['failed', 1, 410, 'HTTP 410: gone for good']);
    const attempts = e.deliverers[0]!.attemptStats();
    assert.deepEqual(Object.fromEntries(attempts.map((a) => [a.outcome, a.count])), { retry: 2, ok: 3, permanent: 1 });
  } finally {
    await rx.stop();
    await e.close();
  }
});

test('the queue is bounded (drops recorded), retries stop after --notify-retry-for, and a removed webhook records its pending ones dropped', async () => {
  const e = await env();
  const rx = await new Receiver().start();
  try {
    rx.respond = () => ({ status: 503 });
    const d = await e.start({ webhooks: [hook(rx.url)] }, { maxQueue: 3, retryForMs: 600 });
    const ids = await e.commit(EVERY.slice(0, 5).map(([, c]) => c));
    await waitFor('queued and dropped', async () => (await e.store.notifications!.listDeliveries({})).length === 5);
    const dropped = await e.store.notifications!.listDeliveries({ state: 'dropped' });
    assert.deepEqual(dropped.map((x) => x.eventId).sort(), [ids[3], ids[4]].sort());
    assert.match(dropped[0]!.lastError, /queue is full/);
    await waitFor('given up after the retry window', async () => (await e.store.notifications!.listDeliveries({ state: 'failed' })).length === 3, 10_000);
    const failed = await e.store.notifications!.listDeliveries({ state: 'failed' });
    assert.ok(failed.every((x) => /^gave up after \d+ attempts/.test(x.lastError) && x.lastError.endsWith('HTTP 503') && x.attempts >= 1), failed.map((x) => x.lastError).join('; '));

    // a removed webhook: its pending deliveries are recorded dropped and its cursor forgotten
    rx.respond = () => ({ status: 503 });
    await d.setConfig({ webhooks: [hook(rx.url, { name: 'other' })] });
    const [late] = await e.commit([EVERY[0]![1]]);
    await waitFor('pending for other', async () => (await e.store.notifications!.pendingDeliveries('other', 5)).length === 1);
    await d.setConfig({ webhooks: [] });
    const other = await e.store.notifications!.listDeliveries({ webhook: 'other' });
    assert.deepEqual(other.map((x) => [x.eventId, x.state]), [[late, 'dropped']]);
    assert.match(other[0]!.lastError, /removed from the notify file/);
    assert.equal(await e.store.notifications!.notifyCursor('other'), null);
    assert.deepEqual(d.stats().filter((s) => s.count > 0), [
      { webhook: 'art', state: 'failed', count: 3 },
      { webhook: 'art', state: 'dropped', count: 2 },
      { webhook: 'other', state: 'dropped', count: 1 },
    ]);
  } finally {
    await rx.stop();
    await e.close();
  }
});

test('a restarted deliverer continues from its cursor and its pending deliveries (nothing lost, nothing queued twice)', async () => {
  const e = await env();
  const rx = await new Receiver().start();
  try {
    rx.respond = () => ({ status: 503 });
    const first = await e.start({ webhooks: [hook(rx.url)] });
    const before = await e.commit(EVERY.slice(0, 3).map(([, c]) => c));
    await waitFor('queued', async () => (await e.store.notifications!.listDeliveries({})).length === 3);
    await first.stop();
    e.deliverers.length = 0;
    // committed while no deliverer runs
    const during = await e.store.commit(EVERY.slice(3, 6).map(([, c]) => c));
    rx.respond = () => ({ status: 200 });
    await e.start({ webhooks: [hook(rx.url)] });
    await waitFor('all six', () => rx.fresh.length === 6, 10_000);
    assert.deepEqual(rx.fresh, [...before, ...during].map((id) => `${id}.art`));
    assert.equal((await e.store.notifications!.listDeliveries({})).length, 6);
  } finally {
    await rx.stop();
    await e.close();
  }
});

test('notify file: defaults, ${VAR} expansion, and clear errors', () => {
  const ok = parseNotifyFile('webhooks:\n  - name: art\n    url: https://art.example/hook?k=${KEY}\n    secret: ${SECRET}\n    events: [QEAccepted]\n', 'n.yaml', { KEY: 'k1', SECRET: 'abc' });
  assert.deepEqual(ok.webhooks[0], { name: 'art', url: 'https://art.example/hook?k=k1', events: ['QEAccepted'], streams: [], format: 'cloudevents', secret: 'abc' });
  assert.deepEqual(parseNotifyFile('webhooks:\n  - {name: a, url: "http://x/$${literal}"}\n', 'n.yaml', {}).webhooks[0]!.url, 'http://x/${literal}');
  assert.deepEqual(parseNotifyFile('webhooks: []\n', 'n.yaml', {}).webhooks, []);
  const bad: [string, RegExp][] = [
    ['webhooks:\n  - {name: a, url: "http://x", secret: "${MISSING}"}\n', /n\.yaml: webhooks\.0\.secret: environment variable MISSING is not set$/],
    ['webhooks:\n  - {name: a, url: "ftp://x"}\n', /webhooks\.0\.url: must be an http or https URL/],
    ['webhooks:\n  - {name: a, url: "http://x", events: [Approved]}\n', /webhooks\.0\.events\.0: must be one of PayloadCreated, .* \(got "Approved"\)/],
    ['webhooks:\n  - {name: a, url: "http://x", format: teams}\n', /webhooks\.0\.format: must be one of cloudevents, slack/],
    ['webhooks:\n  - {name: a, url: "http://x"}\n  - {name: a, url: "http://y"}\n', /webhooks\.1\.name: a is listed twice/],
    ['webhooks:\n  - {name: "a b", url: "http://x"}\n', /webhooks\.0\.name: must be 1-63 letters/],
    ['webhooks:\n  - {name: a, url: "http://x", color: red}\n', /webhooks\.0: unknown field color/],
    ['webhooks: [\n', /\(root\): invalid YAML/],
  ];
  for (const [text, re] of bad) assert.throws(() => parseNotifyFile(text, 'n.yaml', {}), re, text);
});
