// Secrets stay put: the real `release-controller serve` process runs with a PostgreSQL URL holding a
// password in RC_DB, its tokens file in RC_TOKENS, a client token and an unrelated secret in its
// environment; a job that prints its environment (`env`) shows none of them and does show its
// documented variables. The same server runs with --private-logs: the job's log needs a token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { INHERITED_ENV } from '../../src/adapters/jobs/local/index.ts';
import { cleanup, pullSpec, tempDir, waitFor } from '../helpers/harness.ts';
import { startServe, type ServeProc } from '../helpers/serve-proc.ts';

const PG_URL = process.env.RC_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
const STREAM = '4.20.0-0.nightly';
const CI_TOKEN = 'ci-token-0123456789abcdef';
const PG_PASSWORD = `pg-secret-${randomBytes(6).toString('hex')}`;
const CLIENT_TOKEN = `client-token-${randomBytes(6).toString('hex')}`;
const OTHER_SECRET = `other-secret-${randomBytes(6).toString('hex')}`;

async function sql(text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

/** PG_URL with a password and another database: postgres://user:PASSWORD@host:port/db (trust auth ignores the password). */
function urlWithPassword(db: string): string {
  const u = new URL(PG_URL);
  u.password = PG_PASSWORD;
  u.pathname = `/${db}`;
  return u.toString();
}

test('a job launched by serve prints its environment: none of the controller\'s variables, all of its documented ones; --private-logs guards its log', async () => {
  const db = `rc_w3_env_${randomBytes(5).toString('hex')}`;
  await sql(`CREATE DATABASE ${pg.escapeIdentifier(db)}`);
  const dir = tempDir('rc-exec-env-');
  let proc: ServeProc | undefined;
  try {
    const releases = join(dir, 'releases');
    mkdirSync(releases);
    writeFileSync(join(releases, 'stream.json'), JSON.stringify({ name: STREAM, to: 'release', verify: { 'e2e-aws': { prowJob: { name: 'e2e-aws' } } } }));
    const jobs = join(dir, 'jobs.yaml');
    writeFileSync(jobs, 'jobs:\n  "*": { command: [env], env: { FROM_JOBS_FILE: "yes" } }\n');
    const tokens = join(dir, 'tokens.yaml');
    writeFileSync(tokens, `- user: ci\n  token: ${CI_TOKEN}\n  roles: [ci]\n`);
    const data = join(dir, 'data');
    const controllerEnv = {
      RC_DB: urlWithPassword(db),
      RC_TOKENS: tokens,
      RELEASE_CONTROLLER_TOKEN: CLIENT_TOKEN,
      RC_TEST_CONTROLLER_SECRET: OTHER_SECRET,
    };
    // --db and --tokens come from RC_DB and RC_TOKENS: the controller really uses them
    proc = await startServe(['--releases', releases, '--jobs', jobs, '--data', data, '--port', '0', '--host', '127.0.0.1', '--private-logs'], 30_000, controllerEnv);
    const tables = new pg.Client({ connectionString: urlWithPassword(db) });
    await tables.connect();
    const n = Number((await tables.query("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'")).rows[0].n);
    await tables.end();
    assert.ok(n > 0, 'the store is the PostgreSQL database named by RC_DB');

    const put = await fetch(`${proc.url}/api/v1/inputstreams/${STREAM}/tags`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${CI_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tags: { cli: pullSpec('cli') } }),
    });
    assert.equal(put.status, 200, await put.text());
    const runs = join(data, 'runs');
    const runId = await waitFor('the job finished', () => (existsSync(runs) ? readdirSync(runs).find((id) => existsSync(join(runs, id, 'status.json'))) : undefined), 30_000);

    const anonymous = await fetch(`${proc.url}/logs/${runId}`);
    assert.equal(anonymous.status, 401);
    assert.match(await anonymous.text(), /authentication required: job logs are private/);
    const res = await fetch(`${proc.url}/logs/${runId}`, { headers: { authorization: `Bearer ${CI_TOKEN}` } });
    assert.equal(res.status, 200);
    const log = await res.text();
    const env = new Map(log.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

    for (const name of [...Object.keys(controllerEnv), 'NO_COLOR']) assert.equal(env.has(name), false, `${name} reached the job`);
    for (const secret of [PG_PASSWORD, CLIENT_TOKEN, OTHER_SECRET, CI_TOKEN, db]) assert.ok(!log.includes(secret), 'no secret value reached the job');
    const documented = ['RELEASE_IMAGE_LATEST', 'JOB_NAME', 'BUILD_ID', 'PAYLOAD_TAG', 'RELEASE_STREAM', 'VERIFICATION_JOB_NAME', 'ARTIFACT_DIR', 'PATH', 'HOME', 'FROM_JOBS_FILE'];
    for (const name of documented) assert.ok(env.get(name), `${name} is set`);
    assert.equal(env.get('JOB_NAME'), 'e2e-aws');
    assert.equal(env.get('BUILD_ID'), runId);
    assert.equal(env.get('RELEASE_STREAM'), STREAM);
    assert.equal(env.get('ARTIFACT_DIR'), join(runs, runId, 'artifacts'));
    assert.equal(env.has('RELEASE_IMAGE_INITIAL'), false, 'not an upgrade');
    const allowed = new Set([...INHERITED_ENV, ...documented, 'PWD']);
    assert.deepEqual([...env.keys()].filter((k) => !allowed.has(k)), [], 'nothing else');
  } finally {
    if (proc && proc.child.exitCode === null) {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
    cleanup(dir);
    await sql(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(db)} WITH (FORCE)`);
  }
});

test('serve --private-logs without a tokens file is refused (nobody could read the logs); logs are public by default', async () => {
  const dir = tempDir('rc-exec-env-');
  let proc: ServeProc | undefined;
  try {
    const releases = join(dir, 'releases');
    mkdirSync(releases);
    const jobs = join(dir, 'jobs.yaml');
    writeFileSync(jobs, 'jobs:\n  "*": { command: [env] }\n');
    const args = ['--releases', releases, '--jobs', jobs, '--data', join(dir, 'data'), '--port', '0', '--host', '127.0.0.1'];
    await assert.rejects(startServe([...args, '--private-logs'], 30_000, { RC_TOKENS: '' }), /serve exited 2: .*--private-logs needs a tokens file/s);
    proc = await startServe(args, 30_000, { RC_TOKENS: '' });
    // public: an unknown run answers 404 (not 401) without any token
    const r = await fetch(`${proc.url}/logs/no-such-run`);
    assert.equal(r.status, 404);
  } finally {
    if (proc && proc.child.exitCode === null) {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
    cleanup(dir);
  }
});
