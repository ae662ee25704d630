// Operator levers through the HTTP API on the REAL Controller and a seeded SQLite store (issue 21):
// keep, lock, pins, poke, prune — role checks (401/403), bad bodies (400), unknown names (404),
// refusals (409) with their messages, and each effect observed through the API.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Controller } from '../../src/controller/controller.ts';
import { inputStreamOf } from '../../src/domain/config/schema.ts';
import { buildApp } from '../../src/http/app.ts';
import type { TokenEntry } from '../../src/http/auth.ts';
import type { Store } from '../../src/ports/store.ts';
import { CONFIGS, EMPTY, NIGHTLY, P, PLAIN, T, seededController } from '../helpers/api-seed.ts';
import { cleanup, config, tempDir, waitFor } from '../helpers/harness.ts';

const TOKENS: TokenEntry[] = [
  { user: 'alice-admin', token: 'admin-token-0123456789abcdef', roles: ['admin'] },
  { user: 'quinn-qe', token: 'qe-token-0123456789abcdef', roles: ['qe'] },
  { user: 'casey-ci', token: 'ci-token-0123456789abcdef', roles: ['ci'] },
];
const ADMIN = TOKENS[0].token;
const QE = TOKENS[1].token;
const CI = TOKENS[2].token;
const digest = (c: string) => `quay.io/ocp/x@sha256:${c.repeat(64)}`;

interface Lever {
  name: string;
  method: 'POST' | 'DELETE';
  url: string;
  body: unknown;
  roles: string[];
}

const rel = (stream: string, tag: string, rest = '') => `/api/v1/releasestream/${stream}/release/${tag}${rest}`;
/** one valid request per lever (never sent with a valid role here: the 401/403/400 checks come first) */
const LEVERS: Lever[] = [
  { name: 'keep', method: 'POST', url: rel(PLAIN, P(2), '/keep'), body: { keep: true, reason: 'r' }, roles: ['admin'] },
  { name: 'prune', method: 'DELETE', url: rel(PLAIN, P(2)), body: { reason: 'r' }, roles: ['admin'] },
  { name: 'lock', method: 'POST', url: `/api/v1/releasestream/${PLAIN}/lock`, body: { locked: true, reason: 'r' }, roles: ['admin', 'ci'] },
  { name: 'poke', method: 'POST', url: `/api/v1/releasestream/${PLAIN}/poke`, body: { reason: 'r' }, roles: ['admin'] },
  { name: 'pin', method: 'POST', url: '/api/v1/inputstreams/ocp-4.15/pins', body: { component: 'cli', pullSpec: digest('a'), reason: 'r' }, roles: ['admin'] },
  { name: 'unpin', method: 'DELETE', url: '/api/v1/inputstreams/ocp-4.15/pins/cli', body: { reason: 'r' }, roles: ['admin'] },
];

describe('operator levers API (real Controller)', () => {
  let dir: string;
  let store: Store;
  let controller: Controller;
  let app: FastifyInstance;

  before(async () => {
    dir = tempDir('rc-api-levers-');
    ({ controller, store } = await seededController(dir));
    app = await buildApp({ ops: controller, tokens: TOKENS, logger: false });
  });
  after(async () => {
    await app.close();
    await controller.stop();
    await store.close();
    cleanup(dir);
  });

  const send = async (method: string, url: string, body?: unknown, token?: string) => {
    const r = await app.inject({
      method: method as 'POST', url, payload: body === undefined ? undefined : JSON.stringify(body),
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
    await controller.idle();
    return r;
  };
  const get = async (url: string) => (await app.inject({ url })).json();
  const tags = async (stream: string) => ((await get(`/api/v1/releasestream/${stream}/tags`)).tags ?? []) as { name: string; phase: string }[];
  const error = (r: { json: () => { error: string } }) => r.json().error;

  for (const l of LEVERS) {
    test(`${l.name}: 401 without a token, 403 with a token lacking ${l.roles.join(' or ')}, 400 without a reason`, async () => {
      const none = await send(l.method, l.url, l.body);
      assert.equal(none.statusCode, 401, none.body);
      assert.match(error(none), /Authorization: Bearer/);
      for (const [role, token] of [['qe', QE], ['ci', CI]] as const) {
        if (l.roles.includes(role)) continue;
        const r = await send(l.method, l.url, l.body, token);
        assert.equal(r.statusCode, 403, `${role}: ${r.body}`);
        assert.match(error(r), new RegExp(`lacks a required role \\(${l.roles.join(' or ')}\\)`));
      }
      const { reason: _r, ...noReason } = l.body as Record<string, unknown>;
      const bad = await send(l.method, l.url, noReason, ADMIN);
      assert.equal(bad.statusCode, 400, bad.body);
      assert.equal(error(bad), 'reason: is required');
      const blank = await send(l.method, l.url, { ...(l.body as object), reason: '   ' }, ADMIN);
      assert.equal(blank.statusCode, 400);
      assert.equal(error(blank), 'reason: must not be empty');
      const extra = await send(l.method, l.url, { ...(l.body as object), force: true }, ADMIN);
      assert.equal(extra.statusCode, 400);
      assert.match(error(extra), /unknown field "force"/);
      const noBody = await send(l.method, l.url, undefined, ADMIN);
      assert.equal(noBody.statusCode, 400);
      assert.match(error(noBody), /request body must be a JSON object/);
    });
  }

  test('400 on bad lever bodies: keep/locked must be booleans; a pin needs exactly one of pullSpec and fromTag', async () => {
    let r = await send('POST', rel(PLAIN, P(2), '/keep'), { keep: 'yes', reason: 'r' }, ADMIN);
    assert.equal(r.statusCode, 400);
    assert.match(error(r), /^keep: must be true or false/);
    r = await send('POST', `/api/v1/releasestream/${PLAIN}/lock`, { reason: 'r' }, ADMIN);
    assert.equal(error(r), 'locked: is required');
    r = await send('POST', '/api/v1/inputstreams/ocp-4.15/pins', { component: 'cli', reason: 'r' }, ADMIN);
    assert.equal(r.statusCode, 400);
    assert.equal(error(r), 'give exactly one of pullSpec and fromTag');
    r = await send('POST', '/api/v1/inputstreams/ocp-4.15/pins', { component: 'cli', pullSpec: digest('a'), fromTag: P(1), reason: 'r' }, ADMIN);
    assert.equal(error(r), 'give exactly one of pullSpec and fromTag');
  });

  test('404 for unknown streams, tags, inputs and pins; JSON errors naming them', async () => {
    const cases: [string, string, unknown, RegExp][] = [
      ['POST', rel(PLAIN, 'nope', '/keep'), { keep: true, reason: 'r' }, /unknown release tag nope in stream 4\.15\.0-0\.nightly/],
      ['POST', rel('no-stream', 'x', '/keep'), { keep: true, reason: 'r' }, /unknown release stream no-stream/],
      ['DELETE', rel(PLAIN, 'nope'), { reason: 'r' }, /unknown release tag nope/],
      ['POST', '/api/v1/releasestream/no-stream/lock', { locked: true, reason: 'r' }, /unknown release stream no-stream/],
      ['POST', '/api/v1/releasestream/no-stream/poke', { reason: 'r' }, /unknown release stream no-stream/],
      ['POST', '/api/v1/inputstreams/no-input/pins', { component: 'cli', pullSpec: digest('a'), reason: 'r' }, /unknown input stream no-input/],
      ['POST', '/api/v1/inputstreams/ocp-4.15/pins', { component: 'cli', fromTag: 'no-tag', reason: 'r' }, /unknown release tag no-tag/],
      ['DELETE', '/api/v1/inputstreams/ocp-4.15/pins/cli', { reason: 'r' }, /cli of input stream ocp-4\.15 is not pinned/],
    ];
    for (const [method, url, body, msg] of cases) {
      const r = await send(method, url, body, ADMIN);
      assert.equal(r.statusCode, 404, `${method} ${url}: ${r.body}`);
      assert.match(String(r.headers['content-type']), /^application\/json/);
      assert.match(error(r), msg);
    }
    assert.equal((await app.inject({ url: '/api/v1/releasestream/no-stream/status' })).statusCode, 404);
    assert.equal((await app.inject({ url: '/api/v1/inputstreams/no-input/pins' })).statusCode, 404);
  });

  test('keep → prune refused (409) → unkeep → prune removes the payload with its runs; all audited with the user', async () => {
    const r = await send('POST', rel(NIGHTLY, T(2), '/keep'), { keep: true, reason: 'evidence for OCPBUGS-1' }, ADMIN);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().keep, 'evidence for OCPBUGS-1');
    assert.equal(controller.state.payload(NIGHTLY, T(2))!.annotations['release.openshift.io/keep'], 'evidence for OCPBUGS-1');
    const refused = await send('DELETE', rel(NIGHTLY, T(2)), { reason: 'cleanup' }, ADMIN);
    assert.equal(refused.statusCode, 409);
    assert.match(error(refused), /is kept \(evidence for OCPBUGS-1\): unkeep it before pruning it/);
    assert.equal((await send('POST', rel(NIGHTLY, T(7), '/keep'), { keep: false, reason: 'x' }, ADMIN)).statusCode, 409, 'unkeep of a payload that is not kept');
    assert.equal((await send('POST', rel(NIGHTLY, T(2), '/keep'), { keep: false, reason: 'bug closed' }, ADMIN)).statusCode, 200);
    assert.ok(controller.state.runs(NIGHTLY, T(2)).length > 0, 'it has runs');
    const pruned = await send('DELETE', rel(NIGHTLY, T(2)), { reason: 'cleanup' }, ADMIN);
    assert.equal(pruned.statusCode, 200, pruned.body);
    assert.deepEqual(pruned.json(), { name: T(2), phase: 'Rejected', pullSpec: `registry.local/release:${T(2)}`, downloadURL: '', qePhase: 'QESkipped', deleted: true });
    assert.equal((await app.inject({ url: rel(NIGHTLY, T(2)) })).statusCode, 404, 'release info is gone');
    assert.ok(!(await tags(NIGHTLY)).some((t) => t.name === T(2)));
    assert.equal(controller.state.runs(NIGHTLY, T(2)).length, 0, 'runs gone');
    assert.equal((await store.load()).payloads.some((p) => p.tag === T(2)), false, 'gone from the store');
    const events = await controller.listEvents({ stream: NIGHTLY, tag: T(2) });
    assert.deepEqual(events.filter((e) => e.actor === 'alice-admin').map((e) => [e.type, e.data.reason]), [
      ['PayloadKept', 'evidence for OCPBUGS-1'],
      ['PayloadUnkept', 'bug closed'],
      ['PayloadDeleted', 'cleanup'],
    ]);
  });

  test('prune of a payload with running jobs cancels them (the executor is told)', async () => {
    const pending = controller.state.runs(NIGHTLY, T(5)).filter((r) => r.state === 'Pending');
    assert.ok(pending.length > 0);
    const r = await send('DELETE', rel(NIGHTLY, T(5)), { reason: 'bad build' }, ADMIN);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(controller.state.payload(NIGHTLY, T(5)), undefined);
  });

  test('lock (role ci): no payload from new input, status and reason shown, the lock survives a config reload; unlock creates the payload', async () => {
    const input = inputStreamOf(CONFIGS[PLAIN]);
    const before = (await tags(PLAIN)).length;
    let r = await send('POST', `/api/v1/releasestream/${PLAIN}/lock`, { locked: true, reason: 'registry migration' }, CI);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().locked, true);
    assert.deepEqual({ ...r.json().lock, at: undefined }, { reason: 'registry migration', user: 'casey-ci', at: undefined });
    assert.equal(r.json().creationBlockedBy, 'locked: registry migration');
    assert.equal((await send('POST', `/api/v1/releasestream/${PLAIN}/lock`, { locked: true, reason: 'registry migration' }, CI)).statusCode, 409, 'same lock twice');
    // new input: recorded, no payload
    assert.equal((await send('PUT', `/api/v1/inputstreams/${input}/tags`, { tags: { cli: digest('1'), installer: digest('2') } }, CI)).statusCode, 200);
    assert.equal((await tags(PLAIN)).length, before, 'locked: nothing created');
    const poke = await send('POST', `/api/v1/releasestream/${PLAIN}/poke`, { reason: 'now' }, ADMIN);
    assert.equal(poke.statusCode, 409);
    assert.match(error(poke), /is locked by casey-ci: registry migration; unlock it first/);
    // a config reload (the message changed) keeps the lock and its reason
    await controller.applyConfigs(
      (Object.keys(CONFIGS) as (keyof typeof CONFIGS)[]).map((name) => {
        const c = name === PLAIN ? config({ ...CONFIGS[PLAIN], message: 'reloaded' }) : CONFIGS[name];
        return { name, config: c, file: `${name}.json`, input: inputStreamOf(c) };
      }),
    );
    await controller.idle();
    const st = await get(`/api/v1/releasestream/${PLAIN}/status`);
    assert.equal(controller.state.stream(PLAIN)!.config.message, 'reloaded');
    assert.equal(st.locked, true);
    assert.equal(st.lock.reason, 'registry migration');
    assert.equal(st.creationBlockedBy, 'locked: registry migration');
    assert.equal((await tags(PLAIN)).length, before);
    r = await send('POST', `/api/v1/releasestream/${PLAIN}/lock`, { locked: false, reason: 'done' }, ADMIN);
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().lock, null);
    assert.equal((await tags(PLAIN)).length, before + 1, 'unlocked: the waiting input makes a payload');
    assert.equal((await send('POST', `/api/v1/releasestream/${PLAIN}/lock`, { locked: false, reason: 'again' }, ADMIN)).statusCode, 409);
    const events = await controller.listEvents({ stream: PLAIN, tag: '' });
    assert.deepEqual(events.filter((e) => e.type.startsWith('Stream')).map((e) => [e.type, e.actor]), [['StreamLocked', 'casey-ci'], ['StreamUnlocked', 'alice-admin']]);
  });

  test('pins: an input update of a pinned component makes no payload; fromTag pins to the payload’s pull spec; listed with what the input has; unpin follows the input', async () => {
    const input = inputStreamOf(CONFIGS[PLAIN]);
    const newest = (await tags(PLAIN))[0];
    const made = controller.state.payload(PLAIN, newest.name)!;
    assert.equal(made.components.cli.pullSpec, digest('1'));
    let r = await send('POST', `/api/v1/inputstreams/${input}/pins`, { component: 'cli', fromTag: made.tag, reason: 'cli 2 breaks installs' }, ADMIN);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json().pins.map((p: Record<string, unknown>) => [p.component, p.pullSpec, p.fromTag, p.user, p.inputPullSpec]), [['cli', digest('1'), made.tag, 'alice-admin', digest('1')]]);
    const again = await send('POST', `/api/v1/inputstreams/${input}/pins`, { component: 'cli', pullSpec: digest('1'), reason: 'r' }, ADMIN);
    assert.equal(again.statusCode, 409);
    assert.match(error(again), /already pinned to/);
    const count = (await tags(PLAIN)).length;
    assert.equal((await send('PUT', `/api/v1/inputstreams/${input}/tags`, { tags: { cli: digest('3') } }, CI)).statusCode, 200);
    assert.equal((await tags(PLAIN)).length, count, 'the pinned component’s update creates no payload');
    const listed = await get(`/api/v1/inputstreams/${input}/pins`);
    assert.equal(listed.pins[0].inputPullSpec, digest('3'), 'the update is recorded');
    assert.equal((await get(`/api/v1/releasestream/${PLAIN}/status`)).pins[0].pullSpec, digest('1'));
    assert.equal((await get(`/api/v1/releasestream/${PLAIN}/status`)).creationBlockedBy, 'no new images');
    r = await send('DELETE', `/api/v1/inputstreams/${input}/pins/cli`, { reason: 'fixed in cli 3' }, ADMIN);
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(r.json(), { input, pins: [] });
    // unpinned: cli 3 makes a payload (a second later when a payload was created in this second: tag names have second resolution)
    const after = await waitFor('a payload from cli 3', async () => {
      const l = await tags(PLAIN);
      return l.length === count + 1 ? l : undefined;
    }, 5000);
    assert.equal(controller.state.payload(PLAIN, after[0].name)!.components.cli.pullSpec, digest('3'));
  });

  test('poke: 201 with a new Pending payload from unchanged input; respects maxUnreadyReleases (409 with the reason)', async () => {
    const count = (await tags(PLAIN)).length;
    // tag names have second resolution: a poke in the second a payload was created is refused (409, "poke again in a second")
    await new Promise((res) => setTimeout(res, 1010 - (Date.now() % 1000)));
    const r = await send('POST', `/api/v1/releasestream/${PLAIN}/poke`, { reason: 're-run everything on the same images' }, ADMIN);
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.json().phase, 'Pending');
    assert.ok(r.json().name.startsWith(`${PLAIN}-`));
    assert.equal((await tags(PLAIN)).length, count + 1);
    const created = (await controller.listEvents({ stream: PLAIN, tag: r.json().name })).find((e) => e.type === 'PayloadCreated')!;
    assert.equal(created.actor, 'alice-admin');
    assert.equal(created.data.poke, true);
    // a stream with maxUnreadyReleases 1 whose payload waits for jobs (the executor never finishes them)
    const limited = config({ ...CONFIGS[EMPTY], maxUnreadyReleases: 1 });
    await controller.applyConfigs((Object.keys(CONFIGS) as (keyof typeof CONFIGS)[]).map((name) => ({ name, config: name === EMPTY ? limited : CONFIGS[name], file: `${name}.json`, input: inputStreamOf(name === EMPTY ? limited : CONFIGS[name]) })));
    await send('PUT', `/api/v1/inputstreams/${inputStreamOf(limited)}/tags`, { tags: { cli: digest('4') } }, CI);
    await controller.idle();
    assert.equal((await tags(EMPTY))[0]?.phase, 'Ready');
    const full = await send('POST', `/api/v1/releasestream/${EMPTY}/poke`, { reason: 'again' }, ADMIN);
    assert.equal(full.statusCode, 409);
    assert.equal(error(full), 'no payload can be created now: no more than 1 pending');
  });

  test('/openapi.json lists every lever with its roles and required reason', async () => {
    const doc = (await app.inject({ url: '/openapi.json' })).json();
    const op = (path: string, m: string) => doc.paths[path][m];
    assert.deepEqual(op('/api/v1/releasestream/{release}/release/{tag}/keep', 'post')['x-roles'], ['admin']);
    assert.deepEqual(op('/api/v1/releasestream/{release}/lock', 'post')['x-roles'], ['admin', 'ci']);
    assert.deepEqual(op('/api/v1/releasestream/{release}/release/{tag}', 'delete').requestBody.content['application/json'].schema.required, ['reason']);
    assert.deepEqual(op('/api/v1/inputstreams/{input}/pins', 'post').requestBody.content['application/json'].schema.required, ['component', 'reason']);
    assert.ok(op('/api/v1/inputstreams/{input}/pins/{component}', 'delete'));
    assert.ok(op('/api/v1/releasestream/{release}/poke', 'post'));
    assert.ok(op('/api/v1/releasestream/{release}/status', 'get'));
  });
});
