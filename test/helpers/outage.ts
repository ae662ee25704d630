// The scenario the store-outage tests of the real `serve` process share (PostgreSQL stopped and
// killed, SQLite on a full disk): one stream with three jobs (two blocking, one informing that
// fails), each of which logs its run id when it starts and then waits for its payload's gate; and
// `serve` on the given --db with a CI token, started and ready.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventRecord } from '../../src/domain/types.ts';
import type { Snapshot } from '../../src/ports/store.ts';
import { pullSpec, waitFor, writeScripts } from './harness.ts';
import { startServe, type ServeProc } from './serve-proc.ts';

export const TOKEN = 'ci-token-0123456789abcdef';
/** how the runs of every payload end */
export const VERIFY = { 'e2e-aws': 'Succeeded', 'e2e-gcp': 'Succeeded', informing: 'Failed' };

export interface Reply {
  status: number;
  text: string;
  headers: Headers;
}

export async function http(url: string, init?: RequestInit): Promise<Reply> {
  const r = await fetch(url, init);
  return { status: r.status, text: await r.text(), headers: r.headers };
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);

export interface GatedScenario {
  proc: ServeProc;
  base: string;
  /** the run ids (name + attempt) the jobs logged as they started, one a launch */
  launches(): string[];
  readyz(): Promise<Reply>;
  /** waits until /readyz answers 503 and resolves with its text */
  notReady(): Promise<string>;
  /** a CI write: a new cli image on the stream's input */
  putTags(): Promise<Reply>;
  tagList(): Promise<{ name: string; phase: string }[]>;
  /** a new payload whose three jobs are running */
  newPayload(): Promise<string>;
  accepted(tag: string): Promise<boolean>;
  /** opens the gate of payload `tag`: its jobs finish */
  release(tag: string): void;
  /**
   * every launch ran once and is a run of `snap`; the runs of each of `tags` ended as VERIFY, each
   * with its result event. Resolves with the launches counted.
   */
  assertRecordedOnce(snap: Snapshot, events: EventRecord[], tags: string[]): Map<string, number>;
}

/** Writes the stream, jobs and tokens into `dir`, starts `serve --db DB` and waits until it is ready. */
export async function startGatedScenario(o: { dir: string; db: string; stream: string }): Promise<GatedScenario> {
  const { dir, stream } = o;
  const releases = join(dir, 'releases');
  const gates = join(dir, 'gates');
  mkdirSync(releases);
  mkdirSync(gates);
  const launchLog = join(dir, 'launches.log');
  const s = writeScripts(dir, {
    job: `echo "$BUILD_ID" >> "${launchLog}"; while [ ! -e "${gates}/$PAYLOAD_TAG" ]; do [ -d "${gates}" ] || exit 3; sleep 0.02; done; [ "$JOB_NAME" = informing ] && exit 1; exit 0`,
  });
  writeFileSync(join(releases, 'stream.json'), JSON.stringify({
    name: stream,
    to: 'release',
    verify: { 'e2e-aws': { prowJob: { name: 'e2e-aws' } }, 'e2e-gcp': { prowJob: { name: 'e2e-gcp' } }, informing: { optional: true, prowJob: { name: 'informing' } } },
  }));
  const jobs = join(dir, 'jobs.yaml');
  writeFileSync(jobs, `jobs:\n  "*": { command: ["bash", "${s.job}"] }\n`);
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, `- user: ci\n  token: ${TOKEN}\n  roles: [ci]\n`);
  const proc = await startServe(['--releases', releases, '--jobs', jobs, '--tokens', tokens, '--data', join(dir, 'data'), '--db', o.db, '--port', '0', '--host', '127.0.0.1', '--no-watch']);
  const base = proc.url;
  const readyz = () => http(`${base}/readyz`);
  try {
    await waitFor('ready', async () => (await readyz()).status === 200, 20_000);
  } catch (e) {
    proc.child.kill('SIGKILL');
    await proc.exited;
    throw e;
  }

  const launches = () => lines(launchLog);
  const putTags = () => http(`${base}/api/v1/inputstreams/${stream}/tags`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tags: { cli: pullSpec('cli') } }),
  });
  const tagList = async () => JSON.parse((await http(`${base}/api/v1/releasestream/${stream}/tags`)).text).tags as { name: string; phase: string }[];
  const seen = new Set<string>();
  return {
    proc,
    base,
    launches,
    readyz,
    notReady: () => waitFor('/readyz 503 with the reason', async () => {
      const r = await readyz();
      return r.status === 503 ? r.text : null;
    }, 20_000),
    putTags,
    tagList,
    async newPayload() {
      // as a CI client does: a 503 (the store still recovering from the last fault) is retried after Retry-After
      const r = await waitFor('the input update accepted', async () => {
        const res = await putTags();
        if (res.status === 503) {
          await new Promise((resolve) => setTimeout(resolve, Number(res.headers.get('retry-after') ?? 1) * 1000));
          return null;
        }
        return res;
      }, 30_000);
      assert.ok(r.status < 300, `${r.status} ${r.text}`);
      const tag = await waitFor('a new payload', async () => (await tagList()).find((t) => !seen.has(t.name))?.name, 20_000);
      seen.add(tag);
      await waitFor(`jobs of ${tag} running`, () => launches().filter((l) => l.includes(tag)).length === 3, 20_000);
      return tag;
    },
    accepted: (tag) => waitFor(`${tag} accepted`, async () => (await tagList()).find((t) => t.name === tag)?.phase === 'Accepted', 30_000),
    release: (tag) => writeFileSync(join(gates, tag), ''),
    assertRecordedOnce(snap, events, tags) {
      const counts = new Map<string, number>();
      for (const l of launches()) counts.set(l, (counts.get(l) ?? 0) + 1);
      for (const [id, n] of counts) assert.equal(n, 1, `${id} launched ${n} times`);
      assert.deepEqual([...counts.keys()].sort(), snap.jobRuns.map((r) => r.id).sort());
      for (const tag of tags) {
        const runs = snap.jobRuns.filter((r) => r.tag === tag);
        assert.deepEqual(Object.fromEntries(runs.map((r) => [r.verifyName, r.state])), VERIFY, tag);
        for (const r of runs) assert.ok(events.some((e) => e.type === 'JobStateChanged' && e.data.runId === r.id && e.data.state === r.state), `${r.id}: its result event`);
      }
      return counts;
    },
  };
}
