// Malformed requests never get a 5xx (DESIGN.md §12): ≥ 1,000 generated requests from a fixed
// seed — bad JSON, wrong types, odd path segments (%00, %2F, .., unicode, very long), oversized
// bodies, odd and repeated query parameters, every method — against the real Controller on a
// seeded SQLite store. The server still answers /healthz afterwards.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Controller } from '../../src/controller/controller.ts';
import { buildApp } from '../../src/http/app.ts';
import type { Store } from '../../src/ports/store.ts';
import { NIGHTLY, STABLE, T, seededController } from '../helpers/api-seed.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';

const SEED = 0x5eed1234;
const REQUESTS = 1500;

/** mulberry32: small, fast, deterministic */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
    chance: (p: number) => next() < p,
  };
}

const TOKENS = [
  { user: 'admin', token: 'fuzz-admin-token-0123456789', roles: ['admin' as const] },
  { user: 'qe', token: 'fuzz-qe-token-0123456789ab', roles: ['qe' as const] },
  { user: 'ci', token: 'fuzz-ci-token-0123456789ab', roles: ['ci' as const] },
];

const ROUTES = [
  '/api/v1/releasestream/{release}/tags',
  '/api/v1/releasestream/{release}/latest',
  '/api/v1/releasestream/{release}/candidate',
  '/api/v1/releasestream/{release}/release/{tag}',
  '/api/v1/releasestream/{release}/config',
  '/api/v1/releasestream/{release}/release/{tag}/events',
  '/api/v1/releasestreams/accepted',
  '/api/v1/releasestreams/all',
  '/api/v1/releasestreams/qeaccepted',
  '/api/v1/releasestreams/approvals',
  '/api/v1/releasetag/{tag}/qualifiers',
  '/releasestream/{release}/latest',
  '/releasestream/{release}/latest/download',
  '/releasestream/{release}/release/{tag}/download',
  '/api/v1/inputstreams/{input}/tags',
  '/api/v1/releasestream/{release}/release/{tag}/override',
  '/api/v1/releasestream/{release}/release/{tag}/qe',
  '/api/v1/releasestream/{release}/release/{tag}/qe/rerun',
  '/api/v1/releasestream/{release}/release/{tag}/jobs/{job}/retry',
  '/api/v1/events',
  '/healthz',
  '/readyz',
  '/metrics',
  '/openapi.json',
  '/{junk}',
  '/api/v1/{junk}/{junk}',
];

const SEGMENTS = [
  NIGHTLY, STABLE, T(1), T(3), T(7), '4.15.3', 'gcp', 'aws-serial', 'ocp-4.16', '', '.', '..', '%2e%2e', '%2F', 'a%2Fb', '%00', 'x%00y', '%', '%zz', '%C3%BC', 'ü', '%F0%9F%92%A5',
  '%E2%80%AE', '<script>', '%3Cscript%3E', "'%20OR%201=1--", '${jndi:x}', '%25', '+', '%20', '~', 'a'.repeat(300), 'b'.repeat(499), 'c'.repeat(501), 'd'.repeat(5000), '4.16.0-0.nightly%00',
  '__proto__', 'constructor', 'prototype', 'null', 'undefined', '0', '-1', '1e309',
];

const QUERY_KEYS = ['phase', 'format', 'in', 'rel', 'prefix', 'from', 'jobType', 'since', 'stream', 'index', 'team', 'channel', '__proto__', 'constructor', 'a[b]', '', 'x'.repeat(100)];
const QUERY_VALUES = [
  '', 'Accepted', 'QEAccepted', 'json', 'pullSpec', 'short', 'SHORT', 'name', 'downloadURL', 'yaml', '>4.15.0-0 <4.16.0-0', '>=', '||', '>=1.0.0 || ', '1.2.3 - ', '~>1', '^', 'x.y.z', '0', '-1', '+5', '01',
  '99999999999999999999999', '1e3', '0x10', 'NaN', '%00', '%FF', '%', 'a'.repeat(4000), 'ü', '<b>', T(1), 'nope', 'informing', 'periodic', 'disabled', '[]', '{}', 'true',
];

const CONTENT_TYPES = [undefined, 'application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', 'multipart/form-data; boundary=x', 'application/xml', 'application/json+evil', '*/*', ''];

function body(r: ReturnType<typeof rng>): string | undefined {
  switch (r.int(16)) {
    case 0:
      return undefined;
    case 1:
      return '';
    case 2:
      return '{';
    case 3:
      return '{"reason": "x",}';
    case 4:
      return 'null';
    case 5:
      return JSON.stringify(r.pick([1, 'str', true, [], [{ reason: 'x' }], { reason: null }, { reason: 1 }, { reason: ['x'] }, { reason: {} }]));
    case 6:
      return JSON.stringify({ phase: r.pick(['Accepted', 'Rejected', 'Ready', '', 1, null, 'accepted']), reason: r.pick(['x', '', ' ', 1, null, 'y'.repeat(5000)]) });
    case 7:
      return JSON.stringify({ verdict: r.pick(['QEAccepted', 'QERejected', 'QEPending', null, 0]), reason: r.pick(['ok', '', undefined]) });
    case 8:
      return JSON.stringify({ tags: r.pick([{}, [], null, 'x', { cli: 1 }, { cli: '' }, { '': 'x' }, { '../x': 'y' }, { cli: 'quay.io/x@sha256:1' }, { ['c'.repeat(300)]: 'x' }]) });
    case 9:
      return '{"__proto__": {"admin": true}, "reason": "x"}';
    case 10:
      return '{"constructor": {"prototype": {"x": 1}}}';
    case 11:
      return '['.repeat(20_000) + ']'.repeat(20_000);
    case 12:
      return '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
    case 13:
      // over the 1 MiB limit
      return JSON.stringify({ reason: 'z'.repeat((1 << 20) + r.int(4096)) });
    case 14:
      return '\u0000\u0001\ufffd\ud800';
    default:
      return JSON.stringify({ reason: 'fuzz', extra: r.int(10) });
  }
}

describe('fuzz: malformed requests never 5xx', () => {
  let dir: string;
  let store: Store;
  let controller: Controller;
  let app: FastifyInstance;

  before(async () => {
    dir = tempDir('rc-api-fuzz-');
    ({ controller, store } = await seededController(dir));
    // started, so /readyz is 200 and writes meet a controller that reconciles
    await controller.start();
    app = await buildApp({ ops: controller, tokens: TOKENS });
  });
  after(async () => {
    await app.close();
    await controller.stop();
    await store.close();
    cleanup(dir);
  });

  test(`${REQUESTS} generated requests (seed ${SEED.toString(16)}): no 5xx, then /healthz answers`, async () => {
    const r = rng(SEED);
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const method = r.pick(['GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'] as const);
      // half the path parameters are real names, so requests get past routing into the handlers
      const VALID: Record<string, string[]> = { release: [NIGHTLY, STABLE], tag: [T(1), T(3), T(4), T(7), '4.15.3'], job: ['gcp', 'aws-serial', 'qe-e2e'], input: ['ocp-4.16', 'fuzz-input'] };
      let path = r.pick(ROUTES).replace(/\{([a-z]+)\}/g, (_m, k: string) => (VALID[k] && r.chance(0.5) ? r.pick(VALID[k]) : r.pick(SEGMENTS)));
      if (r.chance(0.05)) path += '/' + r.pick(SEGMENTS);
      if (r.chance(0.03)) path = '/' + 'p/'.repeat(3000 + r.int(3000));
      if (r.chance(0.03)) path += '//';
      const query: string[] = [];
      for (let q = r.int(4); q > 0; q--) {
        const k = r.pick(QUERY_KEYS);
        const v = r.pick(QUERY_VALUES);
        query.push(r.chance(0.3) ? `${k}=${v}` : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
        if (r.chance(0.2)) query.push(`${encodeURIComponent(k)}=${encodeURIComponent(r.pick(QUERY_VALUES))}`); // repeated
      }
      if (r.chance(0.05)) query.push('&&==&');
      const url = path + (query.length ? `?${query.join('&')}` : '');
      const headers: Record<string, string> = {};
      const ct = r.pick(CONTENT_TYPES);
      if (ct !== undefined) headers['content-type'] = ct;
      if (r.chance(0.6)) headers.authorization = r.pick([`Bearer ${r.pick(TOKENS).token}`, 'Bearer', 'Bearer  ', `bearer ${TOKENS[0].token}`, 'Basic YTpi', `Bearer ${'t'.repeat(10_000)}`, 'Bearer \u00e9']);
      // a well-formed live-feed request would stream forever: the feed always gets a bad Last-Event-ID here
      if (path.startsWith('/api/v1/events')) headers['last-event-id'] = r.pick(['abc', '-1', '1.5', '', ' ', '9'.repeat(40)]) || 'x';
      const payload = method === 'GET' || method === 'HEAD' ? (r.chance(0.1) ? body(r) : undefined) : body(r);
      let status: number;
      try {
        const res = await app.inject({ method, url, headers, ...(payload !== undefined ? { payload } : {}) });
        status = res.statusCode;
        if (status >= 500) failures.push(`${method} ${url.slice(0, 200)} → ${status} ${res.body.slice(0, 200)}`);
      } catch (e) {
        status = -1;
        failures.push(`${method} ${url.slice(0, 200)} → threw ${(e as Error).message}`);
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    process.stdout.write(`fuzz status counts: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}\n`);
    assert.deepEqual(failures, []);
    // the generator reaches every kind of refusal, and some requests succeed
    for (const s of [200, 400, 401, 403, 404, 413]) assert.ok(statuses.get(s), `no ${s} among ${JSON.stringify([...statuses].sort())}`);
    const h = await app.inject({ url: '/healthz' });
    assert.equal(h.statusCode, 200);
    assert.equal(h.body, 'ok\n');
  });
});
