// One replica of several on one store (issue 17, DESIGN.md §3: the controller layer). It competes
// for the leader lease (roles all and controller; api never leads), renews it while it leads and
// steps down the moment it cannot, and otherwise follows the store: every commit is announced
// (LISTEN/NOTIFY) and a periodic catch-up reads the change log from the last applied position, so
// a missed notification only delays a change, never loses it.
import { performance } from 'node:perf_hooks';
import type { LeaderInfo, Lease, Replication } from '../ports/replication.ts';
import type { Controller, Logger } from './controller.ts';
import { describeError } from './faults.ts';

export type ReplicaRole = 'all' | 'controller' | 'api';
export const REPLICA_ROLES: readonly ReplicaRole[] = ['all', 'controller', 'api'];
export const DEFAULT_LEASE_MS = 10_000;

export interface ReplicaOptions {
  controller: Controller;
  replication: Replication;
  /** this replica's name in the lease (unique per process) */
  id: string;
  /** the URL it serves at, shown to clients that send writes to a follower (a function: known once listening) */
  url: string | (() => string);
  role: ReplicaRole;
  leaseMs?: number;
  /** how often a follower reads the change log even without a notification (default 500 ms) */
  catchUpMs?: number;
  log: Logger;
  /** called once the lease is taken and the view caught up: start what only the leader runs, then lead */
  lead: () => Promise<void>;
  /** the lease is gone: stop what only the leader runs (the controller has stepped down already) */
  follow: (reason: string) => void;
}

/** change-log entries read per query */
const BATCH = 500;
/** entries older than this are pruned by the leader (a follower further behind reloads the state) */
const CHANGE_LOG_KEEP_MS = 10 * 60_000;
const PRUNE_EVERY_MS = 60_000;

export class Replica {
  private readonly o: Required<Pick<ReplicaOptions, 'leaseMs' | 'catchUpMs'>> & ReplicaOptions;
  private lease: Lease | null = null;
  /** performance.now() until which the lease is surely ours: renewal start + lease duration */
  private validUntil = 0;
  /** the lease is held and lead() has been called */
  private leadingNow = false;
  private leaderSeen: LeaderInfo | null = null;
  /** the last change-log entry applied to the view */
  private cursor: number;
  private caughtUp = false;
  private catchUpError: string | null = null;
  /** a notification arrived and was not yet caught up with: since when */
  private pendingSince: number | null = null;
  private lastLagMs = 0;
  private catching: Promise<void> | null = null;
  private again = false;
  private tickTimer: NodeJS.Timeout | null = null;
  private catchUpTimer: NodeJS.Timeout | null = null;
  private stopListening: (() => Promise<void>) | null = null;
  private listenRetry: NodeJS.Timeout | null = null;
  private lastPrune = 0;
  private stopped = false;

  constructor(o: ReplicaOptions) {
    this.o = { leaseMs: DEFAULT_LEASE_MS, catchUpMs: 500, ...o };
    this.cursor = o.controller.changeSeq;
    o.controller.attachReplica({
      ready: () => this.caughtUp,
      unavailable: () => (this.catchUpError ? `the view cannot follow the store: ${this.catchUpError}` : null),
      leaseValid: () => this.leaseValid(),
      leader: () => this.describeLeader(),
      lost: (reason) => this.stepDown(reason),
    });
  }

  /** reads who leads, so a write that arrives before start() is forwarded (or refused naming the leader) */
  async prime(): Promise<void> {
    this.leaderSeen = await this.o.replication.leader();
  }

  private get url(): string {
    return typeof this.o.url === 'function' ? this.o.url() : this.o.url;
  }

  /** starts following (and, unless role api, competing for the lease) */
  async start(): Promise<void> {
    await this.listen();
    await this.catchUp();
    this.catchUpTimer = setInterval(() => void this.catchUp(), this.o.catchUpMs);
    this.catchUpTimer.unref();
    await this.tick();
  }

  /** stops the loops (the caller stops the controller, then calls release()) */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    if (this.catchUpTimer) clearInterval(this.catchUpTimer);
    if (this.listenRetry) clearTimeout(this.listenRetry);
    await this.stopListening?.();
    await this.catching;
  }

  /** gives the lease up (a clean stop): another replica leads without waiting for it to expire */
  async release(): Promise<void> {
    const lease = this.lease;
    this.lease = null;
    this.leadingNow = false;
    this.o.replication.fence(null);
    if (lease) await this.o.replication.release(lease).catch((e) => this.o.log.warn({ err: e }, 'releasing the leader lease failed; it expires by itself'));
  }

  isLeader(): boolean {
    return this.leadingNow && this.leaseValid();
  }

  /** how far the view is behind the store: the time a notified change waited to be applied (0 on the leader) */
  lagSeconds(): number {
    if (this.leadingNow) return 0;
    const waiting = this.pendingSince === null ? 0 : performance.now() - this.pendingSince;
    return Math.max(waiting, this.lastLagMs) / 1000;
  }

  /** e.g. `host:123:ab12 at http://127.0.0.1:8080`, or why none is known */
  describeLeader(): string {
    if (this.leadingNow) return `this replica (${this.o.id})`;
    const l = this.leaderSeen;
    if (!l || !l.live) return 'unknown (no replica holds the lease right now; an election is under way)';
    return l.url ? `${l.holder} at ${l.url}` : l.holder;
  }

  /** where a write sent here goes: the live leader's URL while this replica follows; null to handle it here */
  forwardTarget(): string | null {
    if (this.leadingNow) return null;
    const l = this.leaderSeen;
    return l && l.live && l.url && l.holder !== this.o.id ? l.url : null;
  }

  /** the leader as last read from the store, for the console and /metrics */
  leader(): LeaderInfo | null {
    return this.leaderSeen;
  }

  get id(): string {
    return this.o.id;
  }

  private leaseValid(): boolean {
    return this.lease !== null && performance.now() < this.validUntil;
  }

  // ---------------------------------------------------------------- lease

  private scheduleTick(): void {
    if (this.stopped) return;
    // a third of the lease: two renewals may fail before it runs out
    this.tickTimer = setTimeout(() => void this.tick(), Math.max(50, Math.floor(this.o.leaseMs / 3)));
    this.tickTimer.unref();
  }

  private async tick(): Promise<void> {
    const { replication: r, log, leaseMs } = this.o;
    try {
      if (this.lease) {
        const lease = this.lease;
        const t0 = performance.now();
        let renewed: boolean | null = null;
        try {
          renewed = await r.renew(lease, leaseMs);
        } catch (err) {
          log.warn({ err }, `renewing the leader lease failed: ${describeError(err)}`);
        }
        if (this.lease !== lease) return;
        if (renewed) this.validUntil = t0 + leaseMs;
        else if (renewed === false) this.stepDown('the leader lease expired or was taken over');
        else if (!this.leaseValid()) this.stepDown('the leader lease could not be renewed before it ran out');
        if (this.leadingNow && Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
          this.lastPrune = Date.now();
          void r.pruneChanges(CHANGE_LOG_KEEP_MS).catch((err) => log.warn({ err }, 'pruning the change log failed'));
        }
      } else if (this.o.role !== 'api' && !this.stopped) {
        const t0 = performance.now();
        const lease = await r.acquire(this.o.id, this.url, leaseMs);
        if (lease) {
          this.lease = lease;
          this.validUntil = t0 + leaseMs;
          log.info({ epoch: lease.epoch }, `took the leader lease (epoch ${lease.epoch})`);
          void this.takeLead(lease);
        } else this.leaderSeen = await r.leader();
      } else this.leaderSeen = await r.leader();
    } catch (err) {
      log.warn({ err }, `the leader lease could not be checked: ${describeError(err)}`);
    } finally {
      this.scheduleTick();
    }
  }

  /** with the lease held nobody else commits: catch up to the end of the log, fence, then lead */
  private async takeLead(lease: Lease): Promise<void> {
    try {
      await this.catchUp();
      if (this.catchUpError) throw new Error(this.catchUpError);
      if (this.lease !== lease || this.stopped) return;
      this.o.replication.fence(lease);
      this.leadingNow = true;
      this.leaderSeen = { holder: this.o.id, url: this.url, epoch: lease.epoch, live: true };
      await this.o.lead();
    } catch (err) {
      this.o.log.error({ err }, `taking the lead failed: ${describeError(err)}`);
      this.stepDown(`taking the lead failed: ${describeError(err)}`);
    }
  }

  /** the lease is gone: no launch from here on (the controller checks the lease itself, too) */
  private stepDown(reason: string): void {
    if (!this.lease && !this.leadingNow) return;
    const lease = this.lease;
    this.lease = null;
    const wasLeading = this.leadingNow;
    this.leadingNow = false;
    this.o.replication.fence(null);
    this.cursor = Math.max(this.cursor, this.o.replication.ownSeq());
    // whoever leads now (for refusals), without waiting for the next tick
    this.leaderSeen = null;
    void this.o.replication.leader().then((l) => (this.leaderSeen ??= l), () => undefined);
    this.o.controller.stepDown(reason);
    if (wasLeading) this.o.follow(reason);
    this.o.log.warn({ epoch: lease?.epoch }, `stepped down: ${reason}`);
  }

  // ---------------------------------------------------------------- following

  private async listen(): Promise<void> {
    if (this.stopped) return;
    try {
      this.stopListening = await this.o.replication.listen(
        () => {
          this.pendingSince ??= performance.now();
          void this.catchUp();
        },
        (err) => {
          this.o.log.warn({ err }, `the change notification connection failed (catching up every ${this.o.catchUpMs} ms meanwhile): ${describeError(err)}`);
          const stop = this.stopListening;
          this.stopListening = null;
          void stop?.();
          this.retryListen();
        },
      );
    } catch (err) {
      this.o.log.warn({ err }, `listening for change notifications failed: ${describeError(err)}`);
      this.retryListen();
    }
  }

  private retryListen(): void {
    if (this.stopped || this.listenRetry) return;
    this.listenRetry = setTimeout(() => {
      this.listenRetry = null;
      void this.listen();
    }, 1000);
    this.listenRetry.unref();
  }

  /** applies every change-log entry after the cursor (coalesced: one pass at a time, another if asked meanwhile) */
  private catchUp(): Promise<void> {
    if (this.leadingNow) return Promise.resolve(); // the leader's own commits are in its view already
    if (this.catching) {
      this.again = true;
      return this.catching;
    }
    this.catching = (async () => {
      do {
        this.again = false;
        await this.catchUpOnce();
      } while (this.again && !this.stopped && !this.leadingNow);
    })().finally(() => (this.catching = null));
    return this.catching;
  }

  private async catchUpOnce(): Promise<void> {
    const { replication: r, controller } = this.o;
    const started = this.pendingSince;
    try {
      for (;;) {
        if (this.leadingNow) return;
        this.cursor = Math.max(this.cursor, r.ownSeq());
        const got = await r.changesSince(this.cursor, BATCH);
        if (this.leadingNow) return;
        if (got === 'gap') {
          this.o.log.warn({ cursor: this.cursor }, 'the change log was pruned past this view: reloading the whole state');
          const snap = await r.snapshot({ activeRunsOnly: controller.state.lazy });
          controller.resetState(snap);
          this.cursor = snap.changeSeq;
          continue;
        }
        for (const e of got) {
          controller.applyReplicated(e.changes);
          this.cursor = e.seq;
        }
        if (got.length < BATCH) break;
      }
      this.catchUpError = null;
      this.caughtUp = true;
      if (started !== null) {
        this.lastLagMs = performance.now() - started;
        if (this.pendingSince === started) this.pendingSince = null;
      } else this.lastLagMs = 0;
    } catch (err) {
      this.catchUpError = describeError(err);
      this.o.log.warn({ err }, `reading the change log failed: ${this.catchUpError}`);
    }
  }
}
