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
import type { Store } from '../../src/ports/store.ts';
import { NIGHTLY, ReadOps, STABLE, T, listenApp, seedStore, seededController } from '../helpers/api-seed.ts';
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
    let port: number;
    ({ app, port } = await listenApp({ ops: controller, tokens: [{ user: 'casey-ci', token: CI, roles: ['ci'] }], events: { heartbeatMs: 100 } }));
    base = `http://127.0.0.1:${port}`;
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
    const { app: a, port } = await listenApp({ ops: controller });
    const c = sse(`http://127.0.0.1:${port}`, '/api/v1/events');
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
    ({ app, port } = await listenApp({ ops, events: { maxBufferedBytes: 64 * 1024 } }));
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

/** A raw connection that asks for the feed and then never reads; resolves with the response head once it arrives. */
function nonReader(port: number, path = '/api/v1/events', headers = '') {
  const sock = connect(port, '127.0.0.1');
  let head = '';
  let closed = false;
  sock.on('error', () => undefined);
  sock.on('close', () => (closed = true));
  const response = new Promise<string>((resolve) => {
    let paused = false;
    sock.on('data', (d) => {
      if (paused) return;
      head += d.toString('latin1');
      // the head, then stop reading: the socket's buffers fill as the server writes
      if (head.includes('\r\n\r\n')) {
        paused = true;
        sock.pause();
        resolve(head);
      }
    });
    sock.on('close', () => resolve(head));
  });
  sock.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n${headers}\r\n`);
  return { sock, response, isClosed: () => closed };
}

const feedGauge = async (app: FastifyInstance) => Number(/^release_controller_live_feed_connections (\d+)$/m.exec((await app.inject({ url: '/metrics' })).body)?.[1]);

describe('live feed: connection cap, replay bounds, server timeouts', () => {
  let dir: string;
  let store: Store;
  let ops: ReadOps;

  before(async () => {
    dir = tempDir('rc-api-events-cap-');
    store = await seedStore(dir);
    ops = await ReadOps.load(store);
  });
  after(async () => {
    await store.close();
    cleanup(dir);
  });

  /** appended to the store, then emitted: as the controller does */
  const append = async (n: number, size: number): Promise<EventRecord[]> => {
    const events: EventRecord[] = Array.from({ length: n }, (_, i) => ({ at: '2024-05-01T00:00:00Z', stream: NIGHTLY, tag: T(1), type: 'Note', actor: 'test', message: `${i} ${'m'.repeat(size)}`, data: {} }));
    const ids = await store.commit(events.map((event) => ({ kind: 'appendEvent' as const, event })));
    return events.map((e, i) => ({ ...e, id: ids[i] }));
  };

  test('past the cap a feed is refused with 503 + Retry-After; clients that never read are dropped and their slots freed', async () => {
    const { app, port } = await listenApp({ ops, events: { maxConnections: 4, maxBufferedBytes: 64 * 1024, heartbeatMs: 100 } });
    try {
      const readers = Array.from({ length: 4 }, () => nonReader(port));
      for (const r of readers) assert.match(await r.response, /^HTTP\/1\.1 200 /);
      assert.equal(await feedGauge(app), 4);
      const extra = await fetch(`http://127.0.0.1:${port}/api/v1/events`);
      assert.equal(extra.status, 503);
      assert.equal(extra.headers.get('retry-after'), '5');
      assert.match(((await extra.json()) as { error: string }).error, /too many live-feed connections \(4 open\); retry later/);
      // events flow; none of the four reads: each is dropped once its buffers are full
      for (let i = 0; i < 3000 && (i % 50 || (await feedGauge(app)) > 0); i++) {
        ops.emit({ id: 1_000_000 + i, at: '2024-05-01T00:00:00Z', stream: NIGHTLY, tag: T(1), type: 'Note', actor: 'test', message: 'x'.repeat(16 * 1024), data: {} });
        if (i % 20 === 0) await new Promise((r) => setImmediate(r));
      }
      await waitFor('all four dropped', async () => (await feedGauge(app)) === 0, 10_000);
      // reading again, each finds its connection closed by the server
      for (const r of readers) r.sock.resume();
      await waitFor('their sockets closed by the server', () => readers.every((r) => r.isClosed()), 10_000);
      // the slots are free again
      const c = sse(`http://127.0.0.1:${port}`, '/api/v1/events');
      assert.equal((await c.ready).statusCode, 200);
      c.close();
    } finally {
      await app.close();
    }
  });

  test('a stalled client is dropped at a heartbeat even below the buffer limit (nothing left its buffer since the last one)', async () => {
    // a buffer limit the test never reaches: only the stall check can drop this client
    const { app, port } = await listenApp({ ops, events: { heartbeatMs: 100, maxBufferedBytes: 256 << 20 } });
    try {
      const r = nonReader(port);
      await r.response;
      // 32 MB: more than the kernel's socket buffers hold, so some bytes wait in the server
      for (let i = 0; i < 4000 && (i % 100 || (await feedGauge(app)) > 0); i++) {
        ops.emit({ id: 2_000_000 + i, at: '2024-05-01T00:00:00Z', stream: NIGHTLY, tag: T(1), type: 'Note', actor: 'test', message: 'y'.repeat(8 * 1024), data: {} });
        if (i % 20 === 0) await new Promise((res) => setImmediate(res));
      }
      await waitFor('the stalled client dropped', async () => (await feedGauge(app)) === 0, 10_000);
      r.sock.resume();
      await waitFor('its socket closed by the server', () => r.isClosed(), 10_000);
    } finally {
      await app.close();
    }
  });

  test('a replay of many large events reaches a reading client in full: pages and backpressure, not the buffer limit', async () => {
    // 64 KiB per client, 1,200 events of ~2 KiB (2.4 MB): without waiting for the socket the replay would be dropped
    const { app, port } = await listenApp({ ops, events: { maxBufferedBytes: 64 * 1024 } });
    try {
      const first = (await store.listEvents({ limit: 1_000_000 })).at(-1)!.id!;
      const appended = await append(1200, 2048);
      const c = sse(`http://127.0.0.1:${port}`, '/api/v1/events', { 'last-event-id': String(first) });
      await c.ready;
      await waitFor('the whole replay', () => c.events.length >= appended.length, 20_000);
      assert.deepEqual(c.events.map((e) => Number(e.id)), appended.map((e) => e.id));
      c.close();
    } finally {
      await app.close();
    }
  });

  test('live events during a long replay beyond the queue bound are read back from the store: none lost, none twice, in order', async () => {
    const { app, port } = await listenApp({ ops, events: { maxBufferedBytes: 1 << 20 } });
    try {
      const from = (await store.listEvents({ limit: 1_000_000 })).at(-1)!.id!;
      // 24 MB: far more than the socket buffers take while the client does not read
      const old = await append(3000, 8192);
      // a client that stops reading after its first bytes: the replay waits for its socket to drain
      const sock = connect(port, '127.0.0.1');
      sock.on('error', () => undefined);
      let text = '';
      let first = true;
      const started = new Promise<void>((r) =>
        sock.on('data', (d) => {
          text += d.toString('utf8');
          if (first) {
            first = false;
            sock.pause();
            r();
          }
        }),
      );
      sock.write(`GET /api/v1/events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: ${from}\r\n\r\n`);
      await started;
      // 1,500 live events (more than MAX_QUEUED_DURING_REPLAY) while the replay is blocked
      const live = await append(1500, 16);
      for (const e of live) ops.emit(e);
      sock.resume();
      const want = [...old, ...live].map((e) => e.id!);
      await waitFor('every event', () => (text.match(/^id: \d+$/gm) ?? []).length >= want.length, 20_000);
      const got = (text.match(/^id: (\d+)$/gm) ?? []).map((l) => Number(l.slice(4)));
      assert.deepEqual(got, want);
      sock.destroy();
    } finally {
      await app.close();
    }
  });

  test('?stream= naming no stream is a 404; HEAD answers the headers and ends', async () => {
    const { app, port } = await listenApp({ ops });
    try {
      const r = await app.inject({ url: '/api/v1/events?stream=no-such-stream' });
      assert.equal(r.statusCode, 404);
      assert.equal(r.json().error, 'unknown release stream no-such-stream');
      assert.equal((await app.inject({ url: '/api/v1/events?stream=__proto__' })).statusCode, 404);
      const head = await fetch(`http://127.0.0.1:${port}/api/v1/events`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      await head.text();
      assert.equal(await feedGauge(app), 0);
    } finally {
      await app.close();
    }
  });

  test('short server timeouts cut a slow sender but neither a live feed nor a slow answer', async () => {
    // timeouts far below the feed's lifetime and the slow answer's duration
    class SlowOps extends ReadOps {
      override async listEvents(q: Parameters<ReadOps['listEvents']>[0]) {
        await new Promise((r) => setTimeout(r, 1500));
        return super.listEvents(q);
      }
    }
    const slow = new SlowOps(ops.state, store);
    const { app, port } = await listenApp({
      ops: slow,
      events: { heartbeatMs: 100 },
      server: { headersTimeoutMs: 300, requestTimeoutMs: 500, keepAliveTimeoutMs: 300, checkIntervalMs: 100 },
    });
    try {
      const feed = sse(`http://127.0.0.1:${port}`, '/api/v1/events');
      assert.equal((await feed.ready).statusCode, 200);
      // a client sending its headers one byte at a time
      const dribble = connect(port, '127.0.0.1');
      let cut = '';
      let cutAt = 0;
      const t0 = Date.now();
      dribble.on('data', (d) => (cut += d));
      dribble.on('error', () => undefined);
      dribble.on('close', () => (cutAt = Date.now() - t0));
      const line = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'z'.repeat(1000);
      let i = 0;
      const iv = setInterval(() => (dribble.destroyed ? clearInterval(iv) : dribble.write(line[i++ % line.length])), 50);
      // a legitimate answer that takes three times the request timeout
      const slowAnswer = fetch(`http://127.0.0.1:${port}/api/v1/releasestream/${NIGHTLY}/release/${T(3)}/events`);
      await waitFor('the slow sender cut', () => cutAt > 0, 5000);
      clearInterval(iv);
      assert.match(cut, /^HTTP\/1\.1 408 Request Timeout\r\n/);
      assert.match(cut, /408 Request Timeout: the request was not received in time/);
      assert.ok(cutAt < 2000, `cut after ${cutAt} ms`);
      const res = await slowAnswer;
      assert.equal(res.status, 200);
      assert.ok(((await res.json()) as unknown[]).length > 0);
      // the feed outlived every timeout several times over and still receives heartbeats
      const beats = feed.comments.filter((c) => c === 'heartbeat').length;
      await waitFor('more heartbeats', () => feed.comments.filter((c) => c === 'heartbeat').length > beats + 3, 5000);
      assert.equal(feed.comments.filter((c) => c === 'heartbeat').length > 10, true);
      feed.close();
    } finally {
      await app.close();
    }
  });
});
