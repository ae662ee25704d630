// Durable store port. Adapters: adapters/store/sqlite (embedded default), adapters/store/postgres.
// Writes are batches of changes applied atomically (one transaction), so a crash never leaves
// half a decision on disk. Reads load the whole durable state once; the controller keeps the
// in-memory view current (write-through).
import type {
  EventRecord,
  InputTag,
  JobRun,
  Payload,
  Pin,
  PublishedRef,
  StreamRecord,
  UpgradeResult,
} from '../domain/types.ts';
import type { NotificationStore } from './notifications.ts';
import type { Replication } from './replication.ts';

export type Change =
  | { kind: 'putStream'; stream: StreamRecord }
  | { kind: 'deleteStream'; name: string }
  /** replaces the whole component set of an input stream (one atomic input change) */
  | { kind: 'setInputTags'; input: string; tags: InputTag[] }
  | { kind: 'putPayload'; payload: Payload }
  /**
   * removes a payload (GC), its job runs and the upgrade results of those runs (edges *into* the
   * payload); upgrade results of live payloads' runs *from* it stay (they are those payloads'
   * results). Its events are kept until pruneEvents removes them.
   */
  | { kind: 'deletePayload'; stream: string; tag: string }
  | { kind: 'putJobRun'; run: JobRun }
  | { kind: 'appendEvent'; event: EventRecord }
  | { kind: 'putUpgrade'; result: UpgradeResult }
  | { kind: 'putPublished'; ref: PublishedRef }
  /** replaces the whole set of pinned components of an input stream */
  | { kind: 'setPins'; input: string; pins: Pin[] };

export interface Snapshot {
  streams: StreamRecord[];
  inputTags: InputTag[];
  payloads: Payload[];
  jobRuns: JobRun[];
  upgrades: UpgradeResult[];
  published: PublishedRef[];
  /** pinned components (absent in snapshots built by hand: none) */
  pins?: Pin[];
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
   * the others are read on demand through runsOfSync or runsOf.
   */
  load(opts?: { activeRunsOnly?: boolean }): Promise<Snapshot>;
  /** every run of one payload, synchronously (embedded stores); enables lazy loading of settled runs */
  runsOfSync?(stream: string, tag: string): JobRun[];
  /** every run of one payload, in insertion order ([] for none); enables lazy loading with async reads */
  runsOf?(stream: string, tag: string): Promise<JobRun[]>;
  /** applies all changes in one transaction; returns ids assigned to appended events, in order */
  commit(changes: Change[]): Promise<number[]>;
  listEvents(q: EventQuery): Promise<EventRecord[]>;
  /**
   * Deletes the events of payloads that no longer exist whose newest event is older than `before`
   * (RFC 3339): a deleted payload's audit trail is kept whole for the retention after its last
   * event (its PayloadDeleted event), then removed whole. Events of live payloads and stream-level
   * events (tag "") are never deleted. Returns how many events were deleted.
   */
  pruneEvents(before: string): Promise<number>;
  /** the id of every job run the store has (to find run directories whose run is gone) */
  listRunIds(): Promise<string[]>;
  /** the deliverer's cursors and delivery records (issue 19); both adapters have it */
  readonly notifications?: NotificationStore;
  /** leadership and the change log for several replicas on one store (issue 17); PostgreSQL only */
  readonly replication?: Replication;
  close(): Promise<void>;
}
