// Prow job executor (issue 15, DESIGN.md §7): each run is a ProwJob custom resource named by its
// run id, created in the Prow namespace and watched for its result. Prow runs the job; this
// executor only creates, watches and aborts ProwJobs.
//
// - launch: the periodic named by the run's job name (Prow job config DIR, reloaded on change) is
//   built into a ProwJob (prowjob.ts) and created; "AlreadyExists" is success (restart-safe: the
//   existing object's status is reported). API errors are retried with backoff (429/5xx honour
//   Retry-After) — never reported as a failed run. Creates are paced (maxCreatesPerSecond).
// - Prow job config reload (a change on disk with watchConfig, or serve's reloader calling
//   reload()): per file, as release configs are: a file that now fails to parse or has a bad entry
//   keeps its last good periodics (reported keptRunning); a file that never loaded cleanly
//   contributes the entries it has that are valid (reported not kept). A removed file's
//   periodics go.
// - unknown periodic: nothing is created; the run stays Pending with reason
//   `ProwJobInvalid: no periodic named "<name>" in <DIR>` (upstream emits an event and launches
//   nothing; the entry stays unfinished). A Pending run uses up no retry and is not relaunched by
//   the controller; once the periodic appears (the config is reloaded) it is launched then. The
//   alternatives were worse: Failed uses up retries and rejects the payload for a config mistake,
//   Interrupted is relaunched over and over.
// - results: one informer (list + watch with bookmarks, re-list after 410 Gone or a dropped
//   connection, periodic resync) over ProwJobs labelled `release.openshift.io/payload`;
//   `status.state` → run state, `status.url` → run URL, `status.completionTime` → end. A status is
//   reported only when it changed, so a re-list neither loses nor duplicates results.
// - cancel: merge-patches `status.state: aborted` with a description (as Prow's own abort does).
// - adopt after a restart: GET of the ProwJob; 404 → 'unknown' (the controller launches it; the
//   name is deterministic, so a create that did happen answers AlreadyExists). Never relaunches.
// - a ProwJob deleted (DELETED event) while it had not finished: Interrupted "Lost: the ProwJob
//   was deleted before it finished" (relaunched under a new run id, uses up no retry), never left
//   Pending for ever. Unlike our Kubernetes Jobs, ProwJobs carry no result finalizer: the object
//   stays exactly what upstream creates, and Prow's sinker collects ProwJobs only after
//   max_prowjob_age (days), long after the watch has delivered the result (a restart re-lists
//   them), so a finished ProwJob vanishing before it was recorded needs a controller down for
//   longer than that.
// - unavailable(): why the API server cannot be reached right now (for /readyz); runs stay Pending.
// - shutdown: stops watching; ProwJobs keep running in Prow and are adopted by the next start.
import { watch as watchFs, type FSWatcher } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import type { JobRunState } from '../../../domain/types.ts';
import type { JobExecutor, JobSpec, JobStatus, JobStatusListener } from '../../../ports/executor.ts';
import { CustomResources, ApiHealth, describe, Pacer, startInformer, statusOf, type Informer, type KubeObject } from '../../kube/client.ts';
import { loadProwConfig, type Periodic, type ProwConfig, type ProwConfigReload } from './config.ts';
import { buildProwJob, InvalidProwJob, LABEL_PAYLOAD, PROW_GROUP, PROW_PLURAL, PROW_VERSION } from './prowjob.ts';

export interface ProwExecutorOptions {
  kc: KubeConfig;
  /** where ProwJobs are created (--prow-namespace, default "ci") */
  namespace: string;
  /** Prow job config directory (periodics) */
  prowJobsDir: string;
  /** reload the Prow job config when files under it change (default true) */
  watchConfig?: boolean;
  sourceNamespace?: string;
  /** --release-architecture: the architecture annotation and RELEASE_IMAGE_* names (default amd64) */
  architecture?: string;
  /** pod namespace written into ProwJob specs (default: namespace) */
  podNamespace?: string;
  /** creates per second at most (default 20; 0 = unbounded) */
  maxCreatesPerSecond?: number;
  /** periodic re-list (default 10 min) */
  resyncMs?: number;
  retry?: { firstDelayMs?: number; maxDelayMs?: number };
  log?: { warn: (o: object, msg: string) => void; info: (o: object, msg: string) => void; error: (o: object, msg: string) => void };
  now?: () => Date;
}

export const PROW_INVALID = 'ProwJobInvalid';
/** description of a ProwJob we aborted; the rest is the cancel reason, reported as the run's reason (restart-safe) */
const ABORT_PREFIX = 'Aborted by the release controller: ';

/** Prow's states (prow/apis/prowjobs/v1) → our run states. */
export function runState(prowState: unknown): JobRunState {
  switch (prowState) {
    case 'success':
      return 'Succeeded';
    case 'failure':
    case 'error':
      return 'Failed';
    case 'aborted':
      return 'Aborted';
    default:
      // triggered, scheduling, pending, or not set yet
      return 'Pending';
  }
}

const nullLog = { warn: () => {}, info: () => {}, error: () => {} };

export class ProwExecutor implements JobExecutor {
  private readonly api: CustomResources;
  private readonly listeners: JobStatusListener[] = [];
  private readonly log: NonNullable<ProwExecutorOptions['log']>;
  private readonly now: () => Date;
  private config: ProwConfig;
  /** per file of the Prow job config, its periodics as last loaded without an error */
  private readonly lastGood = new Map<string, Periodic[]>();
  /** last status seen per ProwJob (adopt answers from it once the first list is in) */
  private readonly seen = new Map<string, JobStatus>();
  private listed = false;
  /** signature of the last status reported per run (dedupe across re-lists) */
  private readonly reported = new Map<string, string>();
  /** runs not launched because their periodic is unknown: launched once it appears */
  private readonly invalid = new Map<string, JobSpec>();
  private informer: Informer | null = null;
  private fsWatcher: FSWatcher | null = null;
  private reloadTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly health: ApiHealth;
  private readonly pacer: Pacer;

  constructor(private readonly o: ProwExecutorOptions) {
    this.api = new CustomResources(o.kc, { group: PROW_GROUP, version: PROW_VERSION, plural: PROW_PLURAL, namespace: o.namespace });
    this.log = o.log ?? nullLog;
    this.health = new ApiHealth(this.log, o.retry, () => this.closed);
    this.now = o.now ?? (() => new Date());
    this.pacer = new Pacer(o.maxCreatesPerSecond ?? 20);
    this.config = loadProwConfig(o.prowJobsDir);
    this.remember(this.config);
    for (const e of this.config.errors) this.log.warn({ file: e }, `prow job config: ${e}`);
    if (o.watchConfig ?? true) {
      try {
        this.fsWatcher = watchFs(o.prowJobsDir, { recursive: true }, () => this.scheduleReload());
        this.fsWatcher.unref();
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'cannot watch the prow job config; it is read at start only');
      }
    }
  }

  /** Starts watching ProwJobs; resolves after the first list (or at once, if the API is down: it keeps trying). */
  start(): void {
    if (this.informer || this.closed) return;
    this.informer = startInformer({
      kc: this.o.kc,
      path: this.api.path(),
      labelSelector: LABEL_PAYLOAD,
      list: () => this.api.list(LABEL_PAYLOAD),
      onObject: (obj, deleted) => {
        if (!deleted) this.observe(obj);
        else this.lost(obj);
      },
      onHealth: (ok, why) => this.health.set(ok, why),
      onSynced: () => (this.listed = true),
      resyncMs: this.o.resyncMs,
      retry: this.o.retry,
      log: this.log,
    });
  }

  /** Resolves once the first list of ProwJobs has been seen. */
  async synced(): Promise<void> {
    this.start();
    await this.informer!.synced;
  }

  /** Re-lists every ProwJob now (as the periodic resync does). */
  resync(): void {
    this.informer?.resync();
  }

  /** Why the API server cannot be reached right now, or null. */
  unavailable(): string | null {
    return this.health.unavailable();
  }

  apiOutage(): { since: string; retries: number } | null {
    return this.health.outage();
  }

  /** The Prow job config in use. */
  prowConfig(): ProwConfig {
    return this.config;
  }

  onStatus(listener: JobStatusListener): void {
    this.listeners.push(listener);
  }

  async launch(spec: JobSpec): Promise<JobStatus> {
    this.start();
    const periodic = this.config.periodics.get(spec.jobName);
    if (!periodic) return this.markInvalid(spec, `no periodic named ${JSON.stringify(spec.jobName)} in ${this.o.prowJobsDir}`);
    let pj: KubeObject;
    try {
      pj = buildProwJob(spec, periodic, {
        sourceNamespace: this.o.sourceNamespace ?? 'ocp',
        architecture: this.o.architecture ?? 'amd64',
        podNamespace: this.o.podNamespace ?? this.o.namespace,
        now: this.now(),
      });
    } catch (e) {
      if (e instanceof InvalidProwJob) return this.markInvalid(spec, `${spec.jobName}: ${e.message}`);
      throw e;
    }
    this.invalid.delete(spec.runId);
    await this.pacer.wait();
    const obj = await this.health.call(`create ProwJob ${spec.runId}`, async () => {
      try {
        return await this.api.create(pj);
      } catch (e) {
        if (statusOf(e) !== 409) throw e;
        return await this.api.get(spec.runId); // AlreadyExists: created before (a restart, a retried create)
      }
    });
    return this.observe(obj, false);
  }

  async adopt(runId: string): Promise<JobStatus | 'unknown'> {
    this.start();
    if (this.invalid.has(runId)) return this.invalidStatus(runId, this.invalid.get(runId)!.jobName);
    // after the first list, what was listed is known without a request per run (a restart with thousands of runs)
    const cached = this.listed ? this.seen.get(runId) : undefined;
    if (cached) return { ...cached };
    try {
      const obj = await this.health.call(`get ProwJob ${runId}`, () => this.api.get(runId));
      return this.observe(obj, false);
    } catch (e) {
      if (statusOf(e) === 404) return 'unknown';
      throw e;
    }
  }

  async cancel(runId: string, reason: string): Promise<void> {
    const inv = this.invalid.get(runId);
    if (inv) {
      this.invalid.delete(runId);
      this.emit({ ...this.base(runId), state: 'Aborted', reason: reason || 'Aborted', finishedAt: this.now().toISOString() });
      return;
    }
    let obj: KubeObject;
    try {
      obj = await this.health.call(`get ProwJob ${runId}`, () => this.api.get(runId));
    } catch (e) {
      if (statusOf(e) === 404) return;
      throw e;
    }
    if (runState(obj.status?.state) !== 'Pending') return;
    const description = `${ABORT_PREFIX}${reason || 'Aborted'}`;
    const patched = await this.health.call(`abort ProwJob ${runId}`, () =>
      this.api.mergePatch(runId, { status: { state: 'aborted', description, completionTime: this.now().toISOString().replace(/\.\d{3}Z$/, 'Z') } }),
    );
    this.observe(patched);
  }

  /** The controller deleted these runs: drop what is remembered of them (the ProwJobs are Prow's to collect). */
  async forget(runIds: string[]): Promise<void> {
    for (const id of runIds) {
      this.reported.delete(id);
      this.seen.delete(id);
      this.invalid.delete(id);
    }
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    this.informer?.stop();
    this.fsWatcher?.close();
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
  }

  /**
   * Reloads the Prow job config (per file: a failing file keeps its last good periodics); runs held
   * as ProwJobInvalid whose periodic now exists are launched. Throws only when the directory
   * itself cannot be read (the config in use stays).
   */
  reload(): ProwConfigReload {
    const next = loadProwConfig(this.o.prowJobsDir);
    const failed: ProwConfigReload['failed'] = [];
    for (const [file, errors] of next.fileErrors) {
      const good = this.lastGood.get(file);
      if (good) {
        // the last good version of this file stays: its periodics replace what could be read now
        for (const [name, p] of next.periodics) if (p.file === file) next.periodics.delete(name);
        for (const p of good) if (!next.periodics.has(p.name)) next.periodics.set(p.name, p);
      }
      failed.push({ file, errors, keptRunning: Boolean(good) });
    }
    this.remember(next);
    for (const e of next.errors) this.log.warn({ file: e }, `prow job config: ${e}`);
    const sig = (c: ProwConfig) => JSON.stringify([...c.periodics.values()].sort((a, b) => (a.name < b.name ? -1 : 1)));
    const changed = sig(next) !== sig(this.config);
    this.config = next;
    if (changed) this.log.info({ periodics: next.periodics.size }, 'prow job config loaded');
    for (const spec of [...this.invalid.values()]) {
      if (!next.periodics.has(spec.jobName)) continue;
      this.launch(spec).then(
        (st) => this.emit(st),
        (e) => this.log.error({ err: describe(e), run: spec.runId }, 'launching a run held as ProwJobInvalid failed'),
      );
    }
    return { changed, periodics: next.periodics.size, failed };
  }

  /** Files that loaded without an error become their own last good version; removed files are forgotten. */
  private remember(c: ProwConfig): void {
    const present = new Set(c.files);
    for (const f of [...this.lastGood.keys()]) if (!present.has(f)) this.lastGood.delete(f);
    for (const f of c.files) {
      if (c.fileErrors.has(f)) continue;
      this.lastGood.set(f, [...c.periodics.values()].filter((p) => p.file === f));
    }
  }

  // ------------------------------------------------------------------ internals

  private scheduleReload(): void {
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => {
      try {
        this.reload();
      } catch (e) {
        this.log.error({ err: (e as Error).message }, 'reloading the prow job config failed; keeping the previous one');
      }
    }, 200);
    this.reloadTimer.unref();
  }

  private markInvalid(spec: JobSpec, why: string): JobStatus {
    this.invalid.set(spec.runId, spec);
    this.log.warn({ run: spec.runId, job: spec.jobName }, `${PROW_INVALID}: ${why}; the run is not launched`);
    return { ...this.base(spec.runId), reason: `${PROW_INVALID}: ${why}` };
  }

  private invalidStatus(runId: string, jobName: string): JobStatus {
    return { ...this.base(runId), reason: `${PROW_INVALID}: no periodic named ${JSON.stringify(jobName)} in ${this.o.prowJobsDir}` };
  }

  private base(runId: string): JobStatus {
    return { runId, state: 'Pending', reason: '', url: '', logPath: '', startedAt: null, finishedAt: null };
  }

  /** The status of a ProwJob; reported to listeners when it changed (emit=false: only remembered as reported by the caller). */
  private observe(obj: KubeObject, emit = true): JobStatus {
    const s = (obj.status ?? {}) as { state?: string; url?: string; startTime?: string; completionTime?: string; description?: string };
    const state = runState(s.state);
    const reason = state === 'Pending' ? '' : state === 'Succeeded' ? '' : s.state === 'error' ? `error${s.description ? `: ${s.description}` : ''}` : state === 'Aborted' ? (s.description?.startsWith(ABORT_PREFIX) ? s.description.slice(ABORT_PREFIX.length) : (s.description ?? 'aborted')) : (s.description ?? 'failure');
    const st: JobStatus = {
      runId: obj.metadata.name,
      state,
      reason,
      url: s.url ?? '',
      logPath: '',
      startedAt: s.startTime ?? null,
      finishedAt: state === 'Pending' ? null : (s.completionTime ?? this.now().toISOString()),
    };
    this.seen.set(st.runId, st);
    const sig = `${st.state}|${st.url}|${st.reason}`;
    if (this.reported.get(st.runId) === sig) return st;
    this.reported.set(st.runId, sig);
    if (emit) this.emit(st);
    return st;
  }

  /** A ProwJob deleted by someone else before it finished: its attempt is lost (relaunched by the controller). */
  private lost(obj: KubeObject): void {
    const name = obj.metadata.name;
    const last = this.seen.get(name);
    if (runState(obj.status?.state) !== 'Pending' || (last && last.state !== 'Pending')) return;
    const st: JobStatus = { ...(last ?? this.base(name)), state: 'Interrupted', reason: 'Lost: the ProwJob was deleted before it finished', finishedAt: this.now().toISOString() };
    this.seen.set(name, st);
    const sig = `${st.state}|${st.url}|${st.reason}`;
    if (this.reported.get(name) === sig) return;
    this.reported.set(name, sig);
    this.emit(st);
  }

  private emit(st: JobStatus): void {
    for (const l of this.listeners) {
      try {
        l({ ...st });
      } catch {
        // a failing listener must not break the executor
      }
    }
  }



}
