// Durable store port. Adapters: adapters/store/sqlite (embedded default), adapters/store/postgres.
// Writes are batches of changes applied atomically (one transaction), so a crash never leaves
// half a decision on disk. Reads load the whole durable state once; the controller keeps the
// in-memory view current (write-through).
import type {
  EventRecord,
  InputTag,
  JobRun,
  Payload,
  PublishedRef,
  StreamRecord,
  UpgradeResult,
} from '../domain/types.ts';

export type Change =
  | { kind: 'putStream'; stream: StreamRecord }
  | { kind: 'deleteStream'; name: string }
  /** replaces the whole component set of an input stream (one atomic input change) */
  | { kind: 'setInputTags'; input: string; tags: InputTag[] }
  | { kind: 'putPayload'; payload: Payload }
  /** removes a payload and its job runs (GC); events are kept */
  | { kind: 'deletePayload'; stream: string; tag: string }
  | { kind: 'putJobRun'; run: JobRun }
  | { kind: 'appendEvent'; event: EventRecord }
  | { kind: 'putUpgrade'; result: UpgradeResult }
  | { kind: 'putPublished'; ref: PublishedRef };

export interface Snapshot {
  streams: StreamRecord[];
  inputTags: InputTag[];
  payloads: Payload[];
  jobRuns: JobRun[];
  upgrades: UpgradeResult[];
  published: PublishedRef[];
}

export interface EventQuery {
  stream?: string;
  tag?: string;
  afterId?: number;
  limit?: number;
}

export interface Store {
  /** applies numbered migrations; safe to call on every start */
  migrate(): Promise<void>;
  /**
   * Loads the durable state. With `activeRunsOnly`, job runs are returned only for payloads that
   * are still deciding (Pending/Ready, or QE not finished), plus every Pending or periodic run;
   * the others are read on demand through runsOfSync.
   */
  load(opts?: { activeRunsOnly?: boolean }): Promise<Snapshot>;
  /** every run of one payload, synchronously (embedded stores); enables lazy loading of settled runs */
  runsOfSync?(stream: string, tag: string): JobRun[];
  /** applies all changes in one transaction; returns ids assigned to appended events, in order */
  commit(changes: Change[]): Promise<number[]>;
  listEvents(q: EventQuery): Promise<EventRecord[]>;
  close(): Promise<void>;
}
