// Operations endpoints: /healthz, /readyz, /metrics (a registry per app) and /openapi.json, which
// must describe every route the server really serves (the console's included).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.ts';
import { createMetrics } from '../../src/http/metrics.ts';
import type { Store } from '../../src/ports/store.ts';
import { NIGHTLY, ReadOps, T, seedStore } from '../helpers/api-seed.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';

/** Method + path of every route, from Fastify's own route tree (HEAD twins left out). */
function servedRoutes(app: FastifyInstance): Set<string> {
  const out = new Set<string>();
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([^)]*)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1].length / 4;
    stack.length = depth;
    const full = (depth > 0 ? stack[depth - 1] : '') + m[2];
    stack.push(full);
    for (const method of (m[3] ?? '').split(', ').filter(Boolean)) if (method !== 'HEAD') out.add(`${method} ${full}`);
  }
  return out;
}

function documentedRoutes(doc: { paths: Record<string, Record<string, unknown>> }): Set<string> {
  const out = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths)) for (const method of Object.keys(ops)) out.add(`${method.toUpperCase()} ${path.replace(/\{([A-Za-z]+)\}/g, ':$1')}`);
  return out;
}

describe('health, readiness, metrics, OpenAPI', () => {
  let dir: string;
  let store: Store;
  let ops: ReadOps;
  let app: FastifyInstance;

  before(async () => {
    dir = tempDir('rc-api-ops-');
    store = await seedStore(dir);
    ops = await ReadOps.load(store);
    app = await buildApp({
      ops,
      tokens: [{ user: 'a', token: 'ops-admin-token-0123456789', roles: ['admin'] }],
      registerPages: async (a) => {
        a.get('/', async () => 'console');
        a.get('/releasestream/:release', async () => 'stream page');
      },
    });
  });
  after(async () => {
    await app.close();
    await store.close();
    cleanup(dir);
  });

  test('/healthz → 200 ok', async () => {
    const r = await app.inject({ url: '/healthz' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, 'ok\n');
  });

  test('/readyz follows ops.ready()', async () => {
    assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
    const starting = Object.assign(Object.create(ops) as ReadOps, { ready: () => false });
    const a = await buildApp({ ops: starting });
    try {
      const r = await a.inject({ url: '/readyz' });
      assert.equal(r.statusCode, 503);
      assert.equal(r.body, 'not ready\n');
    } finally {
      await a.close();
    }
  });

  test('/metrics: payloads by stream/phase/QE phase, runs by state, reconcile and HTTP histograms', async () => {
    await app.inject({ url: `/api/v1/releasestream/${NIGHTLY}/release/${T(3)}` });
    const r = await app.inject({ url: '/metrics' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    const text = r.body;
    assert.match(text, /^release_controller_payloads\{stream="4\.16\.0-0\.nightly",phase="Accepted",qe_phase="QEAccepted"\} 2$/m);
    assert.match(text, /^release_controller_payloads\{stream="4-stable",phase="Accepted",qe_phase=""\} 3$/m);
    assert.match(text, /^release_controller_job_runs\{state="Pending"\} 2$/m);
    assert.match(text, /^release_controller_job_runs\{state="Failed"\} 7$/m);
    assert.match(text, /^# TYPE release_controller_reconcile_duration_seconds histogram$/m);
    assert.match(text, /^release_controller_http_request_duration_seconds_count\{route="\/api\/v1\/releasestream\/:release\/release\/:tag",method="GET",status="200"\} 1$/m);
  });

  test('/metrics: the live state is read at scrape time; unmatched URLs share one label', async () => {
    await app.inject({ url: '/no/such/thing/1' });
    await app.inject({ url: '/no/such/thing/2' });
    const text = (await app.inject({ url: '/metrics' })).body;
    assert.match(text, /^release_controller_http_request_duration_seconds_count\{route="unmatched",method="GET",status="404"\} 2$/m);
    ops.emit({ id: 1, at: '', stream: NIGHTLY, tag: T(1), type: 'PhaseChanged', actor: 'controller', message: '', data: {} });
    assert.match((await app.inject({ url: '/metrics' })).body, /^release_controller_events_total\{type="PhaseChanged"\} 1$/m);
  });

  test('metrics: one registry per app; the controller observes reconcile durations into a shared one', async () => {
    const m = createMetrics();
    const a = await buildApp({ ops, metrics: m });
    const b = await buildApp({ ops });
    try {
      m.reconcileDuration.observe({ stream: NIGHTLY }, 0.003);
      assert.match((await a.inject({ url: '/metrics' })).body, /^release_controller_reconcile_duration_seconds_count\{stream="4\.16\.0-0\.nightly"\} 1$/m);
      assert.doesNotMatch((await b.inject({ url: '/metrics' })).body, /reconcile_duration_seconds_count\{/);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('/openapi.json documents exactly the routes the server serves, console pages included', async () => {
    const r = await app.inject({ url: '/openapi.json' });
    assert.equal(r.statusCode, 200);
    const doc = r.json();
    assert.equal(doc.openapi, '3.0.3');
    const served = servedRoutes(app);
    assert.ok(served.size > 25, `parsed ${served.size} routes`);
    assert.ok(served.has('GET /releasestream/:release'), 'the console route is served');
    assert.deepEqual([...documentedRoutes(doc)].sort(), [...served].sort());
  });

  test('/openapi.json: write routes carry bearer security, roles and a request body schema derived from zod', async () => {
    const doc = (await app.inject({ url: '/openapi.json' })).json();
    const override = doc.paths['/api/v1/releasestream/{release}/release/{tag}/override'].post;
    assert.deepEqual(override.security, [{ bearer: [] }]);
    assert.deepEqual(override['x-roles'], ['admin']);
    const schema = override.requestBody.content['application/json'].schema;
    assert.deepEqual(schema.required, ['phase', 'reason']);
    assert.deepEqual(schema.properties.phase, { type: 'string', enum: ['Accepted', 'Rejected'] });
    assert.equal(schema.properties.reason.minLength, 1);
    assert.equal(schema.additionalProperties, false);
    const input = doc.paths['/api/v1/inputstreams/{input}/tags'].put.requestBody.content['application/json'].schema;
    // a component is a pull spec, or {pullSpec, labels} (labels carry commit ids and source repositories)
    const pullSpecSchema = { type: 'string', minLength: 1, maxLength: 1024 };
    assert.deepEqual(input.properties.tags.additionalProperties.oneOf[0], pullSpecSchema);
    assert.deepEqual(input.properties.tags.additionalProperties.oneOf[1].properties.pullSpec, pullSpecSchema);
    assert.deepEqual(input.properties.tags.additionalProperties.oneOf[1].required, ['pullSpec']);
    const tags = doc.paths['/api/v1/releasestream/{release}/tags'].get;
    assert.deepEqual(tags.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`), ['path:release', 'query:phase', 'query:format']);
    assert.equal(doc.components.securitySchemes.bearer.scheme, 'bearer');
  });
});
