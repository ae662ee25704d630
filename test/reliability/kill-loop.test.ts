// Kill loop (issue 13): a busy scenario — three streams, jobs of random duration and outcome,
// retries, an aggregated upgrade, QE jobs, overrides / QE verdicts / retries over the API —
// while the REAL `release-controller serve` process is SIGKILLed at random moments and restarted
// on the same data directory. Afterwards:
//   - every launch is accounted for exactly once: each job process writes its own marker file
//     (named by its BUILD_ID, the run id) on start and on exit; a marker with two starts means an
//     attempt ran twice, a marker without a recorded run means a launch that was never recorded;
//   - no two attempts of one entry ran at the same time (their marker intervals do not overlap);
//   - every recorded result is the one the job process reported (exit code → state);
//   - no recorded result changed between kills (the store read while the process is down);
//   - no verdict contradicts its runs (Accepted by CI ⇒ every blocking entry has a passing run;
//     Rejected by CI ⇒ each named entry used all its attempts and failed; QE verdicts likewise).
//
// Quick by default (10 kills, ~1 min); `npm run torture -- --long` runs 100 kills, and
// KILL_LOOP_KILLS / KILL_LOOP_SEED choose the number of kills and the seed (printed on failure).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import type { ReleaseVerification } from '../../src/domain/config/schema.ts';
import { qeRunsOf } from '../../src/domain/qe.ts';
import type { JobRun, Payload } from '../../src/domain/types.ts';
import { decidingRuns, isInterrupted } from '../../src/domain/verification.ts';
import { cleanup, pullSpec, tempDir, waitFor, writeScripts } from '../helpers/harness.ts';
import { rng, type Rng } from '../helpers/model.ts';
import { startServe, type ServeProc } from '../helpers/serve-proc.ts';

const KILLS = Number(process.env.KILL_LOOP_KILLS ?? 10);
// The suite (and CI) runs one fixed seed that passes; `npm run torture` and KILL_LOOP_SEED=random
// explore random ones. Every entry has at most one retry: the second retry of an entry waits
// upstream's 2-minute backoff (retryBackoffMs), longer than the final wait, which is what left a
// payload Ready/QEPending at the end of seeds such as 960614971 and 796123158.
const SEED_ENV = process.env.KILL_LOOP_SEED ?? '996043767';
const SEED = SEED_ENV === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(SEED_ENV);
const TOKENS = { admin: 'admin-token-0123456789abcdef', qe: 'qe-token-0123456789abcdef', ci: 'ci-token-0123456789abcdef' };

const STREAMS = {
  '4.20.0-0.nightly': {
    name: '4.20.0-0.nightly',
    to: 'release',
    source: 'ocp-4.20',
    maxUnreadyReleases: 2,
    minCreationIntervalSeconds: 1,
    verify: {
      'e2e-aws': { maxRetries: 1, prowJob: { name: 'e2e-aws' } },
      'e2e-gcp': { prowJob: { name: 'e2e-gcp' } },
      'upgrade-micro': { upgrade: true, optional: true, prowJob: { name: 'e2e-upgrade' } },
      informing: { optional: true, maxRetries: 1, prowJob: { name: 'informing' } },
      'qe-a': { qe: true, maxRetries: 1, prowJob: { name: 'qe-a' } },
      'qe-b': { qe: true, prowJob: { name: 'qe-b' } },
    },
    qe: { timeout: '30m' },
  },
  '4.20.0-0.ci': {
    name: '4.20.0-0.ci',
    to: 'release-ci',
    source: 'ci-4.20',
    maxUnreadyReleases: 1,
    minCreationIntervalSeconds: 1,
    verify: {
      'e2e-aws': { maxRetries: 1, prowJob: { name: 'e2e-aws' } },
      'aggregated-upgrade': { upgrade: true, prowJob: { name: 'e2e-upgrade' }, aggregatedProwJob: { analysisJobCount: 3 } },
    },
  },
  '4.19.0-0.nightly': {
    name: '4.19.0-0.nightly',
    to: 'release-419',
    source: 'ocp-4.19',
    maxUnreadyReleases: 1,
    minCreationIntervalSeconds: 1,
    verify: {
      e2e: { prowJob: { name: 'e2e-aws' } },
      'qe-smoke': { qe: true, prowJob: { name: 'qe-a' } },
    },
    qe: { timeout: '30m' },
  },
} as const;
const INPUTS = Object.fromEntries(Object.values(STREAMS).map((s) => [s.source, s.name]));

interface Marker {
  starts: { at: number; pid: number }[];
  ends: { at: number; rc: number }[];
  stream: string;
  tag: string;
}

function readMarkers(dir: string): Map<string, Marker> {
  const out = new Map<string, Marker>();
  for (const id of readdirSync(dir)) {
    const m: Marker = { starts: [], ends: [], stream: '', tag: '' };
    for (const line of readFileSync(join(dir, id), 'utf8').split('\n')) {
      const [what, at, x, stream, tag] = line.split(' ');
      if (what === 'start') {
        m.starts.push({ at: Number(at) / 1e6, pid: Number(x) });
        m.stream = stream;
        m.tag = tag;
      } else if (what === 'end') m.ends.push({ at: Number(at) / 1e6, rc: Number(x) });
    }
    out.set(id, m);
  }
  return out;
}

interface Recorded {
  runs: Map<string, JobRun>;
  payloads: Map<string, Payload>;
  /** `stream/tag` of payloads garbage collection removed (their PayloadDeleted events are kept) */
  collected: Set<string>;
  /** ids of events people caused (overrides, QE verdicts, re-runs, retries) per `stream/tag` */
  actions: Map<string, number[]>;
  lastEventId: number;
}

async function readStore(db: string): Promise<Recorded> {
  const store = openSqliteStore(db);
  try {
    const s = await store.load();
    const collected = new Set<string>();
    const actions = new Map<string, number[]>();
    let lastEventId = 0;
    // the store pages events (a capped limit): read them all by id
    for (let after = 0; ; ) {
      const page = await store.listEvents({ afterId: after, limit: 1000 });
      if (!page.length) break;
      for (const e of page) {
        const key = `${e.stream}/${e.tag}`;
        if (e.type === 'PayloadDeleted') collected.add(key);
        if (e.actor !== 'controller') actions.set(key, [...(actions.get(key) ?? []), e.id ?? 0]);
      }
      after = lastEventId = Math.max(...page.map((e) => e.id ?? 0));
    }
    return { runs: new Map(s.jobRuns.map((r) => [r.id, r])), payloads: new Map(s.payloads.map((p) => [`${p.stream}/${p.tag}`, p])), collected, actions, lastEventId };
  } finally {
    await store.close();
  }
}

const FINAL = new Set(['Succeeded', 'Failed', 'Aborted', 'Interrupted']);
const decided = (p: Payload) => p.phase === 'Accepted' || p.phase === 'Rejected' || p.phase === 'Failed';

/** What changed between two reads of the store that must never change: final results and verdicts. */
function changedResults(before: Recorded, after: Recorded, violations: string[]): void {
  for (const [id, r] of before.runs) {
    if (!FINAL.has(r.state)) continue;
    const now = after.runs.get(id);
    if (!now && after.collected.has(`${r.stream}/${r.tag}`)) continue;
    if (!now) violations.push(`run ${id} (${r.state}) disappeared`);
    else if (now.state !== r.state || now.finishedAt !== r.finishedAt) violations.push(`run ${id} was ${r.state} at ${r.finishedAt}, now ${now.state} at ${now.finishedAt}`);
  }
  for (const [key, p] of before.payloads) {
    const now = after.payloads.get(key);
    if (!now) {
      if (!after.collected.has(key)) violations.push(`payload ${key} disappeared without garbage collection`);
      continue;
    }
    // a verdict changes only by what a person did meanwhile (an override, a QE verdict or re-run, a retry)
    if ((after.actions.get(key) ?? []).some((id) => id > before.lastEventId)) continue;
    if (decided(p) && now.phase !== p.phase) violations.push(`payload ${key} was ${p.phase}, now ${now.phase} and nobody acted on it`);
    const qeFinal = p.qe.state === 'QEAccepted' || p.qe.state === 'QERejected';
    if (qeFinal && now.qe.state !== p.qe.state) violations.push(`payload ${key} QE was ${p.qe.state}, now ${now.qe.state} and nobody acted on it`);
  }
}

/** Each job's outcome and duration follow from its run id and the seed (so a rerun of the seed repeats them). */
function jobScript(markers: string): string {
  return [
    'set -u',
    `m="${markers}/$BUILD_ID"`,
    'echo "start $(date +%s%N) $$ $RELEASE_STREAM $PAYLOAD_TAG" >> "$m"',
    'h=$(printf "%s" "$SEED$BUILD_ID" | cksum | cut -d" " -f1)',
    'rc=0; if [ $((h % 5)) -eq 0 ]; then rc=1; fi',
    'sleep "$(( (h / 7) % 20 / 10 )).$(( (h / 7) % 10 ))"',
    'echo "end $(date +%s%N) $rc" >> "$m"',
    'exit $rc',
  ].join('\n');
}

async function api(proc: ServeProc, method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; text: string } | null> {
  try {
    const r = await fetch(proc.url + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: r.status, text: await r.text() };
  } catch {
    return null; // the process was killed under the request
  }
}

interface Tags {
  tags: { name: string; phase: string; qePhase?: string }[] | null;
}

/** One random operator or CI action over the API, as a release team would do during the run. */
async function randomAction(proc: ServeProc, r: Rng, n: number, counts: Map<string, number>, serverErrors: string[]): Promise<void> {
  const input = r.pick(Object.keys(INPUTS));
  const stream = INPUTS[input];
  const note = (what: string, res: { status: number; text: string } | null) => {
    counts.set(what, (counts.get(what) ?? 0) + 1);
    if (res && res.status >= 500) serverErrors.push(`${what}: ${res.status} ${res.text}`);
  };
  const roll = r.next();
  if (roll < 0.55) {
    const comps = Object.fromEntries(['cli', 'installer', 'etcd', 'console'].filter((_, i) => i === 0 || r.chance(0.3)).map((c) => [c, pullSpec(`${c}-${n}-`)]));
    note('input update', await api(proc, 'PUT', `/api/v1/inputstreams/${input}/tags`, TOKENS.ci, { tags: comps }));
    return;
  }
  const listed = await api(proc, 'GET', `/api/v1/releasestream/${stream}/tags`, null);
  if (!listed || listed.status !== 200) return;
  const tags = (JSON.parse(listed.text) as Tags).tags ?? [];
  if (!tags.length) return;
  const t = r.pick(tags);
  const base = `/api/v1/releasestream/${stream}/release/${t.name}`;
  if (roll < 0.65) note('override', await api(proc, 'POST', `${base}/override`, TOKENS.admin, { phase: r.pick(['Accepted', 'Rejected']), reason: 'kill loop override' }));
  else if (roll < 0.75) note('qe verdict', await api(proc, 'POST', `${base}/qe`, TOKENS.qe, { verdict: r.pick(['QEAccepted', 'QERejected']), reason: 'kill loop QE verdict' }));
  else if (roll < 0.85) note('qe rerun', await api(proc, 'POST', `${base}/qe/rerun`, TOKENS.qe, { reason: 'kill loop QE re-run' }));
  else note('retry', await api(proc, 'POST', `${base}/jobs/${r.pick(['e2e-aws', 'e2e-gcp', 'informing', 'e2e'])}/retry`, TOKENS.ci, { reason: 'kill loop retry' }));
}

/** Verdicts that contradict their runs (only verdicts the controller reached; overrides are people's). */
function contradictions(rec: Recorded): string[] {
  const out: string[] = [];
  const runsOf = new Map<string, JobRun[]>();
  for (const r of rec.runs.values()) {
    const k = `${r.stream}/${r.tag}`;
    if (!runsOf.has(k)) runsOf.set(k, []);
    runsOf.get(k)!.push(r);
  }
  for (const [key, p] of rec.payloads) {
    const runs = runsOf.get(key) ?? [];
    const verify = p.jobs?.verify ?? {};
    // the runs that decide an entry, as the domain picks them (aggregator runs for aggregated entries), interruptions left out
    const real = (name: string, v: ReleaseVerification) => decidingRuns(v, name, runs).filter((r) => !isInterrupted(r));
    if (p.phase === 'Accepted' && !p.override) {
      for (const [name, v] of Object.entries(verify)) {
        if (v.optional || p.jobs?.waivers[name]) continue;
        // DESIGN §14: a stream's first payloads (no earlier accepted payload) have no upgrade source; shown not run, non-gating
        const firstPayloads = ![...rec.payloads.values()].some((q) => q.stream === p.stream && q.phase === 'Accepted' && q.createdAt < p.createdAt);
        if (v.upgrade && firstPayloads && !runs.some((r) => r.verifyName === name)) continue;
        if (!real(name, v).some((r) => r.state === 'Succeeded')) out.push(`${key} Accepted but blocking ${name} has no passing run`);
      }
    }
    if (p.phase === 'Rejected' && !p.override && p.reason === 'VerificationFailed') {
      for (const name of p.message.replace(/^release verification failed: /, '').split(', ')) {
        const v = verify[name];
        if (!v) continue;
        const rs = real(name, v);
        if (rs.some((r) => r.state === 'Succeeded') || rs.length < 1 + (v.maxRetries ?? 0)) out.push(`${key} Rejected for ${name} after ${rs.map((r) => r.state).join(',')}`);
      }
    }
    if (!p.qe.override && (p.qe.state === 'QEAccepted' || p.qe.state === 'QERejected')) {
      const qeReal = (name: string) => qeRunsOf(runs, name, p.qe.generation).filter((r) => !isInterrupted(r));
      for (const name of p.qe.jobs) {
        const v = p.qe.verify?.[name];
        const mine = qeReal(name);
        if (p.qe.state === 'QEAccepted' && !v?.optional && !mine.some((r) => r.state === 'Succeeded')) out.push(`${key} QEAccepted but ${name} has no passing run`);
      }
      if (p.qe.state === 'QERejected' && p.qe.reason === 'QEJobsFailed' && !p.qe.jobs.some((n) => qeReal(n).length > 0 && qeReal(n).every((r) => r.state !== 'Succeeded'))) {
        out.push(`${key} QERejected by its jobs but every QE job passed`);
      }
    }
    if (p.qe.state === 'QEAccepted' && p.phase !== 'Accepted') out.push(`${key} QEAccepted but ${p.phase}`);
  }
  return out;
}

test(`kill loop: ${KILLS} SIGKILLs of serve at random moments lose no result and run no attempt twice (seed=${SEED})`, { timeout: 60_000 + KILLS * 15_000 }, async () => {
  const r = rng(SEED);
  const dir = tempDir('rc-kill-');
  const releases = join(dir, 'releases');
  const markers = join(dir, 'markers');
  mkdirSync(releases);
  mkdirSync(markers);
  for (const s of Object.values(STREAMS)) writeFileSync(join(releases, `${s.name}.json`), JSON.stringify(s, null, 2));
  const sc = writeScripts(dir, { job: jobScript(markers) });
  const jobs = join(dir, 'jobs.yaml');
  writeFileSync(jobs, `concurrency: 16\njobs:\n  "*": { command: ["bash", "${sc.job}"], env: { SEED: "${SEED}" } }\n`);
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, Object.entries(TOKENS).map(([role, token]) => `- user: ${role}-user\n  token: ${token}\n  roles: [${role}]\n`).join(''));
  const data = join(dir, 'data');
  const db = join(data, 'release-controller.db');
  const args = ['--releases', releases, '--jobs', jobs, '--tokens', tokens, '--data', data, '--port', '0', '--host', '127.0.0.1', '--no-watch'];
  const violations: string[] = [];
  const serverErrors: string[] = [];
  const counts = new Map<string, number>();
  let proc: ServeProc | undefined;
  let prev: Recorded | null = null;
  let actions = 0;
  const t0 = Date.now();
  try {
    for (let k = 0; k < KILLS; k++) {
      proc = await startServe(args);
      // a kill at a random moment: right after listening (adoption, first passes) up to a few seconds in
      const killAt = Date.now() + (r.next() < 0.2 ? r.int(300) : 300 + r.int(3000));
      while (Date.now() < killAt) {
        await randomAction(proc, r, actions++, counts, serverErrors);
        await new Promise((res) => setTimeout(res, r.int(150)));
      }
      proc.child.kill('SIGKILL');
      await proc.exited;
      const now = await readStore(db);
      if (prev) changedResults(prev, now, violations);
      prev = now;
    }
    // a last start: no more input, every payload reaches its verdict
    proc = await startServe(args);
    const final = await waitFor(
      'every payload decided and every job finished',
      async () => {
        const ok = await api(proc!, 'GET', '/readyz', null);
        if (ok?.status !== 200) return null;
        for (const s of Object.values(STREAMS)) {
          const l = await api(proc!, 'GET', `/api/v1/releasestream/${s.name}/tags`, null);
          const tags = l && l.status === 200 ? ((JSON.parse(l.text) as Tags).tags ?? []) : null;
          if (!tags) return null;
          const open = tags.filter((t) => t.phase === 'Pending' || t.phase === 'Ready' || t.qePhase === 'QEPending' || t.qePhase === 'QERunning');
          // thrown, not returned: a timeout then names what is still undecided
          if (open.length) throw new Error(`still undecided in ${s.name}: ${open.map((t) => `${t.name} ${t.phase}/${t.qePhase ?? '-'}`).join(', ')}`);
        }
        return true;
      },
      120_000,
      250,
    );
    assert.ok(final);
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0, proc.output());
    proc = undefined;

    const rec = await readStore(db);
    if (prev) changedResults(prev, rec, violations);
    const marks = readMarkers(markers);
    const runs = [...rec.runs.values()];
    // every launch was recorded; each ran once; its recorded result is its exit code
    for (const [id, m] of marks) {
      const run = rec.runs.get(id);
      if (!run && rec.collected.has(`${m.stream}/${m.tag}`)) continue;
      if (!run) violations.push(`job ${id} ran (${m.starts.length}×) but no run of that id is recorded`);
      if (m.starts.length !== 1) violations.push(`job ${id} started ${m.starts.length} times`);
      if (!run || m.ends.length !== 1) continue;
      const want = m.ends[0].rc === 0 ? 'Succeeded' : 'Failed';
      if (run.state !== want && !(run.state === 'Aborted')) violations.push(`job ${id} exited ${m.ends[0].rc} but is recorded ${run.state} (${run.reason})`);
    }
    for (const run of runs) {
      if (run.state === 'Pending') violations.push(`run ${run.id} is still Pending after the end`);
      if ((run.state === 'Succeeded' || run.state === 'Failed') && !marks.has(run.id)) violations.push(`run ${run.id} is recorded ${run.state} but its job never ran`);
    }
    // no two attempts of one entry at the same time (analysis runs run side by side by design)
    const byEntry = new Map<string, { id: string; from: number; to: number }[]>();
    for (const run of runs) {
      const m = marks.get(run.id);
      if (!m || run.kind === 'analysis' || !m.starts.length) continue;
      const k = `${run.stream}/${run.tag}/${run.verifyName}/${run.kind}/${run.generation}`;
      if (!byEntry.has(k)) byEntry.set(k, []);
      byEntry.get(k)!.push({ id: run.id, from: m.starts[0].at, to: m.ends[0]?.at ?? Infinity });
    }
    for (const [k, spans] of byEntry) {
      spans.sort((a, b) => a.from - b.from);
      for (let i = 1; i < spans.length; i++) if (spans[i].from < spans[i - 1].to) violations.push(`${k}: ${spans[i - 1].id} and ${spans[i].id} ran at the same time`);
    }
    violations.push(...contradictions(rec));

    const states = new Map<string, number>();
    for (const run of runs) states.set(run.state, (states.get(run.state) ?? 0) + 1);
    const phases = new Map<string, number>();
    for (const p of rec.payloads.values()) phases.set(`${p.phase}${p.qe.state ? '/' + p.qe.state : ''}`, (phases.get(`${p.phase}${p.qe.state ? '/' + p.qe.state : ''}`) ?? 0) + 1);
    console.log(
      `kill loop seed=${SEED}: ${KILLS} kills survived in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${actions} API actions (${[...counts].map(([a, n]) => `${a} ${n}`).join(', ')}); ` +
        `${rec.payloads.size} payloads kept, ${rec.collected.size} collected (${[...phases].map(([a, n]) => `${a} ${n}`).join(', ')}); ${runs.length} runs (${[...states].map(([a, n]) => `${a} ${n}`).join(', ')}); ${marks.size} job processes`,
    );
    assert.deepEqual(serverErrors, [], 'no 5xx answers');
    assert.deepEqual(violations, [], `seed=${SEED}: rerun with KILL_LOOP_SEED=${SEED}`);
    assert.ok(marks.size > 0 && rec.payloads.size > 0, 'the scenario ran jobs');
  } finally {
    if (proc && proc.child.exitCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    if (violations.length === 0 && serverErrors.length === 0 && existsSync(dir)) cleanup(dir);
    else console.log(`kept ${dir} for inspection`);
  }
});
