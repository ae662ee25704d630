// Job executor port (DESIGN.md §7). Adapters: adapters/jobs/local (child processes), prow/kubernetes.
import type { JobRunState } from '../domain/types.ts';

export interface JobSpec {
  /** deterministic run name; launching the same runId twice must never start two processes */
  runId: string;
  /** job (Prow job) name, used to pick the command */
  jobName: string;
  stream: string;
  tag: string;
  verifyName: string;
  pullSpec: string;
  /** upgrade source pull spec (RELEASE_IMAGE_INITIAL), "" when none */
  initialPullSpec: string;
  /**
   * The payload's mirror repository (`host/path`, one tag per component; upstream's mirror stream),
   * from which jobs get IMAGE_FORMAT = `<repo>:${component}` (Prow: also every other declared
   * IMAGE_<NAME>); absent when the builder made none (the local builder): no IMAGE_FORMAT then.
   */
  imageFormatRepository?: string;
  env: Record<string, string>;
  labels: Record<string, string>;
}

export interface JobStatus {
  runId: string;
  state: JobRunState;
  /**
   * why a run ended this way: "", "Timeout", "Aborted", "exit code 3" … For `Interrupted` (not a
   * result: the attempt is relaunched, DESIGN.md §14): "Shutdown" (stopped by our own shutdown) or
   * "Lost" / "Lost: killed by SIGKILL" (the process or the executor connection went away).
   */
  reason: string;
  url: string;
  logPath: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export type JobStatusListener = (status: JobStatus) => void;

export interface JobExecutor {
  /** starts (or queues) a run; idempotent on runId */
  launch(spec: JobSpec): Promise<JobStatus>;
  /**
   * Called at start-up for runs the store still has as Pending: the executor re-adopts runs it
   * can still see, reports finished ones, and says "unknown" for ones it never started. A run
   * that started but whose process is gone without a result is reported `Interrupted` "Lost".
   */
  adopt(runId: string, jobName?: string): Promise<JobStatus | 'unknown'>;
  cancel(runId: string, reason: string): Promise<void>;
  onStatus(listener: JobStatusListener): void;
  /**
   * Used on the controller's clean stop. Queued (not started) runs are dropped without a status.
   * Running jobs are either let go of, still running, so the next controller adopt()s them and
   * their work is done once (the default of the local executor), or stopped and reported
   * `Interrupted` reason "Shutdown" (local: `onShutdown: 'stop'`, `serve --stop-jobs`). Never
   * reports a shutdown as Failed or Aborted. Resolves promptly when it lets go; when it stops
   * jobs, once they are gone (bounded by the kill grace).
   */
  shutdown(): Promise<void>;
  /**
   * The controller deleted these runs (garbage collection): remove their run directories, logs and
   * any in-memory record. Best effort; called after the deletion is committed. Never removes what
   * a live process still uses: a run still running is stopped first (local: SIGTERM, SIGKILL after
   * the kill grace) and removed once its processes are gone; one that cannot be stopped is kept
   * for a later call. May take up to about the kill grace then: do not wait for it while holding
   * a serialised section.
   */
  forget?(runIds: string[]): Promise<void>;
  /**
   * The ids of the runs the executor keeps anything of (e.g. run directories), so the controller
   * can forget() those whose run it no longer has (left behind by a crash after a deletion).
   */
  listRunIds?(): string[];
  /**
   * The controller has committed a final state for this run (or no longer has the run): whatever
   * kept its result from being lost until then may go (the Kubernetes executor's finalizer on the
   * Job). Called after every recorded non-Pending status, again for a status that was already
   * recorded; best effort, must not throw.
   */
  resultRecorded?(runId: string): void;
  /** Why the executor cannot reach what runs the jobs right now (e.g. the Kubernetes API), or null; shown on /readyz and the console. */
  unavailable?(): string | null;
  /** The cluster executors: whether the Kubernetes API answers (null) or since when it does not and how many attempts failed (/metrics). */
  apiOutage?(): { since: string; retries: number } | null;
}
