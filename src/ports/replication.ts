// Replication port (issue 17): several `serve` replicas on one shared store. One of them leads
// (reconciles, launches, builds) under a lease with a fencing epoch; every replica follows the
// store's change log so its in-memory view stays current. Adapter: adapters/store/postgres.
import type { Change, Snapshot } from './store.ts';

/** a lease this replica holds: its epoch fences every commit it makes */
export interface Lease {
  holder: string;
  epoch: number;
}

/** who holds the lease now, as the store says */
export interface LeaderInfo {
  holder: string;
  /** the URL the holder serves at ("" when it gave none) */
  url: string;
  epoch: number;
  /** the lease has not expired (by the database's clock) */
  live: boolean;
}

/** one committed transaction of the change log, in commit order; appended events carry their ids */
export interface ChangeEntry {
  seq: number;
  changes: Change[];
}

/** A commit made under a lease that is no longer current (expired or taken over): nothing was written. */
export class FencedError extends Error {
  readonly code = 'fenced';
  constructor(message: string) {
    super(message);
    this.name = 'FencedError';
  }
}

/** A commit on a replica that holds no lease while leadership is in force: nothing was written. */
export class NotLeaderError extends Error {
  readonly code = 'not_leader';
  constructor(message: string) {
    super(message);
    this.name = 'NotLeaderError';
  }
}

export interface Replication {
  /**
   * From now on every commit must carry a lease (fence()); without one it fails with
   * NotLeaderError. Stores used by a single process never call it.
   */
  enforce(): void;
  /** takes the lease when it is free or expired (by the database's clock); null when another holds it */
  acquire(holder: string, url: string, durationMs: number): Promise<Lease | null>;
  /** extends a held lease; false when it expired or was taken over (the holder must step down) */
  renew(lease: Lease, durationMs: number): Promise<boolean>;
  /** gives the lease up at once (a clean stop), so another replica need not wait for it to expire */
  release(lease: Lease): Promise<void>;
  leader(): Promise<LeaderInfo | null>;
  /** the lease every later commit is checked against, in the commit's own transaction; null: none */
  fence(lease: Lease | null): void;
  /** the newest change-log entry this process committed itself (0: none) */
  ownSeq(): number;
  /** entries after `seq`, oldest first, at most `limit`; 'gap' when entries after `seq` were pruned already */
  changesSince(seq: number, limit: number): Promise<ChangeEntry[] | 'gap'>;
  /**
   * the whole state and the change-log position it includes (one snapshot); `activeRunsOnly` as
   * Store.load (settled payloads' runs are read later through Store.runsOf)
   */
  snapshot(opts?: { activeRunsOnly?: boolean }): Promise<Snapshot & { changeSeq: number }>;
  /** calls `onChange` whenever a commit is announced; resolves once listening; returns the stop function */
  listen(onChange: () => void, onError: (err: Error) => void): Promise<() => Promise<void>>;
  /** drops change-log entries older than `olderThanMs` (the newest is always kept); returns how many */
  pruneChanges(olderThanMs: number): Promise<number>;
}
