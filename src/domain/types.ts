// Core vocabulary of the product (DESIGN.md §2, §4, §6). Pure data, no I/O.
import type { ReleaseConfig, ReleaseVerification } from './config/schema.ts';

export const PHASES = ['Pending', 'Ready', 'Accepted', 'Rejected', 'Failed'] as const;
export type Phase = (typeof PHASES)[number];
export const PhasePending: Phase = 'Pending';
export const PhaseReady: Phase = 'Ready';
export const PhaseAccepted: Phase = 'Accepted';
export const PhaseRejected: Phase = 'Rejected';
export const PhaseFailed: Phase = 'Failed';

/** QE state of a payload; "" means the stream has no QE jobs. Names as in the proposal. */
export const QE_STATES = ['', 'QEPending', 'QERunning', 'QEAccepted', 'QERejected', 'QESkipped'] as const;
export type QEState = (typeof QE_STATES)[number];
export const QEPending: QEState = 'QEPending';
export const QERunning: QEState = 'QERunning';
export const QEAccepted: QEState = 'QEAccepted';
export const QERejected: QEState = 'QERejected';
export const QESkipped: QEState = 'QESkipped';

export const AnnotationPhase = 'release.openshift.io/phase';
export const AnnotationName = 'release.openshift.io/name';
export const AnnotationSource = 'release.openshift.io/source';
export const AnnotationCreationTimestamp = 'release.openshift.io/creationTimestamp';
export const AnnotationHash = 'release.openshift.io/hash';
export const AnnotationReason = 'release.openshift.io/reason';
export const AnnotationMessage = 'release.openshift.io/message';
export const AnnotationKeep = 'release.openshift.io/keep';
export const AnnotationQEVerify = 'release.openshift.io/qe-verify';
export const AnnotationQEPhase = 'release.openshift.io/qe-phase';

/**
 * `Interrupted`: the run was stopped by the controller's own shutdown, a lost executor or a crash.
 * It is not a result: it never consumes a retry and never rejects; the attempt is relaunched.
 */
export const JOB_RUN_STATES = ['Pending', 'Succeeded', 'Failed', 'Aborted', 'Interrupted'] as const;
export type JobRunState = (typeof JOB_RUN_STATES)[number];

export const JOB_KINDS = ['blocking', 'informing', 'upgrade', 'qe', 'analysis', 'aggregator', 'periodic'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** A component of an input stream: name → pull spec (with digest) and image labels. */
export interface Component {
  pullSpec: string;
  labels?: Record<string, string>;
}

export interface InputTag {
  input: string;
  component: string;
  pullSpec: string;
  labels: Record<string, string>;
  updatedAt: string;
}

export interface StreamRecord {
  name: string;
  config: ReleaseConfig;
  /** file path or other origin of the config */
  sourceFile: string;
  /** input stream the config is bound to */
  input: string;
  /** validation errors (`path: reason`) — a stream with errors is not reconciled */
  errors: string[];
  warnings: string[];
  locked: boolean;
  /** who locked the stream, when and why (set while `locked`; a locked stream creates no payloads) */
  lock?: StreamLock;
  /**
   * conditions the controller reported for the stream (a periodic without an upgrade source, …):
   * key → message; each distinct condition is recorded once, not once per pass
   */
  conditions?: Record<string, string>;
}

export interface StreamLock {
  reason: string;
  user: string;
  at: string;
}

/**
 * A component of an input stream held at a pull spec ("revert a component"): input updates of the
 * component are still recorded, but payloads are made with the pinned pull spec until unpinned.
 */
export interface Pin {
  input: string;
  component: string;
  pullSpec: string;
  labels: Record<string, string>;
  /** the payload the pull spec was taken from ("" when given directly) */
  fromTag: string;
  reason: string;
  user: string;
  at: string;
}

export interface Override {
  phase: string;
  reason: string;
  user: string;
  at: string;
}

export interface QEStatus {
  state: QEState;
  reason: string;
  message: string;
  /** time of the first QE launch of the current generation (durable, survives restarts) */
  startedAt: string | null;
  deadline: string | null;
  /** bumped by a re-run; runs of older generations no longer count */
  generation: number;
  /** QE verify names frozen when QE started */
  jobs: string[];
  /** the QE verify entries as they were when QE started (absent on payloads from before freezing) */
  verify?: Record<string, ReleaseVerification>;
  override: Override | null;
}

export interface Waiver {
  reason: string;
  user: string;
  at: string;
}

/** The job set a payload is judged by, frozen when it was created (DESIGN.md §14). */
export interface PayloadJobs {
  /** CI verify entries (not QE, not disabled) of the stream when the payload was created */
  verify: Record<string, ReleaseVerification>;
  /** frozen entries later removed or disabled in the config: name → when it was noticed */
  removed: Record<string, string>;
  /** entries a person marked as passed (they could not run): name → who, when, why */
  waivers: Record<string, Waiver>;
  /** every CI entry is final (nothing running, no retry due): no more CI passes are needed */
  ciDone: boolean;
  /** the copy to alternateImageRepository, once it finished (absent while none is done) */
  mirror?: MirrorResult;
}

/** How the copy of a Ready payload to its stream's alternateImageRepository ended (upstream's release mirror job). */
export interface MirrorResult {
  status: 'Success' | 'Failed';
  /** `<alternateImageRepository>:<tag>` */
  to: string;
  message: string;
  at: string;
}

export interface Payload {
  stream: string;
  tag: string;
  phase: Phase;
  /** RFC 3339, UTC, seconds */
  createdAt: string;
  inputHash: string;
  pullSpec: string;
  digest: string;
  components: Record<string, Component>;
  /** reason/message for Failed / Rejected */
  reason: string;
  message: string;
  annotations: Record<string, string>;
  override: Override | null;
  qe: QEStatus;
  /** when the phase last changed */
  phaseChangedAt: string;
  /** frozen job set, waivers; null/absent on payloads from before freezing (frozen on their next pass) */
  jobs?: PayloadJobs | null;
  /**
   * The payload's mirror repository (`host/path`, upstream's mirror stream, upstream-behavior.md
   * §3.8): one tag per component, pinned to the component's digest; jobs get it as IMAGE_FORMAT.
   * Absent when the builder makes no images (the local builder) or before the build.
   */
  mirrorRepository?: string;
}

export interface JobRun {
  /** deterministic run name: payload + verify name + attempt (safe-named) */
  id: string;
  stream: string;
  /** payload tag; for periodic runs the payload under test */
  tag: string;
  verifyName: string;
  /** the job (Prow job) name the executor runs */
  jobName: string;
  kind: JobKind;
  attempt: number;
  /** QE generation for kind=qe (0 otherwise) */
  generation: number;
  state: JobRunState;
  url: string;
  upgradeFrom: string;
  upgradeFromPullSpec: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  reason: string;
  logPath: string;
  /** the extra launch environment (aggregators: ANALYSIS_JOB_COUNT …), so a relaunch is identical */
  env?: Record<string, string>;
}

export interface EventRecord {
  id?: number;
  at: string;
  stream: string;
  tag: string;
  type: string;
  actor: string;
  message: string;
  data: Record<string, unknown>;
}

export interface UpgradeResult {
  from: string;
  to: string;
  url: string;
  state: 'Succeeded' | 'Failed' | 'Pending';
  runId: string;
}

/** A named pointer maintained by publish steps (tagRef) — target stream tag name → payload tag. */
export interface PublishedRef {
  stream: string;
  name: string;
  tag: string;
  updatedAt: string;
}
