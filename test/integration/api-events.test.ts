// The live feed on a real port: events appended by the real Controller arrive as Server-Sent
// Events; Last-Event-ID / ?since= replay from the store; ?stream= filters; heartbeats; a client
// that stops reading is dropped instead of growing server memory; listeners go away on close.
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Controller } from '../../src/controller/controller.ts';
import type { EventRecord } from '../../src/domain/types.ts';
import { buildApp } from '../../src/http/app.ts';
import type { Store } from '../../src/ports/store.ts';
import { NIGHTLY, ReadOps, STABLE, T, seedStore, seededController } from '../helpers/api-seed.ts';
import { cleanup, tempDir, waitFor } from '../helpers/harness.ts';

interface SseEvent {
  id: string;
  event: string;
  data: EventRecord;
}

/** A minimal SSE client over node:http that collects parsed events and comment lines. */
function sse(base: string, path: string, headers: Record<string, string> = {}) {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let buf = '';
  let res: IncomingMessage | undefined;
  const req = request(base + path, { headers: { accept: 'text/event-stream', ...headers } });
  const ready = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', (r) => {
      res = r;
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else {
              const c = line.indexOf(': ');
              if (c > 0) fields[line.slice(0, c)] = line.slice(c + 2);
            }
          }
          if (fields.event) events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) });
        }
      });
      resolve(r);
    });
    req.on('error', reject);
  });
  req.end();
  return { events, comments, ready, close: () => (res?.destroy(), req.destroy()) };
}

describe('live feed (SSE) with the real Controller', () => {
  let dir: string;
  let store: Store;
  let controller: Controller;
  let app: FastifyInstance;
  let base: string;
  const CI = 'ci-token-0123456789abcdef';

  before(async () => {
    dir = tempDir('rc-api-events-');
    ({ controller, store } = await seededController(dir));
    app = await buildApp({ ops: controller, tokens: [{ user: 'casey-ci', token: CI, roles: ['ci'] }], events: { heartbeatMs: 100 } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  after(async () => {
    await app.close();
    await controller.stop();
    await store.close();
    cleanup(dir);
  });

  test('a write through the API arrives on the feed as id/event/data', async () => {
    const c = sse(base, '/api/v1/events');
    try {
      const res = await c.ready;
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
      assert.equal(res.headers['cache-control'], 'no-cache');
      const w = await app.inject({ method: 'PUT', url: '/api/v1/inputstreams/feed-input/tags', payload: { tags: { cli: 'quay.io/x@sha256:1' } }, headers: { authorization: `Bearer ${CI}` } });
      assert.equal(w.statusCode, 200);
      const e = await waitFor('InputUpdated on the feed', () => c.events.find((x) => x.event === 'InputUpdated'), 5000);
      assert.match(e.id, /^\d+$/);
      assert.equal(e.data.id, Number(e.id));
      assert.equal(e.data.type, 'InputUpdated');
      assert.equal(e.data.actor, 'casey-ci');
      assert.deepEqual(e.data.data.components, ['cli']);
    } finally {
      c.close();
    }
  });

  test('heartbeat comments keep the connection alive', async () => {
    const c = sse(base, '/api/v1/events');
    try {
      await c.ready;
      await waitFor('a heartbeat', () => c.comments.includes('heartbeat'), 5000);
    } finally {
      c.close();
    }
  });

  test('Last-Event-ID replays what came after it, in order, then continues live', async () => {
    const c = sse(base, '/api/v1/events', { 'last-event-id': '0' });
    try {
      await c.ready;
      const all = await store.listEvents({ limit: 10_000 });
      await waitFor('the replay', () => c.events.length >= all.length, 5000);
      assert.deepEqual(c.events.slice(0, all.length).map((e) => Number(e.id)), all.map((e) => e.id));
      const last = all[all.length - 1].id!;
      await app.inject({ method: 'PUT', url: '/api/v1/inputstreams/feed-input/tags', payload: { tags: { cli: 'quay.io/x@sha256:2' } }, headers: { authorization: `Bearer ${CI}` } });
      const live = await waitFor('a live event after the replay', () => c.events.find((e) => Number(e.id) > last), 5000);
      assert.equal(live.event, 'InputUpdated');
      const ids = c.events.map((e) => Number(e.id));
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'no duplicates, no reordering');
      assert.equal(new Set(ids).size, ids.length);
    } finally {
      c.close();
    }
  });

  test('?since= with ?stream= replays only that stream', async () => {
    const c = sse(base, `/api/v1/events?since=0&stream=${encodeURIComponent(STABLE)}`);
    try {
      await c.ready;
      await waitFor('three stable PayloadCreated events', () => c.events.length >= 3, 5000);
      assert.ok(c.events.every((e) => e.data.stream === STABLE));
      assert.deepEqual(c.events.map((e) => e.data.tag).sort(), ['4.15.10', '4.15.3', '4.16.0-rc.1']);
    } finally {
      c.close();
    }
  });

  test('the app closes while a feed is connected (the feed is ended first)', async () => {
    const a = await buildApp({ ops: controller });
    await a.listen({ port: 0, host: '127.0.0.1' });
    const c = sse(`http://127.0.0.1:${(a.server.address() as { port: number }).port}`, '/api/v1/events');
    const res = await c.ready;
    const ended = new Promise<void>((r) => res.on('end', () => r()));
    await Promise.race([a.close(), new Promise((_r, reject) => setTimeout(() => reject(new Error('app.close() hung on an open feed')), 5000))]);
    await ended;
    c.close();
  });

  test('a bad Last-Event-ID / since is a 400 JSON error', async () => {
    const r = await app.inject({ url: '/api/v1/events', headers: { 'last-event-id': 'abc' } });
    assert.equal(r.statusCode, 400);
    assert.match(r.json().error, /non-negative integer/);
    assert.equal((await app.inject({ url: '/api/v1/events?since=-1' })).statusCode, 400);
  });

  test('event history of a payload (JSON, oldest first); 404 for unknown', async () => {
    const r = await app.inject({ url: `/api/v1/releasestream/${NIGHTLY}/release/${T(3)}/events` });
    assert.equal(r.statusCode, 200);
    const list = r.json() as EventRecord[];
    assert.equal(list[0].type, 'PayloadCreated');
    assert.ok(list.every((e) => e.tag === T(3)));
    const missing = await app.inject({ url: `/api/v1/releasestream/${NIGHTLY}/release/nope/events` });
    assert.equal(missing.statusCode, 404);
    assert.match(missing.json().error, /unknown release tag nope/);
    assert.equal((await app.inject({ url: '/api/v1/releasestream/nope/release/x/events' })).statusCode, 404);
  });
});

describe('live feed: listeners and slow clients', () => {
  let dir: string;
  let store: Store;
  let ops: ReadOps;
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    dir = tempDir('rc-api-events-slow-');
    store = await seedStore(dir);
    ops = await ReadOps.load(store);
    app = await buildApp({ ops, events: { maxBufferedBytes: 64 * 1024 } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });
  after(async () => {
    await app.close();
    await store.close();
    cleanup(dir);
  });

  const event = (i: number, size = 0): EventRecord => ({ id: 100_000 + i, at: '2024-05-01T00:00:00Z', stream: NIGHTLY, tag: T(1), type: 'Note', actor: 'test', message: 'x'.repeat(size), data: {} });

  test('closing the connection unsubscribes', async () => {
    const baseline = ops.listenerCount();
    const c = sse(`http://127.0.0.1:${port}`, '/api/v1/events');
    await c.ready;
    await waitFor('subscribed', () => ops.listenerCount() === baseline + 1, 5000);
    ops.emit(event(1));
    await waitFor('delivered', () => c.events.length === 1, 5000);
    c.close();
    await waitFor('unsubscribed', () => ops.listenerCount() === baseline, 5000);
  });

  test('a client that stops reading is dropped once its buffer is full; memory stays bounded', async () => {
    const baseline = ops.listenerCount();
    // a raw socket that sends the request and then never reads
    const sock = connect(port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write('GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    sock.pause();
    let closedByServer = false;
    sock.on('close', () => (closedByServer = true));
    sock.on('error', () => undefined);
    await waitFor('subscribed', () => ops.listenerCount() === baseline + 1, 5000);
    // far more than kernel socket buffers + the 64 KiB limit
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 4000 && ops.listenerCount() > baseline; i++) {
      ops.emit(event(i, 16 * 1024));
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    await waitFor('the slow client was dropped', () => ops.listenerCount() === baseline, 10_000);
    assert.ok(process.memoryUsage().rss - before < 48 * 1024 * 1024, 'the server did not buffer the whole backlog');
    sock.resume();
    await waitFor('the socket closed', () => closedByServer, 10_000);
    sock.destroy();
  });
});
