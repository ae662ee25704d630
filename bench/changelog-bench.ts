// Changelog benchmark (issue 18): 20 components × 5,000 commits in real git mirrors (written with
// git fast-import), changelogs spanning 500 commits per component (10,000 commits in all). Prints
// the cold computation time (git + parsing + rendering, nothing cached), the p50/p99 of cached
// answers (release info and /changelog through the real HTTP stack), the first byte of a page
// and of release info while the changelog is still being computed (bounded by --changelog-wait),
// and a cold start from the disk cache. Not part of the test suite.
//   node --import tsx bench/changelog-bench.ts [--quick]
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { GitHistory } from '../src/adapters/git/index.ts';
import { ChangelogService } from '../src/controller/changelog.ts';
import { LABEL_COMMIT, LABEL_SOURCE } from '../src/domain/changelog.ts';
import { emptyQEStatus } from '../src/domain/qe.ts';
import type { Operations } from '../src/controller/operations.ts';
import type { Payload } from '../src/domain/types.ts';
import { appendCommits, initBare } from '../test/helpers/git-repos.ts';
import { tempDir } from '../test/helpers/harness.ts';

const quick = process.argv.includes('--quick');
const COMPONENTS = 20;
const COMMITS = quick ? 1000 : 5000;
const SPAN = 500;
const PAIRS = quick ? 1 : 4;

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;

function payload(tag: string, commits: string[]): Payload {
  const components = Object.fromEntries(
    commits.map((c, i) => [`component-${i}`, { pullSpec: `quay.io/x/c${i}@sha256:${c.padEnd(64, '0').slice(0, 64)}`, labels: { [LABEL_COMMIT]: c, [LABEL_SOURCE]: `https://github.com/bench/repo-${i}` } }]),
  );
  return { stream: 'bench', tag, phase: 'Ready', createdAt: '2024-05-01T00:00:00Z', inputHash: '', pullSpec: `r/x:${tag}`, digest: `sha256:${tag}`, components, reason: '', message: '', annotations: {}, override: null, qe: emptyQEStatus(), phaseChangedAt: '' };
}

const dir = tempDir('rc-changelog-bench-');
try {
  const cache = join(dir, 'git');
  let t = performance.now();
  const ids: string[][] = [];
  for (let i = 0; i < COMPONENTS; i++) {
    const repo = join(cache, `github.com/bench/repo-${i}.git`);
    initBare(repo);
    ids.push(appendCommits(repo, Array.from({ length: COMMITS }, (_, n) =>
      n % 3 === 0 ? { subject: `Merge pull request #${n + 1} from dev/branch-${n}`, body: `OCPBUGS-${n}: change ${n} in component ${i}`, side: `work ${n}` }
      : n % 3 === 1 ? { subject: `CORS-${n}: squashed change ${n} (#${n + 1})` } : { subject: `direct commit ${n}` })));
  }
  console.log(`repositories: ${COMPONENTS} × ${COMMITS} first-parent commits (+ a side commit per merge) in ${ms(performance.now() - t)}`);

  // payload k is built from commit SPAN*k of every component
  const payloads = Array.from({ length: PAIRS + 1 }, (_, k) => payload(`p${k}`, ids.map((l) => l[Math.min(l.length - 1, SPAN * (k + 1) - 1)])));
  const history = new GitHistory({ cacheDir: cache });
  const newService = (waitMs = 2000) => new ChangelogService({ history, cacheDir: join(dir, 'changelog-cache'), waitMs, workers: 2 });

  // ---- cold: nothing cached
  const svc = newService(60_000);
  const cold: number[] = [];
  let commits = 0;
  let gitPerChangelog = 0;
  for (let k = 0; k < PAIRS; k++) {
    const g0 = history.invocations;
    t = performance.now();
    const r = await svc.get(payloads[k], payloads[k + 1]);
    cold.push(performance.now() - t);
    if (r.state !== 'ready') throw new Error('not ready');
    commits = (r.json.updatedImages ?? []).reduce((n, i) => n + (i.commits?.length ?? 0), 0);
    gitPerChangelog = history.invocations - g0;
    if (k === 0) console.log(`changelog: ${r.json.updatedImages?.length} images, ${commits} commits, markdown ${(r.markdown.length / 1024).toFixed(0)} KiB, json ${(JSON.stringify(r.json).length / 1024).toFixed(0)} KiB`);
  }
  console.log(`cold computation (${commits} commits over ${COMPONENTS} repos, ${gitPerChangelog} git processes each, ${PAIRS} changelogs): median ${ms(pct(cold, 50))}, max ${ms(Math.max(...cold))}`);

  // ---- cached answers through the HTTP stack
  const { buildApp } = await import('../src/http/app.ts');
  const { State } = await import('../src/controller/state.ts');
  const state = State.fromSnapshot({ streams: [], inputTags: [], payloads, jobRuns: [], upgrades: [], published: [] });
  const ops = { state, subscribe: () => () => {}, ready: () => true, listEvents: async () => [] } as unknown as Operations;
  const app = await buildApp({ ops, changelog: svc });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const hot: number[] = [];
  const N = quick ? 200 : 1000;
  for (let i = 0; i < N; i++) {
    const k = i % PAIRS;
    t = performance.now();
    const r = await fetch(`${base}/changelog?from=p${k}&to=p${k + 1}&format=${i % 2 ? 'json' : 'markdown'}`);
    await r.arrayBuffer();
    hot.push(performance.now() - t);
    if (r.status !== 200) throw new Error(`status ${r.status}`);
  }
  console.log(`cached /changelog over HTTP (markdown and json, whole body read, ${N} requests): p50 ${ms(pct(hot, 50))}, p99 ${ms(pct(hot, 99))}`);
  const direct: number[] = [];
  for (let i = 0; i < N; i++) {
    t = performance.now();
    await svc.get(payloads[i % PAIRS], payloads[(i % PAIRS) + 1]);
    direct.push(performance.now() - t);
  }
  console.log(`cached changelog lookup (what release info and the release page await): p50 ${ms(pct(direct, 50))}, p99 ${ms(pct(direct, 99))}`);
  await app.close();

  // ---- a cold start on the same data directory: served from the disk cache
  const restarted = newService();
  const before = history.invocations;
  const disk: number[] = [];
  for (let k = 0; k < PAIRS; k++) {
    t = performance.now();
    const r = await restarted.get(payloads[k], payloads[k + 1]);
    disk.push(performance.now() - t);
    if (r.state !== 'ready' || r.source !== 'disk') throw new Error('expected a disk hit');
  }
  console.log(`after a restart (disk cache, ${history.invocations - before} git processes): median ${ms(pct(disk, 50))} per changelog`);

  // ---- first byte while computing: a fresh cache, a changelog nobody computed yet
  rmSync(join(dir, 'changelog-cache'), { recursive: true, force: true });
  for (const wait of [2000, 200]) {
    rmSync(join(dir, 'changelog-cache'), { recursive: true, force: true });
    const waiting = newService(wait);
    const app2 = await buildApp({ ops, changelog: waiting });
    const base2 = await app2.listen({ port: 0, host: '127.0.0.1' });
    await (await fetch(`${base2}/healthz`)).text();
    t = performance.now();
    // fetch resolves when the response head arrives: the first byte
    const r = await fetch(`${base2}/changelog?from=p0&to=p${PAIRS}`);
    const first = performance.now() - t;
    await r.text();
    console.log(`first byte of /changelog while computing (--changelog-wait ${wait / 1000}s, ${SPAN * PAIRS} commits per repo, capped at 1,000 per image): ${r.status} after ${ms(first)}${r.status === 202 ? ` (Retry-After ${r.headers.get('retry-after')})` : ''}`);
    const last = PAIRS;
    t = performance.now();
    const inf = await fetch(`${base2}/api/v1/releasestream/bench/release/p${last - 1}?from=p0`);
    const infMs = performance.now() - t;
    const infBody = (await inf.json()) as { changeLogStatus?: string };
    console.log(`first byte of release info while computing (--changelog-wait ${wait / 1000}s): ${inf.status} after ${ms(infMs)}, changeLogStatus ${infBody.changeLogStatus ?? '(ready)'}`);
    await waiting.get(payloads[0], payloads[last - 1], 120_000);
    await waiting.get(payloads[0], payloads[PAIRS], 120_000);
    await app2.close();
  }
  console.log('upstream for comparison: 4–60 s per release page with the changelog (research summary, upstream-behavior.md)');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
