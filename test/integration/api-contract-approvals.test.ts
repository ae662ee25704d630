// Team approvals through the HTTP API on the REAL Controller and a seeded SQLite store (issue 16
// item 6): POST …/release/{tag}/approval (roles admin or the team, 400/401/403/404/409, annotation
// and audit event) and upstream's GET /api/v1/releasestreams/approvals wire contract (semver
// descending tag objects, [] when none, index, plain-text 400s, one-space indentation), with the
// qe team derived from the QE verdict.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { buildApp } from '../../src/http/app.ts';
import type { TokenEntry } from '../../src/http/auth.ts';
import type { Store } from '../../src/ports/store.ts';
import { NIGHTLY, P, PLAIN, STABLE, T, seededController } from '../helpers/api-seed.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';
import { join } from 'node:path';

const TOKENS: TokenEntry[] = [
  { user: 'alice-admin', token: 'admin-token-0123456789abcdef', roles: ['admin'] },
  { user: 'quinn-qe', token: 'qe-token-0123456789abcdef', roles: ['qe'] },
  { user: 'casey-ci', token: 'ci-token-0123456789abcdef', roles: ['ci'] },
  { user: 'terry-trt', token: 'trt-token-0123456789abcdef', roles: ['trt'] },
];
const [ADMIN, QE, CI, TRT] = TOKENS.map((t) => t.token);
const ARTIFACTS = 'https://openshift-release-artifacts.example.com';
const PLAIN_TEXT = 'text/plain; charset=utf-8';
const approvalUrl = (stream: string, tag: string) => `/api/v1/releasestream/${stream}/release/${tag}/approval`;
/** upstream's APITag (plus our qePhase), one-space indentation */
const tagOf = (name: string, phase: string, pullSpec: string, qePhase: string) => ({ name, phase, pullSpec, downloadURL: `${ARTIFACTS}/${encodeURIComponent(name)}`, qePhase });

describe('team approvals API (real Controller, SQLite store)', () => {
  let dir: string;
  let store: Store;
  let controller: Controller;
  let app: FastifyInstance;

  before(async () => {
    dir = tempDir('rc-api-approvals-');
    ({ controller, store } = await seededController(dir));
    app = await buildApp({ ops: controller, tokens: TOKENS, logger: false, artifactsUrl: ARTIFACTS });
  });
  after(async () => {
    await app.close();
    await controller.stop();
    await store.close();
    cleanup(dir);
  });

  const post = async (url: string, body: unknown, token?: string) => {
    const r = await app.inject({
      method: 'POST', url, payload: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
    await controller.idle();
    return r;
  };
  const get = (url: string) => app.inject({ url });
  const names = async (url: string) => {
    const r = await get(url);
    assert.equal(r.statusCode, 200, r.body);
    return (r.json() as { name: string }[]).map((t) => t.name);
  };
  const pullSpecOf = (tag: string) => controller.state.findTag(tag)!.pullSpec;

  test('before any team approval: the qe team is the QE verdict (QE accepted while Accepted), raw wire form', async () => {
    const r = await get('/api/v1/releasestreams/approvals');
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    const want = [tagOf(T(4), 'Accepted', pullSpecOf(T(4)), 'QEAccepted'), tagOf(T(1), 'Accepted', pullSpecOf(T(1)), 'QEAccepted')];
    assert.equal(r.body, JSON.stringify(want, null, 1) + '\n', 'one-space indentation, trailing newline, upstream field order');
    assert.deepEqual(await names('/api/v1/releasestreams/approvals?team=qe'), [T(4), T(1)]);
    assert.deepEqual(await names('/api/v1/releasestreams/approvals?team=QE'), [T(4), T(1)], 'team names are lowercased, as upstream');
  });

  test('no match → [] (never null); index on an empty list → upstream’s 0--1 message', async () => {
    const r = await get('/api/v1/releasestreams/approvals?team=trt');
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, '[]\n');
    const e = await get('/api/v1/releasestreams/approvals?team=trt&index=0');
    assert.equal(e.statusCode, 400);
    assert.equal(e.headers['content-type'], PLAIN_TEXT);
    assert.equal(e.body, 'error: ?index value must be between 0--1\n');
  });

  const refusals: { name: string; url: string; body: unknown; token?: string; status: number; message: RegExp }[] = [
    { name: 'no token', url: approvalUrl(NIGHTLY, T(6)), body: { team: 'trt', state: 'Accepted', reason: 'r' }, status: 401, message: /authentication required/ },
    { name: 'invalid token', url: approvalUrl(NIGHTLY, T(6)), body: { team: 'trt', state: 'Accepted', reason: 'r' }, token: 'not-a-token-0123456789', status: 401, message: /invalid token/ },
    { name: 'role ci for team trt', url: approvalUrl(NIGHTLY, T(6)), body: { team: 'trt', state: 'Accepted', reason: 'r' }, token: CI, status: 403, message: /^user casey-ci lacks a required role \(admin or trt\)$/ },
    { name: 'team trt for team perf', url: approvalUrl(NIGHTLY, T(6)), body: { team: 'perf', state: 'Accepted', reason: 'r' }, token: TRT, status: 403, message: /^user terry-trt lacks a required role \(admin or perf\)$/ },
    { name: 'team qe (role qe)', url: approvalUrl(NIGHTLY, T(6)), body: { team: 'qe', state: 'Accepted', reason: 'r' }, token: QE, status: 400, message: /QE verdict.*\/release\/\{tag\}\/qe/ },
    { name: 'team qe (role admin)', url: approvalUrl(NIGHTLY, T(6)), body: { team: 'qe', state: 'Rejected', reason: 'r' }, token: ADMIN, status: 400, message: /QE verdict/ },
    { name: 'team admin', url: approvalUrl(NIGHTLY, T(6)), body: { team: 'admin', state: 'Accepted', reason: 'r' }, token: ADMIN, status: 400, message: /built-in role/ },
    { name: 'uppercase team', url: approvalUrl(NIGHTLY, T(6)), body: { team: 'TRT', state: 'Accepted', reason: 'r' }, token: ADMIN, status: 400, message: /^team: team must be a lowercase name/ },
    { name: 'bad state', url: approvalUrl(NIGHTLY, T(6)), body: { team: 'trt', state: 'Approved', reason: 'r' }, token: TRT, status: 400, message: /state.*must be Accepted or Rejected/ },
    { name: 'no reason', url: approvalUrl(NIGHTLY, T(6)), body: { team: 'trt', state: 'Accepted' }, token: TRT, status: 400, message: /reason.*is required/ },
    { name: 'unknown field', url: approvalUrl(NIGHTLY, T(6)), body: { team: 'trt', state: 'Accepted', reason: 'r', by: 'x' }, token: TRT, status: 400, message: /by/ },
    { name: 'unknown stream', url: approvalUrl('nope', T(6)), body: { team: 'trt', state: 'Accepted', reason: 'r' }, token: TRT, status: 404, message: /unknown release stream nope/ },
    { name: 'unknown tag', url: approvalUrl(NIGHTLY, 'nope'), body: { team: 'trt', state: 'Accepted', reason: 'r' }, token: TRT, status: 404, message: /unknown release tag nope/ },
    { name: 'tag of another stream', url: approvalUrl(PLAIN, T(6)), body: { team: 'trt', state: 'Accepted', reason: 'r' }, token: ADMIN, status: 404, message: /unknown release tag/ },
  ];
  for (const row of refusals) {
    test(`approval refused: ${row.name} → ${row.status}`, async () => {
      const r = await post(row.url, row.body, row.token);
      assert.equal(r.statusCode, row.status, r.body);
      assert.match((r.json() as { error: string }).error, row.message);
    });
  }

  test('the team role approves: the tag answer, the annotation (persisted), an audited event; the phase does not change', async () => {
    const r = await post(approvalUrl(NIGHTLY, T(6)), { team: 'trt', state: 'Accepted', reason: 'payload looks healthy on the dashboards' }, TRT);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), { name: T(6), phase: 'Ready', pullSpec: pullSpecOf(T(6)), downloadURL: `${ARTIFACTS}/${T(6)}`, qePhase: controller.state.findTag(T(6))!.qe.state });
    const events = (await controller.listEvents({ stream: NIGHTLY, tag: T(6) })).filter((e) => e.type === 'TeamApprovalSet');
    assert.deepEqual(events.map((e) => [e.actor, e.data]), [['terry-trt', { team: 'trt', state: 'Accepted', previous: null, reason: 'payload looks healthy on the dashboards' }]]);
    // in the store, not only in memory
    const again = openSqliteStore(join(dir, 'rc.db'));
    try {
      const snap = await again.load();
      assert.equal(snap.payloads.find((p) => p.tag === T(6))!.annotations['release.openshift.io/trt_state'], 'Accepted');
    } finally {
      await again.close();
    }
    const dup = await post(approvalUrl(NIGHTLY, T(6)), { team: 'trt', state: 'Accepted', reason: 'again' }, TRT);
    assert.equal(dup.statusCode, 409);
    assert.match(dup.json().error, /already Accepted by team trt/);
  });

  test('admin approves for any team; lists: any team, by team, prefix, index (semver descending)', async () => {
    assert.equal((await post(approvalUrl(PLAIN, P(1)), { team: 'perf', state: 'Accepted', reason: 'perf is fine' }, ADMIN)).statusCode, 200);
    assert.equal((await post(approvalUrl(STABLE, '4.15.10'), { team: 'trt', state: 'Accepted', reason: 'shipped' }, ADMIN)).statusCode, 200);
    assert.equal((await post(approvalUrl(STABLE, '4.15.3'), { team: 'trt', state: 'Rejected', reason: 'regression' }, ADMIN)).statusCode, 200);
    assert.deepEqual(await names('/api/v1/releasestreams/approvals'), [T(6), T(4), T(1), '4.15.10', P(1)]);
    assert.deepEqual(await names('/api/v1/releasestreams/approvals?team='), [T(6), T(4), T(1), '4.15.10', P(1)], 'an empty team is any team');
    assert.deepEqual(await names('/api/v1/releasestreams/approvals?team=trt'), [T(6), '4.15.10']);
    assert.deepEqual(await names('/api/v1/releasestreams/approvals?team=perf'), [P(1)]);
    assert.deepEqual(await names('/api/v1/releasestreams/approvals?prefix=4.16.0-0.nightly'), [T(6), T(4), T(1)]);
    assert.deepEqual(await names('/api/v1/releasestreams/approvals?team=trt&prefix=4.15'), ['4.15.10']);
    const one = await get('/api/v1/releasestreams/approvals?index=3');
    assert.equal(one.statusCode, 200);
    assert.equal(one.body, JSON.stringify(tagOf('4.15.10', 'Accepted', pullSpecOf('4.15.10'), ''), null, 1) + '\n', 'one object, one-space indentation');
    const bad: [string, string][] = [
      ['index=5', 'error: ?index value must be between 0-4\n'],
      ['index=-1', 'error: ?index must be non-negative integer\n'],
      ['index=one', 'error: ?index must be non-negative integer: strconv.Atoi: parsing "one": invalid syntax\n'],
    ];
    for (const [q, text] of bad) {
      const r = await get(`/api/v1/releasestreams/approvals?${q}`);
      assert.equal(r.statusCode, 400, q);
      assert.equal(r.headers['content-type'], PLAIN_TEXT);
      assert.equal(r.body, text, q);
    }
  });

  test('a rejection takes the payload out of the team’s list; the phase stays; the qe team follows the QE verdict only', async () => {
    const r = await post(approvalUrl(NIGHTLY, T(6)), { team: 'trt', state: 'Rejected', reason: 'upgrade regressions on metal' }, TRT);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().phase, 'Ready');
    assert.deepEqual(await names('/api/v1/releasestreams/approvals?team=trt'), ['4.15.10']);
    assert.deepEqual(await names('/api/v1/releasestreams/approvals'), [T(4), T(1), '4.15.10', P(1)]);
    const ev = (await controller.listEvents({ stream: NIGHTLY, tag: T(6) })).filter((e) => e.type === 'TeamApprovalSet').at(-1)!;
    assert.equal(ev.data.previous, 'Accepted');
    // overriding the QE verdict moves the qe team with it
    assert.equal((await post(`/api/v1/releasestream/${NIGHTLY}/release/${T(4)}/qe`, { verdict: 'QERejected', reason: 'manual QE found a blocker' }, QE)).statusCode, 200);
    assert.deepEqual(await names('/api/v1/releasestreams/approvals?team=qe'), [T(1)]);
  });

  test('openapi documents the route and the roles', async () => {
    const doc = (await get('/openapi.json')).json() as { paths: Record<string, Record<string, { summary: string; 'x-roles'?: string[] }>> };
    const w = doc.paths['/api/v1/releasestream/{release}/release/{tag}/approval'].post;
    assert.deepEqual(w['x-roles'], ['admin', '<team>']);
    const list = doc.paths['/api/v1/releasestreams/approvals'].get;
    assert.match(list.summary, /team/);
    assert.doesNotMatch(list.summary, /none/);
  });
});
