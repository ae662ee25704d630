// HTTP hardening (issue 13): what the server refuses before any route runs — headers too large,
// malformed requests, bad percent-encoding, too many connections — is answered in plain text
// that says why; JSON bodies nested deeper than MAX_JSON_DEPTH are refused before parsing; text
// that the store could not keep (control characters, NUL) is refused with the field named; and
// names that do not exist are a 404 on the console too (`?from=`).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createPages } from '../../src/http/pages/index.ts';
import { MAX_COMPONENTS } from '../../src/http/api/writes.ts';
import { MAX_JSON_DEPTH, jsonDepthExceeds } from '../../src/http/server-limits.ts';
import type { Store } from '../../src/ports/store.ts';
import { NIGHTLY, ReadOps, T, listenApp, seedStore } from '../helpers/api-seed.ts';
import { cleanup, tempDir, waitFor } from '../helpers/harness.ts';

const ADMIN = 'hardening-admin-token-0123456789';
const CI = 'hardening-ci-token-0123456789ab';

/** Raw bytes on a new connection; everything the server sent until it closed. */
function raw(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    let out = '';
    sock.on('data', (d) => (out += d.toString('latin1')));
    sock.on('error', () => undefined);
    sock.on('close', () => resolve(out));
    sock.on('connect', () => sock.end(bytes));
  });
}

describe('HTTP hardening', () => {
  let dir: string;
  let store: Store;
  let ops: ReadOps;
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    dir = tempDir('rc-api-hardening-');
    store = await seedStore(dir);
    ops = await ReadOps.load(store);
    ({ app, port } = await listenApp({
      ops,
      tokens: [
        { user: 'root', token: ADMIN, roles: ['admin'] },
        { user: 'bot', token: CI, roles: ['ci'] },
      ],
      registerPages: createPages(ops),
    }));
  });
  after(async () => {
    await app.close();
    await store.close();
    cleanup(dir);
  });

  test('headers over 16 KiB: 431 in plain text naming the limit', async () => {
    const out = await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(17 * 1024)}\r\n\r\n`);
    assert.match(out, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    assert.match(out, /\r\ncontent-type: text\/plain; charset=utf-8\r\n/i);
    assert.match(out, /\r\n\r\n431 Request Header Fields Too Large: the request line and headers exceed 16384 bytes\n$/);
    // a URL that long too
    assert.match(await raw(port, `GET /api/v1/releasestream/${'a'.repeat(17 * 1024)}/tags HTTP/1.1\r\nHost: x\r\n\r\n`), /^HTTP\/1\.1 431 /);
    // just under the limit is served
    assert.match(await raw(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: ${'h'.repeat(15 * 1024)}\r\n\r\n`), /^HTTP\/1\.1 200 /);
  });

  test('a malformed request or an unknown method: 400 in plain text; bad percent-encoding: 400 saying so', async () => {
    for (const req of ['BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', 'GARBAGE\r\n\r\n']) {
      const out = await raw(port, req);
      assert.match(out, /^HTTP\/1\.1 400 Bad Request\r\n/, JSON.stringify(req));
      assert.match(out, /\r\n\r\n400 Bad Request: malformed HTTP request \(HPE_[A-Z_]+\)\n$/, out);
    }
    const r = await app.inject({ url: '/api/v1/releasestream/%zz/tags' });
    assert.equal(r.statusCode, 400);
    assert.equal(r.body, '400 Bad Request: malformed URL (invalid percent-encoding)\n');
    // an odd but valid method on a known path is an unknown route
    assert.match(await raw(port, 'PROPFIND /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 404 [^]*\r\n\r\n404 page not found\n$/);
  });

  test('past the connection limit new connections are closed at once; a freed slot serves again', async () => {
    const { app: small, port: p } = await listenApp({ ops, server: { maxConnections: 3 } });
    try {
      const idle = Array.from({ length: 3 }, () => connect(p, '127.0.0.1'));
      await Promise.all(idle.map((s) => new Promise((r) => s.once('connect', r))));
      await waitFor('three connections counted', () => new Promise<boolean>((r) => small.server.getConnections((_e, n) => r(n === 3))), 5000);
      const refused = await raw(p, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.equal(refused, '', 'closed without an answer');
      idle[0].destroy();
      await waitFor('a slot free', () => new Promise<boolean>((r) => small.server.getConnections((_e, n) => r(n === 2))), 5000);
      assert.match(await raw(p, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 200 /);
      for (const s of idle) s.destroy();
    } finally {
      await small.close();
    }
  });

  test(`JSON nested deeper than ${MAX_JSON_DEPTH} levels is refused before parsing; brackets inside strings do not count`, async () => {
    const post = (payload: string) =>
      app.inject({ method: 'POST', url: `/api/v1/releasestream/${NIGHTLY}/release/${T(3)}/override`, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, payload });
    const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    const tooDeep = await post(deep(MAX_JSON_DEPTH + 1));
    assert.equal(tooDeep.statusCode, 400);
    assert.equal(tooDeep.json().error, `the request body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels`);
    assert.equal((await post('['.repeat(500_000))).json().error, `the request body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels`);
    // at the limit it is parsed (and refused for its shape)
    const atLimit = await post(deep(MAX_JSON_DEPTH));
    assert.equal(atLimit.statusCode, 400);
    assert.match(atLimit.json().error, /^(phase: is required|body: unknown field "a")$/);
    // brackets in a string: a valid body that reaches the operation (read-only here: 409)
    const inString = await post(JSON.stringify({ phase: 'Rejected', reason: `${'['.repeat(100)} "\\" ${'{'.repeat(100)}` }));
    assert.equal(inString.statusCode, 409, inString.body);
    // prototype poisoning is still refused by the parser
    assert.equal((await post('{"__proto__": {"x": 1}, "phase": "Rejected", "reason": "x"}')).statusCode, 400);
    assert.equal(jsonDepthExceeds('"[[[[" [[1]]', 2), false);
    assert.equal(jsonDepthExceeds('[[[1]]]', 2), true);
  });

  test('control characters that no store keeps are refused with the field named; tabs and newlines in a reason are fine', async () => {
    const write = (url: string, token: string, body: unknown) =>
      app.inject({ method: url.includes('inputstreams') ? 'PUT' : 'POST', url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    const override = `/api/v1/releasestream/${NIGHTLY}/release/${T(3)}/override`;
    const nul = await write(override, ADMIN, { phase: 'Rejected', reason: 'before\u0000after' });
    assert.equal(nul.statusCode, 400);
    assert.equal(nul.json().error, 'reason: must not contain control characters (tab and newlines are fine)');
    assert.equal((await write(override, ADMIN, { phase: 'Rejected', reason: 'bell\u0007' })).statusCode, 400);
    assert.equal((await write(override, ADMIN, { phase: 'Rejected', reason: 'line one\nline two\r\n\ttabbed' })).statusCode, 409, 'valid: reaches the (read-only) operation');
    const spec = await write('/api/v1/inputstreams/ocp-4.16/tags', CI, { tags: { cli: 'quay.io/x@sha256:1\u0001' } });
    assert.equal(spec.statusCode, 400);
    assert.equal(spec.json().error, 'tags.cli: must not contain control characters');
    const input = await write('/api/v1/inputstreams/bad%00input/tags', CI, { tags: { cli: 'quay.io/x@sha256:1' } });
    assert.equal(input.statusCode, 400);
    assert.equal(input.json().error, 'input stream name must not contain control characters');
  });

  test(`an input update naming more than ${MAX_COMPONENTS} components is refused before its entries are checked`, async () => {
    const put = (n: number) =>
      app.inject({
        method: 'PUT', url: '/api/v1/inputstreams/ocp-4.16/tags', headers: { authorization: `Bearer ${CI}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ tags: Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${i}`, `quay.io/x@sha256:${i}`])) }),
      });
    const over = await put(MAX_COMPONENTS + 1);
    assert.equal(over.statusCode, 400);
    assert.equal(over.json().error, `tags: must name at most ${MAX_COMPONENTS} components`);
    assert.equal((await put(20_000)).json().error, `tags: must name at most ${MAX_COMPONENTS} components`);
    // at the limit the body is valid (the read-only operations refuse it: 409)
    assert.equal((await put(MAX_COMPONENTS)).statusCode, 409);
    // the OpenAPI document still describes the field
    const doc = (await app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { requestBody: { content: Record<string, { schema: unknown }> } }>> };
    assert.deepEqual(doc.paths['/api/v1/inputstreams/{input}/tags'].put.requestBody.content['application/json'].schema, {
      type: 'object',
      properties: {
        tags: {
          type: 'object',
          additionalProperties: {
            oneOf: [
              { type: 'string', minLength: 1, maxLength: 1024 },
              { type: 'object', properties: { pullSpec: { type: 'string', minLength: 1, maxLength: 1024 }, labels: { type: 'object', additionalProperties: { type: 'string', maxLength: 4096 } } }, required: ['pullSpec'], additionalProperties: false },
            ],
          },
          description: 'component name → pull spec, or {pullSpec, labels} (image labels: io.openshift.build.commit.id, io.openshift.build.source-location, … used by changelogs)',
        },
      },
      required: ['tags'],
      additionalProperties: false,
    });
  });

  test('console: ?from= naming no release is a 404 page, as the API answers', async () => {
    for (const url of [`/releasestream/${NIGHTLY}/release/${T(3)}?from=no-such-tag`, `/releasetag/${T(3)}?from=no-such-tag`, `/releasetag/${T(3)}?from=__proto__`]) {
      const r = await app.inject({ url });
      assert.equal(r.statusCode, 404, url);
      assert.match(r.body, /Unable to find release tag (no-such-tag|__proto__) \(to compare with 4\.16\.0-0\.nightly-2024-05-03-000000\), it may have been deleted\./);
    }
    assert.equal((await app.inject({ url: `/releasestream/${NIGHTLY}/release/${T(3)}?from=${T(1)}` })).statusCode, 200);
    assert.equal((await app.inject({ url: `/releasestream/${NIGHTLY}/release/${T(3)}?from=` })).statusCode, 200);
    const api = await app.inject({ url: `/api/v1/releasestream/${NIGHTLY}/release/${T(3)}?from=no-such-tag` });
    assert.equal(api.statusCode, 404);
  });
});
