// Authenticated writes through the REAL Controller on a seeded SQLite store: every write route ×
// {no token, bad token, wrong role, right role}, body validation, 404s and 409s passed through,
// audit with the token's user, and the tokens file loader.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Controller } from '../../src/controller/controller.ts';
import { buildApp } from '../../src/http/app.ts';
import { Authenticator, hashToken, loadTokensFile, parseTokens, type TokenEntry } from '../../src/http/auth.ts';
import type { Store } from '../../src/ports/store.ts';
import { NIGHTLY, P, PLAIN, T, seededController } from '../helpers/api-seed.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';
import { BIN } from '../helpers/serve-proc.ts';

/** listed in the tokens by its hash only */
const HASHED_CI_TOKEN = 'hashed-ci-token-0123456789abcdef';

const TOKENS: TokenEntry[] = [
  { user: 'alice-admin', token: 'admin-token-0123456789abcdef', roles: ['admin'] },
  { user: 'quinn-qe', token: 'qe-token-0123456789abcdef', roles: ['qe'] },
  { user: 'casey-ci', token: 'ci-token-0123456789abcdef', roles: ['ci'] },
  { user: 'hashed-ci', token: hashToken(HASHED_CI_TOKEN), roles: ['ci'] },
];
const tokenOf = (role: string) => TOKENS.find((t) => t.roles.includes(role as never))!.token;
const ROLES = ['admin', 'qe', 'ci'];

interface WriteRoute {
  name: string;
  method: 'PUT' | 'POST';
  url: string;
  roles: string[];
  /** a body the controller accepts, per allowed role (so each role's 2xx is a real write) */
  ok: Record<string, { url?: string; body: unknown }>;
  status: number;
}

const rel = (stream: string, tag: string, rest: string) => `/api/v1/releasestream/${stream}/release/${tag}/${rest}`;
const ROUTES: WriteRoute[] = [
  {
    name: 'input tags', method: 'PUT', url: '/api/v1/inputstreams/scratch-input/tags', roles: ['ci', 'admin'], status: 200,
    ok: { ci: { body: { tags: { cli: 'quay.io/x/cli@sha256:' + 'a'.repeat(64) } } }, admin: { body: { tags: { cli: 'quay.io/x/cli@sha256:' + 'b'.repeat(64), oc: 'quay.io/x/oc@sha256:' + 'c'.repeat(64) } } } },
  },
  {
    name: 'override', method: 'POST', url: rel(PLAIN, P(2), 'override'), roles: ['admin'], status: 200,
    ok: { admin: { body: { phase: 'Accepted', reason: 'flake, verified by hand' } } },
  },
  {
    name: 'qe verdict', method: 'POST', url: rel(NIGHTLY, T(1), 'qe'), roles: ['qe', 'admin'], status: 200,
    ok: { qe: { body: { verdict: 'QEAccepted', reason: 'signed off' } }, admin: { body: { verdict: 'QERejected', reason: 'blocker found' } } },
  },
  {
    name: 'qe rerun', method: 'POST', url: rel(NIGHTLY, T(4), 'qe/rerun'), roles: ['qe', 'admin'], status: 202,
    ok: { qe: { body: { reason: 'env fixed' } }, admin: { body: { reason: 'again' } } },
  },
  {
    name: 'job retry', method: 'POST', url: rel(NIGHTLY, T(3), 'jobs/gcp/retry'), roles: ['ci', 'admin'], status: 202,
    ok: { ci: { body: { reason: 'infra flake' } }, admin: { url: rel(NIGHTLY, T(2), 'jobs/aws-serial/retry'), body: { reason: 'quota fixed' } } },
  },
];

describe('write API: authentication, authorisation, validation (real Controller)', () => {
  let dir: string;
  let store: Store;
  let controller: Controller;
  let app: FastifyInstance;
  const logLines: string[] = [];

  before(async () => {
    dir = tempDir('rc-api-auth-');
    ({ controller, store } = await seededController(dir));
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logLines.push(String(chunk));
        cb();
      },
    });
    // a serializer that logs headers, to prove the Authorization header is redacted anyway
    app = await buildApp({ ops: controller, tokens: TOKENS, logger: { level: 'info', stream: sink, serializers: { req: (r: { method: string; url: string; headers: unknown }) => ({ method: r.method, url: r.url, headers: r.headers }) } } });
  });
  after(async () => {
    await app.close();
    await controller.stop();
    await store.close();
    cleanup(dir);
  });

  const send = (method: string, url: string, body: unknown, token?: string, headers: Record<string, string> = {}) =>
    app.inject({ method: method as 'POST', url, payload: body === undefined ? undefined : (JSON.stringify(body) as string), headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });

  for (const r of ROUTES) {
    const sample = Object.values(r.ok)[0].body;
    test(`${r.name}: no token → 401 JSON with WWW-Authenticate: Bearer`, async () => {
      const res = await send(r.method, r.url, sample);
      assert.equal(res.statusCode, 401);
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.match(res.json().error, /Authorization: Bearer/);
    });
    test(`${r.name}: bad token → 401`, async () => {
      for (const header of ['Bearer not-a-token-0123456789', 'Bearer ' + tokenOf('admin') + 'x', 'Basic ' + Buffer.from('a:b').toString('base64'), 'Bearer', tokenOf('admin')]) {
        const res = await send(r.method, r.url, sample, undefined, { authorization: header });
        assert.equal(res.statusCode, 401, header);
        assert.match(String(res.headers['www-authenticate']), /^Bearer/);
        assert.ok(typeof res.json().error === 'string');
      }
    });
    test(`${r.name}: wrong role → 403`, async () => {
      for (const role of ROLES.filter((x) => !r.roles.includes(x))) {
        const res = await send(r.method, r.url, sample, tokenOf(role));
        assert.equal(res.statusCode, 403, role);
        assert.match(res.json().error, new RegExp(`lacks a required role \\(${r.roles.join(' or ')}\\)`));
      }
    });
    test(`${r.name}: right role → ${r.status}, done by the controller as the token’s user`, async () => {
      for (const role of r.roles) {
        const { url, body } = r.ok[role];
        const res = await send(r.method, url ?? r.url, body, tokenOf(role));
        assert.equal(res.statusCode, r.status, `${role}: ${res.body}`);
      }
    });
  }

  test('a write returns the updated tag object and is audited with the user', async () => {
    const res = await send('POST', rel(NIGHTLY, T(5), 'qe'), { verdict: 'QEAccepted', reason: 'manual sign-off' }, tokenOf('qe'));
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { name: T(5), phase: 'Accepted', pullSpec: `registry.local/release:${T(5)}`, downloadURL: '', qePhase: 'QEAccepted' });
    const events = await controller.listEvents({ stream: NIGHTLY, tag: T(5) });
    const e = events.find((x) => x.type === 'QEVerdictOverridden');
    assert.equal(e?.actor, 'quinn-qe');
    assert.equal(e?.data.reason, 'manual sign-off');
    assert.equal(controller.state.payload(NIGHTLY, T(5))!.qe.state, 'QEAccepted');
  });

  test('a token listed by its sha256 hash authenticates; the hash itself is not a token', async () => {
    const body = { tags: { cli: 'quay.io/x/cli@sha256:' + 'd'.repeat(64) } };
    const ok = await send('PUT', '/api/v1/inputstreams/hashed-input/tags', body, HASHED_CI_TOKEN);
    assert.equal(ok.statusCode, 200, ok.body);
    const withHash = await send('PUT', '/api/v1/inputstreams/hashed-input/tags', body, hashToken(HASHED_CI_TOKEN));
    assert.equal(withHash.statusCode, 401, 'someone who read the tokens file cannot use what it holds');
  });

  test('input update answers the input stream’s components', async () => {
    const res = await send('PUT', '/api/v1/inputstreams/other-input/tags', { tags: { b: 'quay.io/b@sha256:1', a: 'quay.io/a@sha256:2' } }, tokenOf('ci'));
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { input: 'other-input', tags: { a: 'quay.io/a@sha256:2', b: 'quay.io/b@sha256:1' } });
  });

  const bad: [string, string, string, unknown, RegExp][] = [
    ['missing reason', 'POST', rel(PLAIN, P(2), 'override'), { phase: 'Accepted' }, /^reason: is required$/],
    ['empty reason', 'POST', rel(PLAIN, P(2), 'override'), { phase: 'Accepted', reason: '   ' }, /^reason: must not be empty$/],
    ['reason not a string', 'POST', rel(NIGHTLY, T(4), 'qe/rerun'), { reason: 42 }, /^reason: must be a string$/],
    ['unknown phase', 'POST', rel(PLAIN, P(2), 'override'), { phase: 'Ready', reason: 'x' }, /^phase: must be Accepted or Rejected$/],
    ['missing phase', 'POST', rel(PLAIN, P(2), 'override'), { reason: 'x' }, /^phase: is required$/],
    ['unknown verdict', 'POST', rel(NIGHTLY, T(1), 'qe'), { verdict: 'Accepted', reason: 'x' }, /^verdict: must be QEAccepted or QERejected$/],
    ['unknown field', 'POST', rel(NIGHTLY, T(1), 'qe'), { verdict: 'QEAccepted', reason: 'x', user: 'mallory' }, /^body: unknown field "user"$/],
    ['array body', 'POST', rel(NIGHTLY, T(3), 'jobs/gcp/retry'), [{ reason: 'x' }], /must be a JSON object/],
    ['input without tags', 'PUT', '/api/v1/inputstreams/x/tags', {}, /^tags: is required$/],
    ['input with no components', 'PUT', '/api/v1/inputstreams/x/tags', { tags: {} }, /^tags: must name at least one component$/],
    ['input pull spec not a string', 'PUT', '/api/v1/inputstreams/x/tags', { tags: { cli: 1 } }, /^tags\.cli: must be a pull spec string$/],
    ['input bad component name (controller)', 'PUT', '/api/v1/inputstreams/x/tags', { tags: { '../etc': 'quay.io/x@sha256:1' } }, /invalid component name/],
  ];
  for (const [name, method, url, body, msg] of bad) {
    test(`400: ${name}`, async () => {
      const role = method === 'PUT' ? 'ci' : url.endsWith('/override') ? 'admin' : url.includes('/qe') ? 'qe' : 'ci';
      const res = await send(method, url, body, tokenOf(role));
      assert.equal(res.statusCode, 400, res.body);
      assert.match(res.json().error, msg);
    });
  }

  test('400: malformed JSON, empty JSON body, no body, non-JSON content type', async () => {
    const url = rel(PLAIN, P(2), 'override');
    const auth = { authorization: `Bearer ${tokenOf('admin')}` };
    const malformed = await app.inject({ method: 'POST', url, payload: '{"phase": ', headers: { ...auth, 'content-type': 'application/json' } });
    assert.equal(malformed.statusCode, 400);
    assert.match(malformed.json().error, /^the request body is not valid JSON/);
    const empty = await app.inject({ method: 'POST', url, payload: '', headers: { ...auth, 'content-type': 'application/json' } });
    assert.equal(empty.statusCode, 400);
    const none = await app.inject({ method: 'POST', url, headers: auth });
    assert.equal(none.statusCode, 400);
    assert.match(none.json().error, /must be a JSON object/);
    const text = await app.inject({ method: 'POST', url, payload: 'phase=Accepted', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(text.statusCode, 415);
  });

  test('404: unknown stream, unknown tag, unknown job (from the controller)', async () => {
    const cases: [string, string, unknown, string, RegExp][] = [
      ['admin', rel('nope', T(1), 'override'), { phase: 'Accepted', reason: 'x' }, 'POST', /^unknown release stream nope$/],
      ['admin', rel(NIGHTLY, 'nope', 'override'), { phase: 'Accepted', reason: 'x' }, 'POST', /^unknown release tag nope in stream 4\.16\.0-0\.nightly$/],
      ['qe', rel(NIGHTLY, P(1), 'qe'), { verdict: 'QEAccepted', reason: 'x' }, 'POST', /^unknown release tag/],
      ['qe', rel('nope', T(1), 'qe/rerun'), { reason: 'x' }, 'POST', /^unknown release stream/],
      ['ci', rel(NIGHTLY, T(3), 'jobs/no-such-job/retry'), { reason: 'x' }, 'POST', /has no verification job no-such-job/],
      ['ci', rel(NIGHTLY, T(3), 'jobs/old-job/retry'), { reason: 'x' }, 'POST', /has no verification job old-job/],
    ];
    for (const [role, url, body, method, msg] of cases) {
      const res = await send(method, url, body, tokenOf(role));
      assert.equal(res.statusCode, 404, `${url}: ${res.body}`);
      assert.match(res.json().error, msg);
    }
  });

  test('409 passes through from the controller', async () => {
    const failed = await send('POST', rel(NIGHTLY, T(7), 'override'), { phase: 'Accepted', reason: 'x' }, tokenOf('admin'));
    assert.equal(failed.statusCode, 409);
    assert.match(failed.json().error, /is Failed/);
    const noQE = await send('POST', rel(PLAIN, P(1), 'qe'), { verdict: 'QEAccepted', reason: 'x' }, tokenOf('qe'));
    assert.equal(noQE.statusCode, 409);
    assert.match(noQE.json().error, /has no QE jobs/);
    const succeeded = await send('POST', rel(NIGHTLY, T(4), 'jobs/aws-serial/retry'), { reason: 'x' }, tokenOf('ci'));
    assert.equal(succeeded.statusCode, 409);
    assert.match(succeeded.json().error, /already succeeded/);
  });

  test('the Authorization header never reaches the log', () => {
    const all = logLines.join('');
    assert.ok(all.includes('[redacted]'), 'the serializer logged headers, redacted');
    for (const t of TOKENS) assert.ok(!all.includes(t.token), `token of ${t.user} leaked into the log`);
  });
});

describe('tokens file', () => {
  test('valid YAML list of {user, token, roles}', () => {
    const t = parseTokens('- user: a\n  token: aaaaaaaaaaaaaaaa\n  roles: [admin, qe]\n- user: b\n  token: bbbbbbbbbbbbbbbb\n  roles: [ci, trt]\n', 'tokens.yaml');
    assert.deepEqual(t, [
      { user: 'a', token: 'aaaaaaaaaaaaaaaa', roles: ['admin', 'qe'] },
      { user: 'b', token: 'bbbbbbbbbbbbbbbb', roles: ['ci', 'trt'] },
    ]);
  });
  const invalid: [string, string, RegExp][] = [
    ['unknown role', '- user: a\n  token: aaaaaaaaaaaaaaaa\n  roles: [Root!]\n', /^tokens\.yaml: 0\.roles\.0: must be one of admin, qe, ci or a team name \(lowercase letters, digits and '-'\) \(got "Root!"\)$/],
    ['uppercase role', '- user: a\n  token: aaaaaaaaaaaaaaaa\n  roles: [trt, Admin]\n', /^tokens\.yaml: 0\.roles\.1: must be one of admin, qe, ci or a team name/],
    ['missing token', '- user: a\n  roles: [qe]\n', /^tokens\.yaml: 0\.token: is required$/],
    ['entry not a mapping', '- alice\n', /^tokens\.yaml: 0: must be a mapping with user, token and roles$/],
    ['short token', '- user: a\n  token: short\n  roles: [qe]\n', /^tokens\.yaml: 0\.token: must be at least 16 characters$/],
    ['no roles', '- user: a\n  token: aaaaaaaaaaaaaaaa\n  roles: []\n', /^tokens\.yaml: 0\.roles: must list at least one role$/],
    ['unknown field', '- user: a\n  token: aaaaaaaaaaaaaaaa\n  roles: [qe]\n  admin: true\n', /^tokens\.yaml: 0: unknown field admin$/],
    ['not a list', 'user: a\n', /^tokens\.yaml: \(root\): must be a list of \{user, token, roles\}$/],
    ['invalid YAML', '- user: [a\n', /^tokens\.yaml: \(root\): invalid YAML/],
    ['duplicate token', '- user: a\n  token: aaaaaaaaaaaaaaaa\n  roles: [qe]\n- user: b\n  token: aaaaaaaaaaaaaaaa\n  roles: [ci]\n', /^tokens\.yaml: 1\.token: the same token is listed twice$/],
    ['malformed hash (short)', `- user: a\n  token: aaaaaaaaaaaaaaaa\n  roles: [qe]\n- user: b\n  token: sha256:${'ab'.repeat(16)}\n  roles: [ci]\n`, /^tokens\.yaml: 1\.token: a token hash must be sha256: followed by 64 hex digits \(got 32 characters after sha256:\)$/],
    ['malformed hash (not hex)', `- user: a\n  token: sha256:${'g'.repeat(64)}\n  roles: [qe]\n`, /^tokens\.yaml: 0\.token: a token hash must be sha256: followed by 64 hex digits/],
    ['a token and its hash', `- user: a\n  token: aaaaaaaaaaaaaaaa\n  roles: [qe]\n- user: b\n  token: ${hashToken('aaaaaaaaaaaaaaaa')}\n  roles: [ci]\n`, /^tokens\.yaml: 1\.token: the same token is listed twice$/],
  ];
  for (const [name, text, msg] of invalid) {
    test(`rejected: ${name} (file, field, reason)`, () => {
      assert.throws(() => parseTokens(text, 'tokens.yaml'), { message: msg });
    });
  }
  test('loadTokensFile reads a file and names it in errors', () => {
    const dir = tempDir('rc-tokens-');
    try {
      const f = join(dir, 'tokens.yaml');
      writeFileSync(f, '- user: a\n  token: aaaaaaaaaaaaaaaa\n  roles: [ci]\n');
      assert.equal(loadTokensFile(f)[0].user, 'a');
      assert.throws(() => loadTokensFile(join(dir, 'missing.yaml')), { message: /missing\.yaml: \(root\): cannot read the tokens file: ENOENT/ });
    } finally {
      cleanup(dir);
    }
  });
  test('Authenticator: tokens of different lengths compare without error; scheme is case-insensitive', () => {
    const a = new Authenticator(TOKENS);
    assert.equal(a.identify(`bearer ${tokenOf('qe')}`)?.user, 'quinn-qe');
    assert.equal(a.identify('Bearer x'), null);
    assert.equal(a.identify(`Bearer ${'y'.repeat(10_000)}`), null);
    assert.equal(a.identify(undefined), null);
  });
  test('sha256 entries: plain and hashed tokens side by side, hex case-insensitive; a hash is not a usable token', () => {
    const hashed = hashToken('zzzzzzzzzzzzzzzz-hashed');
    assert.match(hashed, /^sha256:[0-9a-f]{64}$/);
    const t = parseTokens(`- user: plain\n  token: pppppppppppppppp\n  roles: [qe]\n- user: hashed\n  token: ${hashed.toUpperCase().replace('SHA256:', 'sha256:')}\n  roles: [ci]\n`, 'tokens.yaml');
    const a = new Authenticator(t);
    assert.equal(a.identify('Bearer pppppppppppppppp')?.user, 'plain');
    assert.equal(a.identify('Bearer zzzzzzzzzzzzzzzz-hashed')?.user, 'hashed');
    assert.equal(a.identify(`Bearer ${hashed}`), null);
    // Basic credentials (the browser form of serve --private-logs): any user name, the token as password
    const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
    assert.equal(a.identifyAny(basic('anyone:zzzzzzzzzzzzzzzz-hashed'))?.user, 'hashed');
    assert.equal(a.identifyAny(basic('zzzzzzzzzzzzzzzz-hashed')), null, 'no password');
    assert.equal(a.identifyAny(basic('x:wrong')), null);
    assert.equal(a.identifyAny('Bearer pppppppppppppppp')?.user, 'plain');
    assert.equal(a.identify(basic('x:pppppppppppppppp')), null, 'write routes take Bearer only');
  });
  test('`release-controller token hash` reads a token from stdin and prints its sha256: form', () => {
    const run = (input: string) => spawnSync(process.execPath, [BIN, 'token', 'hash'], { input, encoding: 'utf8' });
    const ok = run('my-new-token-0123456789\n');
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, `${hashToken('my-new-token-0123456789')}\n`);
    assert.equal(new Authenticator(parseTokens(`- user: u\n  token: ${ok.stdout.trim()}\n  roles: [ci]\n`, 't.yaml')).identify('Bearer my-new-token-0123456789')?.user, 'u');
    const short = run('short\n');
    assert.equal(short.status, 2);
    assert.match(short.stderr, /at least 16 characters/);
    assert.equal(run('two tokens-0123456789\n').status, 2);
  });
});
