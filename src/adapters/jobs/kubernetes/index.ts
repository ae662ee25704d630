// Kubernetes executor (issue 15, DESIGN.md §7): each run is a batch/v1 Job named by its run id,
// built from the jobs file's `kubernetes:` template of its job name.
//
// - Job: `backoffLimit: 0` (a failed pod is a failed attempt; retries are the controller's),
//   `ttlSecondsAfterFinished`, `activeDeadlineSeconds` from the template (or the defaults), the
//   release labels (`release.openshift.io/verify`, `…/payload`, `…/kind`) on the Job and its pod,
//   annotations `prow.k8s.io/job` and `release.openshift.io/tag`; one container `job` with the
//   template's image, command, args, resources and env, then the variables Prow would set
//   (RELEASE_IMAGE_LATEST, RELEASE_IMAGE_INITIAL for upgrades — under `architecture`'s names,
//   RELEASE_IMAGE_ARM64_LATEST … (domain/architecture.ts) — JOB_NAME, BUILD_ID, PAYLOAD_TAG,
//   RELEASE_STREAM, VERIFICATION_JOB_NAME, and IMAGE_FORMAT = `<mirror>:${component}` when the
//   payload has a mirror repository — the registry builder writes one, the local builder none) and
//   the run's own env (aggregators …).
// - "AlreadyExists" on create is success; API errors are retried (429/5xx, Retry-After).
// - status from the Job's conditions: `Complete` → Succeeded, `Failed` → Failed (reason
//   `DeadlineExceeded` → "Timeout", else the condition's reason); a Job deleted by someone else
//   while running → Interrupted "Lost" (relaunched under a new run id, uses up no retry).
// - every Job carries the finalizer `release.openshift.io/record-result` (RESULT_FINALIZER),
//   removed once the controller has committed the run's final state (resultRecorded()). A Job deleted
//   before that — its TTL running out while the controller was down, `kubectl delete` — stays
//   readable (deletionTimestamp set, conditions kept) until its result is recorded: a finished
//   one reports its real result, one still running is Interrupted "Lost: the Job was deleted
//   before it finished" (the usual relaunch rule). Without it, a result the TTL controller
//   collected first was gone and the run relaunched as if never started. A finalizer is what
//   Kubernetes users expect for this (the Job controller keeps its pods with
//   `batch.kubernetes.io/job-tracking`, Prow's crier keeps pods with `prow.x-k8s.io/gcsk8sreporter`
//   until reported); it is removed as soon as the result is in the store, so Jobs still go away
//   with their TTL, and `kubectl patch … --type=json` removing it by hand is the way out when the
//   controller is gone for good.
// - cancel = delete with propagationPolicy Background, reported Aborted (the finalizer goes once
//   that is recorded).
// - adopt after a restart: the informer's list, else a GET; 404 → 'unknown' (launched again: it
//   was never created, or its finalizer was removed by hand).
// - logs: with logDir, the pod's log (pods labelled job-name=<run id>, container "job") is copied
//   to <logDir>/<runId>/log while it runs (pod log API, follow=true), reported as the run's
//   logPath: /logs/{runId} streams it, following while the run is Pending.
// - A job name with no template: the run is Failed "no kubernetes template for <job>" at launch
//   (a configuration error of this deployment, as the local executor does for a missing command).
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BatchV1Api, CoreV1Api, Log, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Job } from '@kubernetes/client-node';
import { allReleaseImageNames, DEFAULT_ARCHITECTURE, releaseImageNames } from '../../../domain/architecture.ts';
import { imageEnvValue } from '../../../domain/mirror.ts';
import type { JobRunState } from '../../../domain/types.ts';
import type { JobExecutor, JobSpec, JobStatus, JobStatusListener } from '../../../ports/executor.ts';
import { ApiHealth, describe, Pacer, startInformer, statusOf, type Informer, type KubeObject } from '../../kube/client.ts';
import { matchTemplate, type KubeJobsFile } from './jobsfile.ts';

export interface KubernetesExecutorOptions {
  kc: KubeConfig;
  namespace: string;
  jobs: KubeJobsFile;
  /** seconds a finished Job is kept (default 7 days) */
  ttlSecondsAfterFinished?: number;
  /**
   * where pod logs are copied, followed while the pod runs: <logDir>/<runId>/log, reported as the
   * run's logPath (served at /logs/<runId>, followed while Pending). Unset: no logs.
   */
  logDir?: string;
  /** prefix of run URLs (default /logs/ when logDir is set, else no URL) */
  urlBase?: string;
  /** creates per second at most (default 20; 0 = unbounded) */
  maxCreatesPerSecond?: number;
  /** --release-architecture: which RELEASE_IMAGE_* names a job gets (default amd64) */
  architecture?: string;
  resyncMs?: number;
  retry?: { firstDelayMs?: number; maxDelayMs?: number };
  log?: { warn: (o: object, msg: string) => void; info: (o: object, msg: string) => void; error: (o: object, msg: string) => void };
  now?: () => Date;
}

export const LABEL_SELECTOR = 'release.openshift.io/payload';
/** keeps a Job (and its result) readable until the controller has recorded the result */
export const RESULT_FINALIZER = 'release.openshift.io/record-result';
const LOST_REASON = 'Lost: the Job was deleted before it finished';
const nullLog = { warn: () => {}, info: () => {}, error: () => {} };

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string | Date;
}

const iso = (v: unknown): string | null => (v instanceof Date ? v.toISOString().replace(/\.\d{3}Z$/, 'Z') : typeof v === 'string' ? v : null);

/** Run state and reason of a Job from its conditions. */
export function jobState(job: { status?: { conditions?: Condition[] } }): { state: JobRunState; reason: string; at: string | null } {
  const conds = job.status?.conditions ?? [];
  const on = (t: string) => conds.find((c) => c.type === t && c.status === 'True');
  const complete = on('Complete');
  if (complete) return { state: 'Succeeded', reason: '', at: iso(complete.lastTransitionTime) };
  const failed = on('Failed');
  if (failed) return { state: 'Failed', reason: failed.reason === 'DeadlineExceeded' ? 'Timeout' : failed.reason || 'Failed', at: iso(failed.lastTransitionTime) };
  return { state: 'Pending', reason: '', at: null };
}

export function buildJob(spec: JobSpec, jobs: KubeJobsFile, ttl: number, architecture: string = DEFAULT_ARCHITECTURE): V1Job {
  const t = matchTemplate(jobs, spec.jobName);
  if (!t) throw new Error(`no kubernetes template for ${spec.jobName} in ${jobs.file}`);
  const env: Record<string, string> = {
    ...jobs.defaults.env,
    ...(t.env ?? {}),
    ...spec.env,
    ...Object.fromEntries(releaseImageNames(architecture, 'LATEST').map((n) => [n, spec.pullSpec])),
    ...(spec.initialPullSpec ? Object.fromEntries(releaseImageNames(architecture, 'INITIAL').map((n) => [n, spec.initialPullSpec])) : {}),
    JOB_NAME: spec.jobName,
    BUILD_ID: spec.runId,
    PAYLOAD_TAG: spec.tag,
    RELEASE_STREAM: spec.stream,
    VERIFICATION_JOB_NAME: spec.env.VERIFICATION_JOB_NAME ?? spec.jobName,
  };
  const imageFormat = imageEnvValue('IMAGE_FORMAT', spec.imageFormatRepository);
  if (imageFormat !== null) env.IMAGE_FORMAT = imageFormat;
  // a release-image name of another architecture the template declares gets the same value (never a stale one)
  for (const n of allReleaseImageNames('LATEST')) if (n in env) env[n] = spec.pullSpec;
  for (const n of allReleaseImageNames('INITIAL')) {
    if (!(n in env)) continue;
    if (spec.initialPullSpec) env[n] = spec.initialPullSpec;
    else delete env[n];
  }
  const labels = Object.fromEntries(Object.entries(spec.labels).map(([k, v]) => [k, v.slice(0, 63)]));
  const deadline = t.activeDeadlineSeconds ?? jobs.defaults.activeDeadlineSeconds;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: spec.runId, labels, finalizers: [RESULT_FINALIZER], annotations: { 'prow.k8s.io/job': spec.jobName, 'release.openshift.io/tag': spec.tag, 'release.openshift.io/verify-name': spec.verifyName } },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: ttl,
      ...(deadline ? { activeDeadlineSeconds: deadline } : {}),
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          ...(t.serviceAccountName ? { serviceAccountName: t.serviceAccountName } : {}),
          containers: [
            {
              name: 'job',
              image: t.image,
              ...(t.command ? { command: t.command } : {}),
              ...(t.args ? { args: t.args } : {}),
              env: Object.entries(env).map(([name, value]) => ({ name, value })),
              ...(t.resources ? { resources: t.resources as never } : {}),
            },
          ],
        },
      },
    },
  };
}

export class KubernetesExecutor implements JobExecutor {
  private readonly api: BatchV1Api;
  private readonly listeners: JobStatusListener[] = [];
  private readonly log: NonNullable<KubernetesExecutorOptions['log']>;
  private readonly now: () => Date;
  private jobs: KubeJobsFile;
  private readonly seen = new Map<string, JobStatus>();
  private readonly reported = new Map<string, string>();
  /** Jobs last seen carrying RESULT_FINALIZER */
  private readonly finalized = new Set<string>();
  /** finalizer removals in flight */
  private readonly releasing = new Set<string>();
  /** runs we deleted ourselves (their DELETED event is not a loss) */
  private readonly cancelled = new Set<string>();
  private listed = false;
  /** runs whose pod log is being copied / has been copied completely */
  private readonly following = new Set<string>();
  private readonly logged = new Set<string>();
  private informer: Informer | null = null;
  private closed = false;
  private readonly health: ApiHealth;
  private readonly pacer: Pacer;

  constructor(private readonly o: KubernetesExecutorOptions) {
    this.pacer = new Pacer(o.maxCreatesPerSecond ?? 20);
    this.api = o.kc.makeApiClient(BatchV1Api);
    this.log = o.log ?? nullLog;
    this.health = new ApiHealth(this.log, o.retry, () => this.closed);
    this.now = o.now ?? (() => new Date());
    this.jobs = o.jobs;
  }

  start(): void {
    if (this.informer || this.closed) return;
    this.informer = startInformer({
      kc: this.o.kc,
      path: `/apis/batch/v1/namespaces/${encodeURIComponent(this.o.namespace)}/jobs`,
      labelSelector: LABEL_SELECTOR,
      list: async () => {
        const r = await this.api.listNamespacedJob({ namespace: this.o.namespace, labelSelector: LABEL_SELECTOR });
        return { items: r.items as unknown as KubeObject[], resourceVersion: r.metadata?.resourceVersion ?? '' };
      },
      onObject: (obj, deleted) => this.observe(obj, deleted),
      onHealth: (ok, why) => this.health.set(ok, why),
      onSynced: () => (this.listed = true),
      resyncMs: this.o.resyncMs,
      retry: this.o.retry,
      log: this.log,
    });
  }

  async synced(): Promise<void> {
    this.start();
    await this.informer!.synced;
  }

  setJobs(jobs: KubeJobsFile): void {
    this.jobs = jobs;
  }

  unavailable(): string | null {
    return this.health.unavailable();
  }

  apiOutage(): { since: string; retries: number } | null {
    return this.health.outage();
  }

  onStatus(listener: JobStatusListener): void {
    this.listeners.push(listener);
  }

  async launch(spec: JobSpec): Promise<JobStatus> {
    this.start();
    let job: V1Job;
    try {
      job = buildJob(spec, this.jobs, this.o.ttlSecondsAfterFinished ?? 7 * 86400, this.o.architecture);
    } catch (e) {
      return { ...this.base(spec.runId), state: 'Failed', reason: (e as Error).message, finishedAt: this.now().toISOString() };
    }
    await this.pacer.wait();
    const obj = await this.health.call(`create Job ${spec.runId}`, async () => {
      try {
        return await this.api.createNamespacedJob({ namespace: this.o.namespace, body: job });
      } catch (e) {
        if (statusOf(e) !== 409) throw e;
        return await this.api.readNamespacedJob({ namespace: this.o.namespace, name: spec.runId });
      }
    });
    return this.observe(obj as unknown as KubeObject, false, false);
  }

  async adopt(runId: string): Promise<JobStatus | 'unknown'> {
    this.start();
    const cached = this.listed ? this.seen.get(runId) : undefined;
    if (cached) return { ...cached };
    try {
      const obj = await this.health.call(`get Job ${runId}`, () => this.api.readNamespacedJob({ namespace: this.o.namespace, name: runId }));
      return this.observe(obj as unknown as KubeObject, false, false);
    } catch (e) {
      if (statusOf(e) === 404) return 'unknown';
      throw e;
    }
  }

  async cancel(runId: string, reason: string): Promise<void> {
    const cur = this.seen.get(runId);
    if (cur && cur.state !== 'Pending') return;
    this.cancelled.add(runId);
    try {
      await this.health.call(`delete Job ${runId}`, () => this.api.deleteNamespacedJob({ namespace: this.o.namespace, name: runId, propagationPolicy: 'Background' }));
    } catch (e) {
      if (statusOf(e) !== 404) {
        this.cancelled.delete(runId);
        throw e;
      }
    }
    this.report({ ...(cur ?? this.base(runId)), state: 'Aborted', reason: reason || 'Aborted', finishedAt: this.now().toISOString() });
  }

  /** The run's final state is in the store: its Job loses RESULT_FINALIZER (its TTL or a delete then removes it). */
  resultRecorded(runId: string): void {
    if (!this.finalized.has(runId) || this.releasing.has(runId) || this.closed) return;
    this.releasing.add(runId);
    void this.removeFinalizer(runId)
      .catch((e) => this.log.warn({ run: runId, err: describe(e) }, 'removing the result finalizer of a Job failed; the next list retries'))
      .finally(() => this.releasing.delete(runId));
  }

  /** JSON patch guarded by a test of the entry, so another party's finalizers are never touched; retried on a concurrent change. */
  private async removeFinalizer(runId: string): Promise<void> {
    for (let attempt = 0; attempt < 5 && !this.closed; attempt++) {
      let job: V1Job;
      try {
        job = await this.health.call(`get Job ${runId}`, () => this.api.readNamespacedJob({ namespace: this.o.namespace, name: runId }));
      } catch (e) {
        if (statusOf(e) === 404) return void this.finalized.delete(runId);
        throw e;
      }
      const i = (job.metadata?.finalizers ?? []).indexOf(RESULT_FINALIZER);
      if (i < 0) return void this.finalized.delete(runId);
      const path = `/metadata/finalizers/${i}`;
      try {
        await this.health.call(`remove the finalizer of Job ${runId}`, () =>
          this.api.patchNamespacedJob({ namespace: this.o.namespace, name: runId, body: [{ op: 'test', path, value: RESULT_FINALIZER }, { op: 'remove', path }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)),
        );
        this.finalized.delete(runId);
        return;
      } catch (e) {
        const s = statusOf(e);
        if (s === 404) return void this.finalized.delete(runId);
        if (s !== 409 && s !== 422) throw e; // 422: the test failed (the list changed meanwhile): read again
      }
    }
  }

  async forget(runIds: string[]): Promise<void> {
    for (const id of runIds) {
      // deleted runs need no result: their Jobs may go (in the background: an unreachable API must not hold up garbage collection)
      this.resultRecorded(id);
      this.seen.delete(id);
      this.reported.delete(id);
      this.cancelled.delete(id);
      this.logged.delete(id);
      if (this.o.logDir !== undefined && /^[A-Za-z0-9._-]+$/.test(id) && id !== '.' && id !== '..') rmSync(join(this.o.logDir, id), { recursive: true, force: true });
    }
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    this.informer?.stop();
  }

  private base(runId: string): JobStatus {
    const logs = this.o.logDir !== undefined;
    const urlBase = this.o.urlBase ?? (logs ? '/logs/' : '');
    return { runId, state: 'Pending', reason: '', url: urlBase ? `${urlBase}${runId}` : '', logPath: logs ? join(this.o.logDir!, runId, 'log') : '', startedAt: null, finishedAt: null };
  }

  private observe(obj: KubeObject, deleted: boolean, emit = true): JobStatus {
    const name = obj.metadata.name;
    const s = jobState(obj as { status?: { conditions?: Condition[] } });
    const status = (obj.status ?? {}) as { startTime?: unknown; completionTime?: unknown };
    let st: JobStatus = {
      ...this.base(name),
      state: s.state,
      reason: s.reason,
      startedAt: iso(status.startTime),
      finishedAt: s.state === 'Pending' ? null : (iso(status.completionTime) ?? s.at ?? this.now().toISOString()),
    };
    const deleting = deleted || Boolean(obj.metadata.deletionTimestamp);
    if (deleting) {
      if (this.cancelled.has(name)) {
        // our own cancel: Aborted was reported; the DELETED at the end changes nothing
        return this.seen.get(name) ?? st;
      }
      // removed by someone else while it ran: no result, the attempt is relaunched
      if (st.state === 'Pending') st = { ...st, state: 'Interrupted', reason: LOST_REASON, finishedAt: this.now().toISOString() };
      else if (deleted) return st;
    }
    const fins = obj.metadata.finalizers;
    if (!deleted && Array.isArray(fins) && fins.includes(RESULT_FINALIZER)) this.finalized.add(name);
    else this.finalized.delete(name);
    this.seen.set(name, st);
    void this.followLog(name);
    if (emit) this.report(st);
    else this.reported.set(name, `${st.state}|${st.reason}`);
    return st;
  }

  /**
   * Copies the log of the Job's pod (label job-name) into the run's log file, following it while
   * the pod runs; after a dropped connection it is fetched again from the start (the file is
   * rewritten with the same bytes and more). Done once the Job has finished and one complete log
   * was read. Best effort: a Job whose pod is gone has the log it had.
   */
  private async followLog(runId: string): Promise<void> {
    if (this.o.logDir === undefined || this.following.has(runId) || this.logged.has(runId) || this.closed) return;
    this.following.add(runId);
    const core = this.o.kc.makeApiClient(CoreV1Api);
    const logs = new Log(this.o.kc);
    const path = this.base(runId).logPath;
    try {
      mkdirSync(join(this.o.logDir, runId), { recursive: true });
      for (let attempt = 0; !this.closed; attempt++) {
        const finishedBefore = this.seen.get(runId)?.state !== 'Pending';
        const pods = await core.listNamespacedPod({ namespace: this.o.namespace, labelSelector: `job-name=${runId}` }).catch(() => null);
        const pod = pods?.items.find((p) => p.metadata?.name)?.metadata?.name;
        if (pod) {
          const complete = await new Promise<boolean>((resolve) => {
            const file = createWriteStream(path);
            let cut = false;
            file.on('finish', () => resolve(!cut));
            file.on('error', () => resolve(false));
            // client-node pipes the response into `file` and does not pass a dropped connection on
            file.on('pipe', (src: NodeJS.ReadableStream & { readableEnded?: boolean }) => {
              src.once('close', () => {
                if (src.readableEnded) return; // a complete log: 'finish' follows
                cut = true;
                file.end();
              });
            });
            logs.log(this.o.namespace, pod, 'job', file, { follow: true }).catch(() => {
              file.destroy();
              resolve(false);
            });
          });
          if (complete && (finishedBefore || this.seen.get(runId)?.state !== 'Pending')) {
            this.logged.add(runId);
            return;
          }
        } else if (finishedBefore && attempt > 0) return; // finished and no pod: nothing to copy
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** Math.min(attempt, 6))).unref?.());
      }
    } catch (e) {
      this.log.warn({ run: runId, err: describe(e) }, 'copying the pod log failed');
    } finally {
      this.following.delete(runId);
    }
  }

  private report(st: JobStatus): void {
    const sig = `${st.state}|${st.reason}`;
    if (this.reported.get(st.runId) === sig) return;
    this.reported.set(st.runId, sig);
    this.seen.set(st.runId, st);
    for (const l of this.listeners) {
      try {
        l({ ...st });
      } catch {
        // a failing listener must not break the executor
      }
    }
  }


}
