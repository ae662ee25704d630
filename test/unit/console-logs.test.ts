// /logs/:runId — serves only the log path the state records, follows a running job's log until the
// run finishes, stops when the client goes away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { State } from '../../src/controller/state.ts';
import type { Operations } from '../../src/controller/operations.ts';
import { ReleaseConfigSchema } from '../../src/domain/config/schema.ts';
import type { JobRun, Payload } from '../../src/domain/types.ts';
import { Authenticator } from '../../src/http/auth.ts';
import { createPages, type PagesOptions } from '../../src/http/pages/index.ts';

const config = ReleaseConfigSchema.parse({ name: 's', verify: { a: { prowJob: { name: 'a' } } } });
const payload: Payload = {
  stream: 's', tag: 'p1', phase: 'Ready', createdAt: '2025-03-01T10:00:00Z', inputHash: '', pullSpec: 'r@sha256:1', digest: '', components: {},
  reason: '', message: '', annotations: {}, override: null,
  qe: { state: '', reason: '', message: '', startedAt: null, deadline: null, generation: 0, jobs: [], override: null }, phaseChangedAt: '2025-03-01T10:00:00Z',
};

function runOf(id: string, logPath: string, state: JobRun['state']): JobRun {
  return {
    id, stream: 's', tag: 'p1', verifyName: 'a', jobName: 'a', kind: 'blocking', attempt: 0, generation: 0, state, url: `/logs/${id}`, upgradeFrom: '',
    upgradeFromPullSpec: '', createdAt: payload.createdAt, startedAt: payload.createdAt, finishedAt: state === 'Pending' ? null : payload.createdAt, reason: '', logPath,
  };
}

async function setup(extra: PagesOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'console-logs-'));
  const done = join(dir, 'done.log');
  const live = join(dir, 'live.log');
  writeFileSync(done, 'line 1\n<script>alert(1)</script>\n');
  writeFileSync(live, 'starting\n');
  const state = State.fromSnapshot({
    streams: [{ name: 's', config, sourceFile: 'x', input: 's', errors: [], warnings: [], locked: false }],
    inputTags: [], payloads: [payload], upgrades: [], published: [],
    jobRuns: [runOf('done', done, 'Succeeded'), runOf('live', live, 'Pending'), runOf('nolog', '', 'Succeeded'), runOf('gone', join(dir, 'missing.log'), 'Failed')],
  });
  const ops = { state, listEvents: async () => [], subscribe: () => () => undefined } as unknown as Operations;
  const app = Fastify();
  await app.register(createPages(ops, { logPollMs: 20, ...extra }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as { port: number }).port;
  return { dir, live, state, app, port, close: async () => { await app.close(); rmSync(dir, { recursive: true, force: true }); } };
}

test('logs: finished run served as text/plain (nosniff); unknown runs, missing logs and URL paths give 404', async () => {
  const s = await setup();
  try {
    const r = await s.app.inject('/logs/done');
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.body, 'line 1\n<script>alert(1)</script>\n');
    for (const [url, msg] of [
      ['/logs/unknown', /unknown job run unknown/],
      ['/logs/nolog', /no log was recorded/],
      ['/logs/gone', /no longer available/],
      ['/logs/..%2F..%2F..%2Fetc%2Fpasswd', /unknown job run/],
    ] as const) {
      const x = await s.app.inject(url);
      assert.equal(x.statusCode, 404, url);
      assert.match(x.body, msg);
    }
  } finally {
    await s.close();
  }
});

test('logs: a running job is streamed as it writes and the response ends when the run finishes', async () => {
  const s = await setup();
  try {
    const chunks: string[] = [];
    let ended = false;
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: s.port, path: '/logs/live' }, resolve);
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.statusCode, 200);
    res.setEncoding('utf8');
    res.on('data', (c: string) => chunks.push(c));
    const endedP = new Promise<void>((r) => res.on('end', () => { ended = true; r(); }));
    const waitFor = async (what: string, f: () => boolean) => {
      const end = Date.now() + 5000;
      while (!f()) {
        if (Date.now() > end) throw new Error(`timed out: ${what}; got ${JSON.stringify(chunks.join(''))}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await waitFor('first bytes', () => chunks.join('').includes('starting\n'));
    appendFileSync(s.live, 'step 2\n');
    await waitFor('appended bytes', () => chunks.join('').includes('step 2\n'));
    assert.equal(ended, false, 'still streaming while Pending');
    appendFileSync(s.live, 'last words\n');
    s.state.apply([{ kind: 'putJobRun', run: runOf('live', s.live, 'Succeeded') }]);
    await endedP;
    assert.equal(chunks.join(''), 'starting\nstep 2\nlast words\n');
  } finally {
    await s.close();
  }
});

test('logs: following stops when the client disconnects', async () => {
  const s = await setup();
  try {
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: s.port, path: '/logs/live' }, resolve);
      req.on('error', reject);
      req.end();
    });
    await new Promise<void>((r) => res.once('data', () => r()));
    // count the follower's polls of the state
    let polls = 0;
    const orig = s.state.run.bind(s.state);
    s.state.run = (id: string) => {
      polls++;
      return orig(id);
    };
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(polls > 0, 'follower polls while the client is connected');
    res.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const after = polls;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(polls, after, 'no more polling once the client is gone');
  } finally {
    await s.close().catch(() => undefined);
  }
});

test('logs: private (serve --private-logs): 401 with a clear message and a browser challenge without a valid token; Bearer or Basic with any role reads', async () => {
  const auth = new Authenticator([{ user: 'quinn', token: 'qe-token-0123456789abcdef', roles: ['qe'] }]);
  const s = await setup({ logsAuth: auth });
  try {
    for (const [headers, msg] of [
      [{}, /^authentication required: job logs are private/],
      [{ authorization: 'Bearer not-a-token-0123456789' }, /^invalid token/],
      [{ authorization: `Basic ${Buffer.from('quinn:wrong').toString('base64')}` }, /^invalid token/],
      [{ authorization: 'Token qe-token-0123456789abcdef' }, /^invalid token/],
    ] as const) {
      for (const url of ['/logs/done', '/logs/unknown']) {
        const r = await s.app.inject({ url, headers });
        assert.equal(r.statusCode, 401, `${url} ${JSON.stringify(headers)}`);
        assert.match(r.body, msg);
        assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
        assert.ok(!r.body.includes('line 1'), 'no log content');
        const challenge = ([] as string[]).concat(r.headers['www-authenticate'] ?? []);
        assert.ok(challenge.some((c) => c.startsWith('Basic realm=')), 'a browser is asked for credentials');
        assert.ok(challenge.some((c) => c.startsWith('Bearer')));
      }
    }
    const bearer = await s.app.inject({ url: '/logs/done', headers: { authorization: 'Bearer qe-token-0123456789abcdef' } });
    assert.equal(bearer.statusCode, 200);
    assert.equal(bearer.body, 'line 1\n<script>alert(1)</script>\n');
    const basic = await s.app.inject({ url: '/logs/done', headers: { authorization: `Basic ${Buffer.from('anyone:qe-token-0123456789abcdef').toString('base64')}` } });
    assert.equal(basic.statusCode, 200, 'a browser: any user name, the token as the password');
    assert.equal((await s.app.inject({ url: '/logs/unknown', headers: { authorization: 'Bearer qe-token-0123456789abcdef' } })).statusCode, 404);
    assert.equal((await s.app.inject('/logs/done?token=qe-token-0123456789abcdef')).statusCode, 401, 'never a token in the URL');
    // tokens reload (SIGHUP): the authenticator's new list applies to the next request
    auth.setTokens([{ user: 'neo', token: 'new-token-0123456789abcdef', roles: ['ci'] }]);
    assert.equal((await s.app.inject({ url: '/logs/done', headers: { authorization: 'Bearer qe-token-0123456789abcdef' } })).statusCode, 401);
    assert.equal((await s.app.inject({ url: '/logs/done', headers: { authorization: 'Bearer new-token-0123456789abcdef' } })).statusCode, 200);
  } finally {
    await s.close();
  }
});

test('logs: public by default (no token needed, an Authorization header is ignored)', async () => {
  const s = await setup();
  try {
    assert.equal((await s.app.inject('/logs/done')).statusCode, 200);
    assert.equal((await s.app.inject({ url: '/logs/done', headers: { authorization: 'Bearer whatever' } })).statusCode, 200);
  } finally {
    await s.close();
  }
});
