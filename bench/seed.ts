// Seeds a production-scale state through the real store: S streams × P payloads × ~40 job runs,
// half of the streams with 5 QE jobs. Names come from the real 5.1 nightly fixture config.
import { readFileSync } from 'node:fs';
import { ReleaseConfigSchema, type ReleaseConfig, type ReleaseVerification } from '../src/domain/config/schema.ts';
import { inputHash } from '../src/domain/lifecycle.ts';
import { DEFAULT_AGGREGATOR_JOB, withAnnotations } from '../src/domain/plan.ts';
import { emptyQEStatus } from '../src/domain/qe.ts';
import { aggregatorRunName, releaseTagName, rfc3339, runName } from '../src/domain/tagname.ts';
import type { JobRun, Payload, StreamRecord } from '../src/domain/types.ts';
import type { Change, Store } from '../src/ports/store.ts';

const fixture = JSON.parse(readFileSync(new URL('../test/fixtures/openshift-release/releases/release-ocp-5.1.json', import.meta.url), 'utf8'));

export interface SeedOptions {
  streams: number;
  payloads: number;
  /**
   * `lean`: 40 plain entries (~40 runs per payload, the 800k default); `real`: a real nightly's mix
   * of ~100 runs per payload — blocking, informing, upgrade and QE entries, aggregated entries with
   * their analysis runs and aggregator, and retried attempts (the 2M scale)
   */
  mix?: 'lean' | 'real';
  /** open (still deciding) payloads per stream; each waits for exactly one pending run */
  open: number;
}

export interface OpenItem {
  stream: string;
  tag: string;
  runId: string;
  qe: boolean;
}

export interface Seeded {
  streams: StreamRecord[];
  open: OpenItem[];
  runs: number;
  payloads: number;
}

const ARCHES = ['', '-arm64', '-multi', '-ppc64le', '-s390x'];
const KINDS = ['nightly', 'ci', 'okd', 'okd-scos'];

export function streamNames(n: number): string[] {
  const out: string[] = [];
  for (let minor = 22; out.length < n; minor--) {
    for (const kind of KINDS) for (const arch of ARCHES) {
      if (out.length < n) out.push(`4.${minor}.0-0.${kind}${arch}`);
    }
  }
  return out;
}

/**
 * Verify entries shaped like the 5.1 nightly's. Lean: 40 plain ones (35 CI + 5 QE for QE streams).
 * Real: its 60 first plain entries (blocking, informing, upgrade; the last 5 QE for QE streams)
 * and 4 aggregated entries of 7 analysis runs each — with retries, ~100 runs per payload.
 */
export function benchConfig(name: string, withQE: boolean, mix: 'lean' | 'real' = 'lean'): ReleaseConfig {
  const all = Object.entries(fixture.verify as Record<string, ReleaseVerification>).filter(([, v]) => !v.disabled && !v.upgradeFromRelease);
  const plain = all.filter(([, v]) => !v.aggregatedProwJob).slice(0, mix === 'real' ? 60 : 40);
  const verify: Record<string, ReleaseVerification> = {};
  plain.forEach(([k, v], i) => {
    const qe = withQE && i >= plain.length - 5;
    verify[qe ? `qe-${k}` : k] = { prowJob: v.prowJob, optional: qe ? false : i % 4 !== 0 ? true : undefined, maxRetries: v.maxRetries, qe: qe || undefined, upgrade: v.upgrade };
  });
  if (mix === 'real') {
    for (const [k, v] of all.filter(([, x]) => x.aggregatedProwJob).slice(0, 4)) {
      verify[k] = { prowJob: v.prowJob, maxRetries: v.maxRetries, upgrade: v.upgrade, aggregatedProwJob: { analysisJobCount: 7 } };
    }
  }
  return ReleaseConfigSchema.parse({
    name,
    to: 'release',
    mirrorPrefix: name,
    message: `Benchmark stream ${name}`,
    expires: '336h',
    maxUnreadyReleases: 0,
    verify,
    publish: { tag: { tagRef: { name: name.replace('.0-0.', '-') } } },
    ...(withQE ? { qe: { gate: 'InformingPassed', timeout: '24h' } } : {}),
  });
}

function run(p: Payload, name: string, v: ReleaseVerification, state: JobRun['state'], at: string, attempt = 0, as?: { id: string; kind: JobRun['kind']; jobName?: string }): JobRun {
  const id = as?.id ?? runName(p.tag, name, attempt);
  return {
    id, stream: p.stream, tag: p.tag, verifyName: name, jobName: as?.jobName ?? v.prowJob?.name ?? name,
    kind: as?.kind ?? (v.qe ? 'qe' : v.upgrade ? 'upgrade' : v.optional ? 'informing' : 'blocking'), attempt, generation: 0, state,
    url: `/logs/${id}`, upgradeFrom: '', upgradeFromPullSpec: '', createdAt: at, startedAt: at,
    finishedAt: state === 'Pending' ? null : at, reason: state === 'Failed' ? 'exit code 1' : '', logPath: '',
  };
}

export interface SeedWriter {
  /**
   * writes the job runs of one stream (after the commit of its other changes) instead of the
   * store's one-row commits: the PostgreSQL benchmarks' multi-row INSERTs (bench/pg-helpers.ts)
   */
  bulkRuns?: (runs: JobRun[]) => Promise<void>;
}

/** Writes the state in batches of one stream per transaction (its job runs through `w.bulkRuns` when given). */
export async function seed(store: Store, o: SeedOptions, start = Date.now() - 86_400_000, w: SeedWriter = {}): Promise<Seeded> {
  const names = streamNames(o.streams);
  const streams: StreamRecord[] = [];
  const open: OpenItem[] = [];
  let runs = 0;
  let payloads = 0;
  for (let s = 0; s < names.length; s++) {
    const withQE = s % 2 === 0;
    const config = benchConfig(names[s], withQE, o.mix);
    const rec: StreamRecord = { name: config.name, config, sourceFile: `${config.name}.json`, input: config.name, errors: [], warnings: [], locked: false };
    streams.push(rec);
    const changes: Change[] = [{ kind: 'putStream', stream: rec }];
    const bulk: JobRun[] = [];
    const entries = Object.entries(config.verify ?? {});
    // the one run an open payload waits for: its last QE entry (QE streams), else its first entry
    const waitsFor = withQE ? entries.map(([, v]) => Boolean(v.qe)).lastIndexOf(true) : 0;
    const components = { cli: { pullSpec: `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${'c'.repeat(64)}` } };
    const inputTags = [{ input: config.name, component: 'cli', pullSpec: components.cli.pullSpec, labels: {}, updatedAt: rfc3339(new Date(start)) }];
    const hash = inputHash(inputTags);
    changes.push({ kind: 'setInputTags', input: config.name, tags: inputTags });
    let newestAccepted = '';
    for (let i = 0; i < o.payloads; i++) {
      const created = new Date(start + i * 60_000 + s);
      const tag = releaseTagName(config.name, created);
      const at = rfc3339(created);
      const isOpen = i >= o.payloads - o.open;
      const rejected = !isOpen && i % 20 === 3;
      const p: Payload = {
        stream: config.name, tag, phase: isOpen && !withQE ? 'Ready' : rejected ? 'Rejected' : 'Accepted', createdAt: at,
        inputHash: i === o.payloads - 1 ? hash : `sha256:${String(i).padStart(64, '0')}`, pullSpec: `registry.local/release:${tag}`, digest: `sha256:${'d'.repeat(64)}`,
        components, reason: rejected ? 'VerificationFailed' : '', message: rejected ? 'release verification failed: ' + entries[0][0] : '',
        annotations: {}, override: null, qe: emptyQEStatus(), phaseChangedAt: at,
      };
      const prs: JobRun[] = [];
      let pendingId = '';
      entries.forEach(([name, v], k) => {
        if (v.qe && (p.phase !== 'Accepted' || rejected)) return;
        const last = k === waitsFor;
        if (isOpen && last) {
          const r = run(p, name, v, 'Pending', at);
          pendingId = r.id;
          prs.push(r);
        } else if (v.aggregatedProwJob) {
          // analysis runs, then the aggregator that judges them (the entry's result)
          for (let a = 0; a < (v.aggregatedProwJob.analysisJobCount ?? 0); a++) prs.push(run(p, name, v, 'Succeeded', at, 0, { id: runName(p.tag, name, 0, `analysis-${a}`), kind: 'analysis' }));
          prs.push(run(p, name, v, 'Succeeded', at, 0, { id: aggregatorRunName(p.tag, name, 0), kind: 'aggregator', jobName: DEFAULT_AGGREGATOR_JOB }));
        } else if (o.mix === 'real' && !v.qe && v.maxRetries && (i + k) % 9 === 0) {
          // a flaky entry: failed once, passed on its retry
          prs.push(run(p, name, v, 'Failed', at, 0));
          prs.push(run(p, name, v, rejected && k === 0 ? 'Failed' : 'Succeeded', at, 1));
        } else prs.push(run(p, name, v, rejected && k === 0 ? 'Failed' : 'Succeeded', at));
      });
      if (withQE) {
        p.qe = isOpen
          ? { ...emptyQEStatus(), state: 'QERunning', startedAt: at, deadline: rfc3339(new Date(Date.now() + 86_400_000)), jobs: entries.filter(([, v]) => v.qe).map(([n]) => n) }
          : rejected
            ? { ...emptyQEStatus(), state: 'QESkipped', reason: 'PayloadRejected', message: 'payload is Rejected; QE jobs do not run' }
            : { ...emptyQEStatus(), state: 'QEAccepted', reason: 'QEJobsPassed', startedAt: at, deadline: at, jobs: entries.filter(([, v]) => v.qe).map(([n]) => n) };
      }
      if (p.phase === 'Accepted') newestAccepted = tag;
      changes.push({ kind: 'putPayload', payload: withAnnotations(p, config, prs) });
      if (w.bulkRuns) bulk.push(...prs);
      else for (const r of prs) changes.push({ kind: 'putJobRun', run: r });
      runs += prs.length;
      payloads++;
      if (isOpen) open.push({ stream: config.name, tag, runId: pendingId, qe: withQE });
    }
    changes.push({ kind: 'putPublished', ref: { stream: config.name, name: config.name.replace('.0-0.', '-'), tag: newestAccepted, updatedAt: rfc3339(new Date(start)) } });
    await store.commit(changes);
    if (w.bulkRuns) await w.bulkRuns(bulk);
  }
  return { streams, open, runs, payloads };
}
