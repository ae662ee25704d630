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
  env: Record<string, string>;
  labels: Record<string, string>;
}

export interface JobStatus {
  runId: string;
  state: JobRunState;
  /** why a run ended this way: "", "Timeout", "Lost", "Aborted", "exit code 3" … */
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
   * can still see, reports finished ones, and says "unknown" for ones it never started.
   */
  adopt(runId: string, jobName?: string): Promise<JobStatus | 'unknown'>;
  cancel(runId: string, reason: string): Promise<void>;
  onStatus(listener: JobStatusListener): void;
  /** stops every running job (used on shutdown) */
  shutdown(): Promise<void>;
}
