// The API response cache is bounded by bytes and keyed only by what a route reads: junk query
// parameters (`?x=1`, `?x=2`, …) from anyone map to the entry of the plain URL and evict nothing;
// distinct real answers are evicted least recently used first, and the bytes held never exceed
// the bound. Read through /metrics, as an operator sees it, on the real app over a seeded store.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.ts';
import { ByteLru, cacheKeyOf } from '../../src/http/cache.ts';
import type { Store } from '../../src/ports/store.ts';
import { NIGHTLY, ReadOps, STABLE, T, seedStore } from '../helpers/api-seed.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';

test('ByteLru: evicts the least recently used until the bytes fit; never holds more than the bound', () => {
  const lru = new ByteLru<{ bytes: number }>(1000);
  const key = (i: number) => `k${i}`; // 2 characters: 4 bytes of key
  for (let i = 0; i < 5; i++) assert.equal(lru.set(key(i), { bytes: 196 }), true);
  assert.equal(lru.bytes, 1000);
  lru.get(key(0)); // k0 is now the most recent
  lru.set(key(5), { bytes: 196 });
  assert.equal(lru.bytes, 1000);
  assert.ok(lru.get(key(0)), 'the recently read entry stays');
  assert.equal(lru.get(key(1)), undefined, 'the least recently used one went');
  assert.equal(lru.set('huge', { bytes: 2000 }), false, 'larger than the whole bound: not kept');
  assert.equal(lru.get('huge'), undefined);
  for (let i = 0; i < 10_000; i++) {
    lru.set(`x${i}`, { bytes: 1 + (i % 300) });
    assert.ok(lru.bytes <= 1000, `${lru.bytes} bytes after ${i}`);
  }
  lru.set(key(9), { bytes: 100 });
  lru.set(key(9), { bytes: 50 });
  lru.delete(key(9));
  lru.clear();
  assert.equal(lru.bytes, 0);
  assert.equal(lru.size, 0);
});

test('cacheKeyOf: route, decoded params and the documented query only; order of parameters and of phase values does not matter', () => {
  const route = '/api/v1/releasestream/:release/latest';
  const known = ['phase', 'prefix', 'in', 'rel', 'format'];
  const k = (q: Record<string, unknown>) => cacheKeyOf(route, { release: NIGHTLY }, q, known);
  assert.equal(k({}), k({ x: '1' }));
  assert.equal(k({ prefix: 'a', rel: '1' }), k({ rel: '1', junk: 'y', prefix: 'a' }));
  assert.equal(k({ phase: ['Accepted', 'QEAccepted'] }), k({ phase: ['QEAccepted', 'Accepted', 'Accepted'] }));
  assert.notEqual(k({ phase: 'Accepted' }), k({ phase: 'Rejected' }));
  assert.notEqual(k({ prefix: 'a' }), k({ prefix: 'b' }));
  // single-valued parameters: the routes read the first value only
  assert.equal(k({ rel: ['1', '2'] }), k({ rel: ['1', '3'] }));
  assert.notEqual(k({}), cacheKeyOf(route, { release: STABLE }, {}, known));
  // a prototype name as a query key is a plain (unknown) key
  assert.equal(k({ __proto__: 'x', constructor: 'y' } as never), k({}));
});

describe('response cache over the real app', () => {
  let dir: string;
  let store: Store;
  let ops: ReadOps;
  const apps: FastifyInstance[] = [];

  before(async () => {
    dir = tempDir('rc-cache-');
    store = await seedStore(dir);
    ops = await ReadOps.load(store);
  });
  after(async () => {
    for (const a of apps) await a.close();
    await store.close();
    cleanup(dir);
  });

  const app = async (cacheBytes?: number) => {
    const a = await buildApp({ ops, cacheBytes });
    apps.push(a);
    return a;
  };
  const gauges = async (a: FastifyInstance) => {
    const text = (await a.inject({ url: '/metrics' })).body;
    const g = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    return { bytes: g('release_controller_http_cache_bytes'), entries: g('release_controller_http_cache_entries') };
  };

  test('5,000 distinct junk query strings: one entry, answered from the cache, the real entries stay', async () => {
    const a = await app();
    const urls = [`/api/v1/releasestream/${NIGHTLY}/tags`, `/api/v1/releasestream/${NIGHTLY}/latest`, '/api/v1/releasestreams/all'];
    const plain = new Map<string, string>();
    for (const u of urls) plain.set(u, (await a.inject({ url: u })).body);
    const before = await gauges(a);
    assert.equal(before.entries, 3);
    for (let i = 0; i < 5000; i++) {
      const u = urls[i % urls.length];
      const r = await a.inject({ url: `${u}?x=${i}&${encodeURIComponent(`junk-${i}`)}=${'v'.repeat(i % 50)}&__proto__=${i}` });
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['x-cache'], 'hit', `${u} with junk ${i}`);
      assert.equal(r.body, plain.get(u));
    }
    assert.deepEqual(await gauges(a), before, 'the cache did not grow');
    // a parameter the route reads is part of the key
    const filtered = await a.inject({ url: `/api/v1/releasestream/${NIGHTLY}/tags?phase=Accepted&x=1` });
    assert.equal(filtered.headers['x-cache'], undefined);
    assert.notEqual(filtered.body, plain.get(urls[0]));
    assert.equal((await a.inject({ url: `/api/v1/releasestream/${NIGHTLY}/tags?x=2&phase=Accepted` })).headers['x-cache'], 'hit');
  });

  test('error answers are not kept: thousands of unknown names do not grow the cache', async () => {
    const a = await app();
    await a.inject({ url: `/api/v1/releasestream/${NIGHTLY}/tags` });
    const before = await gauges(a);
    for (let i = 0; i < 2000; i++) {
      const r = await a.inject({ url: i % 2 ? `/api/v1/releasestream/no-such-${i}/tags` : `/api/v1/releasestream/${NIGHTLY}/latest?format=bad-${i}` });
      assert.ok(r.statusCode === 404 || r.statusCode === 400, String(r.statusCode));
    }
    assert.deepEqual(await gauges(a), before);
  });

  test('distinct real answers: the bytes held never exceed the bound; the least recently used go first', async () => {
    const bound = 32 * 1024;
    const a = await app(bound);
    const hot = `/api/v1/releasestream/${NIGHTLY}/release/${T(3)}`;
    await a.inject({ url: hot });
    // each (prefix, range) pair is a distinct 200 answer: same body, distinct key
    const url = (i: number) => `/api/v1/releasestream/${NIGHTLY}/latest?prefix=${encodeURIComponent(NIGHTLY.slice(0, 1 + (i % NIGHTLY.length)))}&in=${encodeURIComponent(`>=4.${i}.0-0 || >=1.0.0-0`)}`;
    let maxSeen = 0;
    for (let i = 0; i < 400; i++) {
      const r = await a.inject({ url: url(i) });
      assert.equal(r.statusCode, 200, r.body);
      // read more recently than the last ~10 answers, so it stays
      if (i % 10 === 0) assert.equal((await a.inject({ url: hot })).headers['x-cache'], 'hit', `an entry read often stays (${i}: ${JSON.stringify(await gauges(a))})`);
      const g = await gauges(a);
      maxSeen = Math.max(maxSeen, g.bytes);
      assert.ok(g.bytes <= bound, `${g.bytes} bytes held, bound ${bound}`);
    }
    assert.ok(maxSeen > bound * 0.9, `the cache filled up (${maxSeen} bytes at most)`);
    const g = await gauges(a);
    assert.ok(g.entries < 100, `${g.entries} entries: older answers were evicted`);
    assert.equal((await a.inject({ url: url(0) })).headers['x-cache'], undefined, 'the oldest answer went first');
    assert.equal((await a.inject({ url: url(399) })).headers['x-cache'], 'hit', 'the newest is still there');
    // cacheBytes: 0 turns it off
    const off = await app(0);
    await off.inject({ url: hot });
    assert.equal((await off.inject({ url: hot })).headers['x-cache'], undefined);
    assert.deepEqual(await gauges(off), { bytes: 0, entries: 0 });
  });
});

describe('cached answers before the framework (a real socket)', () => {
  let dir: string;
  let store: Store;
  let ops: ReadOps;
  let a: FastifyInstance;
  let base: string;

  before(async () => {
    dir = tempDir('rc-cache-front-');
    store = await seedStore(dir);
    ops = await ReadOps.load(store);
    a = await buildApp({ ops });
    await a.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(a.server.address() as { port: number }).port}`;
  });
  after(async () => {
    await a.close();
    await store.close();
    cleanup(dir);
  });

  const get = async (path: string) => {
    const r = await fetch(base + path);
    const headers: Record<string, string> = {};
    r.headers.forEach((v, k) => {
      if (k !== 'date') headers[k] = v;
    });
    return { status: r.status, headers, body: await r.text() };
  };
  const served = async (route: string) => {
    const text = (await a.inject({ url: '/metrics' })).body;
    const line = text.split('\n').find((l) => l.startsWith('release_controller_http_request_duration_seconds_count{') && l.includes(`route="${route}"`) && l.includes('method="GET"') && l.includes('status="200"'));
    return Number(line?.split(' ').pop() ?? 0);
  };

  test('a repeated URL gets the same status, headers and body as the cache hook sends; a state change is seen at once; every answer is counted', async () => {
    const path = `/api/v1/releasestream/${NIGHTLY}/tags?phase=Accepted&phase=Rejected`;
    const route = '/api/v1/releasestream/:release/tags';
    const first = await get(path);
    assert.equal(first.status, 200);
    assert.equal(first.headers['x-cache'], undefined, 'computed');
    // the hook's hit, through Fastify (inject never reaches the server's socket handler)
    const hook = await a.inject({ url: path });
    assert.equal(hook.headers['x-cache'], 'hit');
    const before = await served(route);
    for (let i = 0; i < 20; i++) {
      const again = await get(path);
      const expected: typeof first = { ...first, headers: { ...first.headers, 'x-cache': 'hit' } };
      assert.deepEqual(again, expected);
      assert.equal(again.headers['content-type'], hook.headers['content-type']);
      assert.equal(Number(again.headers['content-length']), Buffer.byteLength(hook.body));
      assert.equal(again.body, hook.body);
    }
    assert.equal((await served(route)) - before, 20, 'answers from before the framework are in the request metrics');

    // a change to the state: the next answer is computed from it, not taken from the URL index
    const p = ops.state.payloads(NIGHTLY).find((x) => x.phase === 'Accepted')!;
    ops.state.apply([{ kind: 'putPayload', payload: { ...p, phase: 'Rejected', reason: 'cache test' } } as never]);
    const fresh = await get(path);
    assert.equal(fresh.headers['x-cache'], undefined, 'computed again after the change');
    const tags = (JSON.parse(fresh.body) as { tags: { name: string; phase: string }[] }).tags;
    assert.equal(tags.find((t) => t.name === p.tag)?.phase, 'Rejected');
    assert.equal((await get(path)).headers['x-cache'], 'hit');

    // another spelling of the same request is routed, then answered from its own slot
    const other = `/api/v1/releasestream/${NIGHTLY}/tags?phase=Rejected&phase=Accepted&x=1`;
    assert.equal((await get(other)).body, fresh.body);
    // HEAD and errors are never answered before the framework
    assert.equal((await fetch(base + path, { method: 'HEAD' })).headers.get('x-cache'), null);
    assert.equal((await get(`/api/v1/releasestream/no-such/tags`)).status, 404);
    assert.equal((await get(`/api/v1/releasestream/no-such/tags`)).headers['x-cache'], undefined);
  });
});
