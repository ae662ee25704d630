// Malformed requests never get a 5xx (DESIGN.md §12): ≥ 1,000 generated requests from a fixed
// seed — bad JSON, wrong types, odd path segments (%00, %2F, .., unicode, very long), oversized
// bodies, odd and repeated query parameters, every method — against the real Controller on a
// seeded SQLite store. The server still answers /healthz afterwards, and no request naming a
// stream, tag or job the seed does not have succeeds.
//
// Then a deterministic pass: every route with a name placeholder, with that name replaced by an
// Object.prototype member (`__proto__`, `constructor`, `toString`…), answers exactly as it does
// for an ordinary unknown name, for GET and for its write method with a valid token and body;
// afterwards no job run has such a verify name and no payload phase moved.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Controller } from '../../src/controller/controller.ts';
import { buildApp } from '../../src/http/app.ts';
import { createPages } from '../../src/http/pages/index.ts';
import type { Store } from '../../src/ports/store.ts';
import { CONFIGS, NIGHTLY, PAYLOADS, RUNS, STABLE, T, seededController, type IdleExecutor } from '../helpers/api-seed.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';
import { mulberry32 } from '../../src/domain/random.ts';

const SEED = 0x5eed1234;
const REQUESTS = 1500;

/** seeded helpers over mulberry32 (src/domain/random.ts): small, fast, deterministic */
function rng(seed: number) {
  const next = mulberry32(seed);
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

/** Names the seed has, by placeholder: a request naming anything else must never get a 2xx. */
const KNOWN = new Map<string, Set<string>>([
  ['release', new Set(Object.keys(CONFIGS))],
  ['tag', new Set(PAYLOADS.keys())],
  ['job', new Set(Object.values(CONFIGS).flatMap((c) => [...Object.keys(c.verify ?? {}), ...Object.keys(c.periodic ?? {})]))],
]);

const decoded = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** A segment that names nothing the seed has (`.`, `..` and empty segments rewrite the path instead). */
function unknownName(kind: string, segment: string): boolean {
  const known = KNOWN.get(kind);
  const name = decoded(segment);
  return !!known && !['', '.', '..'].includes(name) && !known.has(name);
}

/** The message of a 4xx: JSON {"error": "…"} on our routes, a plain-text line on upstream's; null when there is none. */
function refusalMessage(res: { headers: Record<string, unknown>; body: string }): string | null {
  const type = String(res.headers['content-type'] ?? '');
  if (type.startsWith('application/json')) {
    try {
      const e = (JSON.parse(res.body) as { error?: unknown }).error;
      return typeof e === 'string' && e.trim().length >= 5 ? e : null;
    } catch {
      return null;
    }
  }
  return type.startsWith('text/plain') && res.body.endsWith('\n') && res.body.trim().length >= 5 ? res.body.trim() : null;
}

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
      const unknown: string[] = [];
      let path = r.pick(ROUTES).replace(/\{([a-z]+)\}/g, (_m, k: string) => {
        const v = VALID[k] && r.chance(0.5) ? r.pick(VALID[k]) : r.pick(SEGMENTS);
        if (unknownName(k, v)) unknown.push(k);
        return v;
      });
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
        // every refusal says why
        if (status >= 400 && method !== 'HEAD' && !refusalMessage(res)) failures.push(`${method} ${url.slice(0, 200)} → ${status} without a clear message: ${JSON.stringify(res.body.slice(0, 200))}`);
        // a stream, tag or job that does not exist is never found, whatever it is called
        if (status >= 200 && status < 300 && unknown.length) failures.push(`${method} ${url.slice(0, 200)} → ${status} for an unknown ${unknown.join(', ')}`);
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

// ---------------------------------------------------------------- names that are prototype members

/** Object.prototype members (and `prototype`): as a stream, tag, job or input name they mean nothing. */
const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'] as const;
/** the ordinary unknown name whose answer each prototype name must get */
const UNKNOWN = 'no-such-thing';

/** The seed's value of each placeholder that is not under test. */
const VALID_NAME = new Map<string, string>([
  ['release', NIGHTLY],
  // Accepted, QE started, gcp failed: each write below, with valid names, would be carried out on it
  ['tag', T(3)],
  ['job', 'gcp'],
  ['input', 'ocp-4.16'],
  ['kind', 'all'],
  ['run', RUNS[0].id],
  ['from', T(1)],
  ['jobType', 'informing'],
  ['phase', 'Accepted'],
]);

/** Placeholders naming a thing that must exist: an unknown one is a 4xx (query values and a new input may be fine). */
const MUST_EXIST = new Set(['release', 'tag', 'job', 'kind', 'run']);

/**
 * Routes beyond ROUTES (kept as they are, so the generated sequence above stays the same): the
 * waive write, name-like query values, the list kinds and the web console.
 */
const PROTO_EXTRA_ROUTES = [
  '/api/v1/releasestream/{release}/release/{tag}/jobs/{job}/waive',
  '/api/v1/releasestreams/{kind}',
  '/api/v1/releasestream/{release}/release/{tag}?from={from}',
  '/api/v1/releasestream/{release}/config?jobType={jobType}',
  '/api/v1/releasestream/{release}/tags?phase={phase}',
  '/api/v1/releasestream/{release}/latest?phase={phase}',
  '/releasestream/{release}',
  '/releasestream/{release}/release/{tag}',
  '/releasestream/{release}/release/{tag}?from={from}',
  '/releasetag/{tag}',
  '/releasetag/{tag}?from={from}',
  '/logs/{run}',
];

const placeholders = (tpl: string) => [...tpl.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1]);
const PROTO_ROUTES = [...ROUTES, ...PROTO_EXTRA_ROUTES].filter((tpl) => placeholders(tpl).length > 0 && placeholders(tpl).every((k) => VALID_NAME.has(k)));

const tokenOf = (role: 'admin' | 'qe' | 'ci') => TOKENS.find((t) => t.roles.includes(role as never))!.token;
const PULL = `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'e'.repeat(64)}`;

/** The write method of a route, with a token of a role it accepts and a body it accepts (writes.ts Bodies). */
const WRITES = new Map<string, { method: 'PUT' | 'POST'; token: string; body: unknown }>([
  ['/api/v1/inputstreams/{input}/tags', { method: 'PUT', token: tokenOf('ci'), body: { tags: { cli: PULL } } }],
  ['/api/v1/releasestream/{release}/release/{tag}/override', { method: 'POST', token: tokenOf('admin'), body: { phase: 'Accepted', reason: 'x' } }],
  ['/api/v1/releasestream/{release}/release/{tag}/qe', { method: 'POST', token: tokenOf('qe'), body: { verdict: 'QEAccepted', reason: 'x' } }],
  ['/api/v1/releasestream/{release}/release/{tag}/qe/rerun', { method: 'POST', token: tokenOf('qe'), body: { reason: 'x' } }],
  ['/api/v1/releasestream/{release}/release/{tag}/jobs/{job}/retry', { method: 'POST', token: tokenOf('ci'), body: { reason: 'x' } }],
  ['/api/v1/releasestream/{release}/release/{tag}/jobs/{job}/waive', { method: 'POST', token: tokenOf('ci'), body: { reason: 'x' } }],
]);

function fill(tpl: string, kind: string, name: string): string {
  return tpl.replace(/\{([A-Za-z]+)\}/g, (_m, k: string) => encodeURIComponent(k === kind ? name : VALID_NAME.get(k)!));
}

/** A body with the name under test written as {name}, so answers for different names compare. */
const generic = (body: string, name: string) => body.split(name).join('{name}');

const isBogusName = (n: string) => n === UNKNOWN || (PROTO_NAMES as readonly string[]).includes(n);

describe('names that are Object.prototype members are unknown names', () => {
  let dir: string;
  let store: Store;
  let controller: Controller;
  let executor: IdleExecutor;
  let app: FastifyInstance;
  let phasesBefore: string[];

  const phases = () => controller.state.streams().flatMap((s) => controller.state.payloads(s.name).map((p) => `${p.stream} ${p.tag} ${p.phase} ${p.qe.state}`)).sort();

  before(async () => {
    dir = tempDir('rc-api-proto-');
    // not started: nothing reconciles unless a request wakes a stream
    ({ controller, store, executor } = await seededController(dir));
    app = await buildApp({ ops: controller, tokens: TOKENS, registerPages: createPages(controller) });
    phasesBefore = phases();
  });
  after(async () => {
    await app.close();
    await controller.stop();
    await store.close();
    cleanup(dir);
  });

  for (const tpl of PROTO_ROUTES) {
    const write = WRITES.get(tpl);
    for (const kind of placeholders(tpl)) {
      for (const method of ['GET', ...(write ? [write.method] : [])] as const) {
        test(`${method} ${tpl}: {${kind}} = ${PROTO_NAMES.join(' | ')} answers as {${kind}} = ${UNKNOWN}`, async () => {
          const send = (name: string) =>
            app.inject({
              method,
              url: fill(tpl, kind, name),
              ...(method === 'GET' ? {} : { headers: { authorization: `Bearer ${write!.token}`, 'content-type': 'application/json' }, payload: JSON.stringify(write!.body) }),
            });
          const base = await send(UNKNOWN);
          if (MUST_EXIST.has(kind)) assert.ok(base.statusCode >= 400 && base.statusCode < 500, `${UNKNOWN} → ${base.statusCode} ${base.body.slice(0, 200)}`);
          // the token and the body are accepted: only the name is refused
          if (method !== 'GET' && MUST_EXIST.has(kind)) assert.equal(base.statusCode, 404, `${UNKNOWN} → ${base.statusCode} ${base.body.slice(0, 200)}`);
          const json = tpl.startsWith('/api/');
          const wrong: string[] = [];
          for (const name of PROTO_NAMES) {
            const res = await send(name);
            if (res.statusCode !== base.statusCode || (json && generic(res.body, name) !== generic(base.body, UNKNOWN))) {
              wrong.push(`${name} → ${res.statusCode} ${res.body.slice(0, 160).replace(/\s+/g, ' ')}`);
            }
          }
          assert.deepEqual(wrong, [], `expected ${base.statusCode} ${base.body.slice(0, 160).replace(/\s+/g, ' ')} (as for ${UNKNOWN})`);
        });
      }
    }
  }

  test('component names in an input update that are prototype members are plain component names', async () => {
    const wrong: string[] = [];
    for (const [i, name] of [UNKNOWN, ...PROTO_NAMES.filter((n) => n !== '__proto__')].entries()) {
      const input = `proto-components-${i}`;
      const res = await app.inject({
        method: 'PUT', url: `/api/v1/inputstreams/${input}/tags`, headers: { authorization: `Bearer ${tokenOf('ci')}`, 'content-type': 'application/json' }, payload: JSON.stringify({ tags: { [name]: PULL } }),
      });
      const tags = controller.state.inputTags(input).map((t) => [t.component, t.pullSpec, JSON.stringify(t.labels)]);
      if (res.statusCode !== 200) wrong.push(`${name} → ${res.statusCode} ${res.body.slice(0, 160)}`);
      else assert.deepEqual(tags, [[name, PULL, '{}']], name);
    }
    assert.deepEqual(wrong, []);
    // `__proto__` as a JSON key is refused by the body parser before any handler runs
    const res = await app.inject({
      method: 'PUT', url: '/api/v1/inputstreams/proto-components/tags', headers: { authorization: `Bearer ${tokenOf('ci')}`, 'content-type': 'application/json' }, payload: `{"tags": {"__proto__": "${PULL}"}}`,
    });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(controller.state.inputTags('proto-components'), []);
  });

  test('afterwards: no job run is named after an unknown or prototype name', async () => {
    await controller.idle();
    const bogus = (runs: { id: string; verifyName: string }[]) => runs.filter((r) => isBogusName(r.verifyName)).map((r) => r.id);
    assert.deepEqual(
      { state: bogus([...controller.state.allRuns()]), store: bogus((await store.load()).jobRuns), launched: executor.launched.filter((id) => PROTO_NAMES.some((n) => id.endsWith(`-${n}`))) },
      { state: [], store: [], launched: [] },
    );
  });

  test('afterwards: no payload phase or QE state moved', async () => {
    await controller.idle();
    assert.deepEqual(phases(), phasesBefore);
  });
});
