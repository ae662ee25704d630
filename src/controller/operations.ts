// What the HTTP API and the CLI may ask the controller to do. Implemented by Controller.
import type { EventRecord } from '../domain/types.ts';
import type { EventQuery } from '../ports/store.ts';
import type { State } from './state.ts';

export type OperationErrorCode = 'bad_request' | 'not_found' | 'conflict' | 'unavailable';

/**
 * A refused operation; the HTTP layer maps code → 400 / 404 / 409 / 503 with `message`.
 * 'unavailable': the store is failing right now and nothing was changed; try again after
 * `retryAfterSeconds` (the Retry-After header).
 */
export class OperationError extends Error {
  constructor(
    readonly code: OperationErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** A file that failed to (re)load: what the console and /metrics show. */
export interface ConfigFileProblem {
  /** which file: a release stream config, the jobs file, the tokens, notify or qualifiers file, a file of the Prow job config (--prow-jobs) */
  kind: 'releases' | 'jobs' | 'tokens' | 'notify' | 'qualifiers' | 'prowJobs';
  /** releases: the path relative to the releases directory; jobs/tokens: the path given */
  file: string;
  /** the stream the file defined at its last good load, when known */
  stream?: string;
  /** `path: reason` lines */
  errors: string[];
  /** the last good version is still running */
  keptRunning: boolean;
}

export interface Operations {
  /** the in-memory view every read uses */
  readonly state: State;
  /** one call is one atomic input change (components → pull specs); merged into the input, or with `replace` the whole input */
  setInputTags(input: string, tags: Record<string, string>, user: string, labels?: Record<string, Record<string, string>>, opts?: { replace?: boolean }): Promise<void>;
  overridePhase(stream: string, tag: string, phase: 'Accepted' | 'Rejected', reason: string, user: string): Promise<void>;
  qeVerdict(stream: string, tag: string, verdict: 'QEAccepted' | 'QERejected', reason: string, user: string): Promise<void>;
  qeRerun(stream: string, tag: string, reason: string, user: string): Promise<void>;
  retryJob(stream: string, tag: string, verifyName: string, reason: string, user: string): Promise<void>;
  /** marks a verify entry that cannot run (no upgrade source, removed from the config) as passed */
  waiveJob(stream: string, tag: string, verifyName: string, reason: string, user: string): Promise<void>;
  /** a team accepts or rejects a payload (`release.openshift.io/<team>_state`; never the qe team, whose state is the QE verdict) */
  teamApproval(stream: string, tag: string, team: string, state: 'Accepted' | 'Rejected', reason: string, user: string): Promise<void>;
  /** keep (never garbage-collect) a payload, or stop keeping it */
  keep(stream: string, tag: string, keep: boolean, reason: string, user: string): Promise<void>;
  /** lock (no new payloads) or unlock a stream */
  lock(stream: string, locked: boolean, reason: string, user: string): Promise<void>;
  /** pin a component of an input stream to a pull spec (given, or taken from the payload `fromTag`) */
  pin(req: { input: string; component: string; pullSpec?: string; fromTag?: string; reason: string }, user: string): Promise<void>;
  unpin(input: string, component: string, reason: string, user: string): Promise<void>;
  /** creates a payload of the stream now; resolves to its tag */
  poke(stream: string, reason: string, user: string): Promise<string>;
  /** promotes a payload (`from`: `<stream>/<tag>`) into a Stable stream as release `version` */
  promote(req: { stream: string; version: string; from: string; reason: string; force: boolean; previous: string[] }, user: string): Promise<void>;
  /** removes a payload that is not kept, with everything garbage collection removes */
  prune(stream: string, tag: string, reason: string, user: string): Promise<void>;
  listEvents(q: EventQuery): Promise<EventRecord[]>;
  /** live feed of appended events; returns an unsubscribe function */
  subscribe(listener: (e: EventRecord) => void): () => void;
  /** true once the state is loaded and the first reconcile of every stream is done */
  ready(): boolean;
  /** why the store is failing right now (commits are being retried), null while it is healthy */
  unavailable?(): string | null;
  /** release config files that failed validation at the last (re)load (Controller.configProblems) */
  configProblems?(): { file: string; stream?: string; errors: string[]; keptRunning: boolean }[];
}

/** The release config problems an Operations reports, as console and /metrics show them. */
export function releaseConfigProblems(ops: Pick<Operations, 'configProblems'>): ConfigFileProblem[] {
  return (ops.configProblems?.() ?? []).map((p) => ({ kind: 'releases', file: p.file, ...(p.stream !== undefined ? { stream: p.stream } : {}), errors: p.errors, keptRunning: p.keptRunning }));
}
