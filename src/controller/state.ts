// The in-memory, indexed view of the durable state (DESIGN.md §3). The store is written first;
// the same changes are then applied here, so API reads never touch the database.
import type { Change, Snapshot } from '../ports/store.ts';
import type { InputTag, JobRun, Payload, Pin, PublishedRef, StreamRecord, UpgradeResult } from '../domain/types.ts';
import type { WorldView } from '../domain/world.ts';
import { needsPass } from '../domain/plan.ts';

const key = (stream: string, tag: string) => `${stream}\u0000${tag}`;

/**
 * A payload whose verdicts can no longer change by themselves (the reconcile loop no longer plans
 * it): its finished runs may be dropped from memory and reloaded. Mirrored by the stores' queries
 * of active runs.
 */
export function isSettled(p: Payload): boolean {
  return p.phase !== 'Pending' && !needsPass(p);
}

export interface StateOptions {
  /** reads every run of a payload from the store (sync); enables lazy loading of settled runs */
  loader?: (stream: string, tag: string) => JobRun[];
  /**
   * reads every run of a payload from the store (async, a database server); enables lazy loading
   * of settled runs without a sync loader: their runs are in memory only after ensureRuns()
   */
  asyncLoader?: (stream: string, tag: string) => Promise<JobRun[]>;
  /** how many settled payloads keep their runs in memory (default 5000) */
  settledRunsCap?: number;
}

function newestFirst(a: Payload, b: Payload): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.tag < b.tag ? 1 : a.tag > b.tag ? -1 : 0;
}

/**
 * How many deleted payload names State remembers, so no new payload takes one: names have a
 * resolution of one second, so only the newest deletions can collide; a GC pass deletes far fewer.
 */
const DELETED_NAMES_KEPT = 10_000;

export class State implements WorldView {
  private streamMap = new Map<string, StreamRecord>();
  private inputs = new Map<string, Map<string, InputTag>>();
  private payloadsByStream = new Map<string, Payload[]>();
  private payloadByKey = new Map<string, Payload>();
  private payloadByTag = new Map<string, Payload>();
  private runsByPayload = new Map<string, JobRun[]>();
  private runsById = new Map<string, JobRun>();
  private periodicByStream = new Map<string, Map<string, JobRun>>();
  private upgradesByRun = new Map<string, UpgradeResult>();
  private upgradesTo = new Map<string, UpgradeResult[]>();
  private upgradesFrom = new Map<string, UpgradeResult[]>();
  private publishedMap = new Map<string, Map<string, PublishedRef>>();
  /** pinned components by input stream */
  private pinsByInput = new Map<string, Pin[]>();
  /** names of the payloads deleted last (oldest first; DELETED_NAMES_KEPT at most), see recentlyDeleted */
  private deletedNames = new Set<string>();
  /** bumped on every applied change; lets caches (rendered pages, API bodies) know when to refresh */
  version = 0;
  private readonly loader?: (stream: string, tag: string) => JobRun[];
  private readonly asyncLoader?: (stream: string, tag: string) => Promise<JobRun[]>;
  /** settled payloads' runs may be absent from memory (a loader of either kind) */
  readonly lazy: boolean;
  private readonly cap: number;
  /** payloads whose runs are all in memory */
  private readonly complete = new Set<string>();
  /** settled payloads with runs in memory, least recently used first */
  private readonly lru = new Map<string, true>();
  /**
   * payloads still deciding whose runs are not all in memory (a settled one made to decide again
   * by a change, with only an async loader): ensureDeciding() loads them before a reconcile pass
   */
  private readonly wanted = new Map<string, { stream: string; tag: string }>();
  /** loads under way, by payload (concurrent ensureRuns of one payload share one read) */
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(opts: StateOptions = {}) {
    this.loader = opts.loader;
    this.asyncLoader = opts.asyncLoader;
    this.lazy = Boolean(opts.loader || opts.asyncLoader);
    this.cap = opts.settledRunsCap ?? 5000;
  }

  static fromSnapshot(s: Snapshot, opts: StateOptions = {}): State {
    const st = new State(opts);
    for (const x of s.streams) st.streamMap.set(x.name, x);
    for (const t of s.inputTags) st.putInputTag(t);
    const byStream = new Map<string, Payload[]>();
    for (const p of s.payloads) {
      st.payloadByKey.set(key(p.stream, p.tag), p);
      st.payloadByTag.set(p.tag, p);
      let arr = byStream.get(p.stream);
      if (!arr) byStream.set(p.stream, (arr = []));
      arr.push(p);
    }
    for (const [k, arr] of byStream) st.payloadsByStream.set(k, arr.sort(newestFirst));
    for (const r of s.jobRuns) st.putRunMem(r);
    for (const p of s.payloads) {
      // without a loader every run was loaded; with one, only those of unsettled payloads are complete
      if (!st.lazy || !isSettled(p)) st.complete.add(key(p.stream, p.tag));
      if (!st.lazy && isSettled(p)) st.lru.set(key(p.stream, p.tag), true);
    }
    for (const u of s.upgrades) st.putUpgradeMem(u);
    for (const r of s.published) st.putPublishedMem(r);
    for (const p of s.pins ?? []) st.pinsByInput.set(p.input, [...(st.pinsByInput.get(p.input) ?? []), p]);
    return st;
  }

  /** replaces everything with a snapshot (a follower too far behind the change log reloads); caches refresh */
  reset(s: Snapshot): void {
    const fresh = State.fromSnapshot(s, { loader: this.loader, asyncLoader: this.asyncLoader, settledRunsCap: this.cap });
    const version = this.version;
    Object.assign(this, fresh);
    this.version = version + 1;
  }

  apply(changes: Change[]): void {
    for (const c of changes) this.applyOne(c);
    this.version++;
  }

  private applyOne(c: Change): void {
    switch (c.kind) {
      case 'putStream':
        this.streamMap.set(c.stream.name, c.stream);
        return;
      case 'deleteStream':
        this.streamMap.delete(c.name);
        return;
      case 'setInputTags':
        this.inputs.set(c.input, new Map());
        for (const t of c.tags) this.putInputTag(t);
        return;
      case 'putPayload':
        this.putPayloadMem(c.payload);
        return;
      case 'deletePayload':
        this.deletePayloadMem(c.stream, c.tag);
        return;
      case 'putJobRun':
        this.putRunMem(c.run);
        return;
      case 'appendEvent':
        return;
      case 'putUpgrade':
        this.putUpgradeMem(c.result);
        return;
      case 'putPublished':
        this.putPublishedMem(c.ref);
        return;
      case 'setPins':
        if (c.pins.length) this.pinsByInput.set(c.input, [...c.pins]);
        else this.pinsByInput.delete(c.input);
        return;
    }
  }

  private putInputTag(t: InputTag): void {
    let m = this.inputs.get(t.input);
    if (!m) this.inputs.set(t.input, (m = new Map()));
    m.set(t.component, t);
  }

  private putPayloadMem(p: Payload): void {
    const k = key(p.stream, p.tag);
    const old = this.payloadByKey.get(k);
    if (!old) this.complete.add(k); // a new payload: all its runs come through apply()
    if (isSettled(p)) {
      this.wanted.delete(k);
      if (this.complete.has(k)) this.touch(k);
    } else {
      this.lru.delete(k);
      if (!this.complete.has(k)) {
        if (this.loader) this.loadRuns(k, p.stream, p.tag);
        else this.wanted.set(k, { stream: p.stream, tag: p.tag });
      }
    }
    this.payloadByKey.set(k, p);
    this.payloadByTag.set(p.tag, p);
    let arr = this.payloadsByStream.get(p.stream);
    if (!arr) this.payloadsByStream.set(p.stream, (arr = []));
    if (old) {
      const i = arr.indexOf(old);
      if (i >= 0 && old.createdAt === p.createdAt) {
        arr[i] = p;
        return;
      }
      if (i >= 0) arr.splice(i, 1);
    }
    // insert keeping newest-first order (new payloads are almost always the newest)
    let i = 0;
    while (i < arr.length && newestFirst(arr[i], p) < 0) i++;
    arr.splice(i, 0, p);
  }

  /**
   * Everything of one payload leaves memory, as deletePayload removes it from the store: the
   * payload, its runs, the upgrade results of its runs (upgrades *into* it); upgrade results of
   * live payloads' runs *from* it stay (they are those payloads' results).
   */
  private deletePayloadMem(stream: string, tag: string): void {
    const k = key(stream, tag);
    const old = this.payloadByKey.get(k);
    if (!old) return;
    this.payloadByKey.delete(k);
    this.deletedNames.delete(k);
    this.deletedNames.add(k);
    if (this.deletedNames.size > DELETED_NAMES_KEPT) this.deletedNames.delete(this.deletedNames.values().next().value!);
    if (this.payloadByTag.get(tag) === old) {
      this.payloadByTag.delete(tag);
      // the same tag may live on in another stream
      for (const [s] of this.payloadsByStream) {
        const other = s !== stream ? this.payloadByKey.get(key(s, tag)) : undefined;
        if (other) {
          this.payloadByTag.set(tag, other);
          break;
        }
      }
    }
    const arr = this.payloadsByStream.get(stream);
    if (arr) {
      const i = arr.indexOf(old);
      if (i >= 0) arr.splice(i, 1);
    }
    // upgrades into this payload: by their run when it is in memory (the controller reads the runs
    // of what it deletes before the commit); a run not in memory is this payload's unless another
    // live payload has the same tag (then it stays until that one goes too)
    const ambiguous = this.payloadByTag.has(tag);
    for (const u of [...(this.upgradesTo.get(tag) ?? [])]) {
      const r = this.runsById.get(u.runId);
      if (r ? r.stream === stream && r.tag === tag : !ambiguous) this.dropUpgradeMem(u);
    }
    for (const r of this.runsByPayload.get(k) ?? []) {
      this.runsById.delete(r.id);
      const u = this.upgradesByRun.get(r.id);
      if (u) this.dropUpgradeMem(u);
      if (r.kind === 'periodic') {
        const m = this.periodicByStream.get(stream);
        m?.delete(r.id);
        if (m?.size === 0) this.periodicByStream.delete(stream);
      }
    }
    this.runsByPayload.delete(k);
    this.complete.delete(k);
    this.lru.delete(k);
    this.wanted.delete(k);
  }

  private loadRuns(k: string, stream: string, tag: string): void {
    if (!this.loader) return;
    this.addLoaded(k, this.loader(stream, tag));
  }

  /** runs read from the store join those in memory; a run in memory is as new as the store's or newer */
  private addLoaded(k: string, runs: readonly JobRun[]): void {
    for (const r of runs) if (!this.runsById.has(r.id)) this.putRunMem(r);
    this.complete.add(k);
    this.wanted.delete(k);
  }

  /** every run of this payload is in memory (or it has no runs, or it does not exist) */
  hasRuns(stream: string, tag: string): boolean {
    const k = key(stream, tag);
    return !this.lazy || this.complete.has(k) || !this.payloadByKey.has(k);
  }

  /**
   * Brings every run of a payload into memory, so that runs() afterwards returns them all: what a
   * reader that may look at a settled payload awaits before its synchronous work (a page, the
   * release info, an operation). Without lazy loading, or with the sync loader, nothing to wait for.
   */
  async ensureRuns(stream: string, tag: string): Promise<void> {
    const k = key(stream, tag);
    if (this.hasRuns(stream, tag)) return;
    if (this.loader || !this.asyncLoader) {
      this.runs(stream, tag);
      return;
    }
    let load = this.inflight.get(k);
    if (!load) {
      const read = this.asyncLoader;
      load = (async () => {
        try {
          const runs = await read(stream, tag);
          // deleted meanwhile (or made complete by another path): nothing to add
          if (!this.payloadByKey.has(k) || this.complete.has(k)) return;
          this.addLoaded(k, runs);
          if (isSettled(this.payloadByKey.get(k)!)) this.touch(k);
        } finally {
          this.inflight.delete(k);
        }
      })();
      this.inflight.set(k, load);
    }
    await load;
  }

  /** ensureRuns for several payloads (a page listing them), read concurrently */
  async ensureRunsOf(payloads: Iterable<{ stream: string; tag: string }>): Promise<void> {
    const todo: Promise<void>[] = [];
    for (const p of payloads) if (!this.hasRuns(p.stream, p.tag)) todo.push(this.ensureRuns(p.stream, p.tag));
    await Promise.all(todo);
  }

  /**
   * Every payload still deciding has all its runs in memory: what the controller awaits before a
   * reconcile pass (the planner reads runs of deciding payloads only, synchronously).
   */
  async ensureDeciding(): Promise<void> {
    while (this.wanted.size) await this.ensureRunsOf([...this.wanted.values()]);
  }

  private touch(k: string): void {
    if (!this.lazy) return;
    this.lru.delete(k);
    this.lru.set(k, true);
    while (this.lru.size > this.cap) {
      const oldest = this.lru.keys().next().value as string;
      this.lru.delete(oldest);
      this.complete.delete(oldest);
      // keep what the controller still tracks (running and periodic runs); the rest reloads on demand
      const runs = this.runsByPayload.get(oldest) ?? [];
      const keep = runs.filter((r) => r.state === 'Pending' || r.kind === 'periodic');
      for (const r of runs) if (!keep.includes(r)) this.runsById.delete(r.id);
      if (keep.length) this.runsByPayload.set(oldest, keep);
      else this.runsByPayload.delete(oldest);
    }
  }

  private putRunMem(r: JobRun): void {
    if (r.kind === 'periodic') {
      let m = this.periodicByStream.get(r.stream);
      if (!m) this.periodicByStream.set(r.stream, (m = new Map()));
      m.set(r.id, r);
    }
    const old = this.runsById.get(r.id);
    this.runsById.set(r.id, r);
    const k = key(r.stream, r.tag);
    let arr = this.runsByPayload.get(k);
    if (!arr) this.runsByPayload.set(k, (arr = []));
    if (old) {
      const i = arr.indexOf(old);
      if (i >= 0) arr[i] = r;
      else arr.push(r);
    } else arr.push(r);
  }

  private putUpgradeMem(u: UpgradeResult): void {
    const old = this.upgradesByRun.get(u.runId);
    this.upgradesByRun.set(u.runId, u);
    for (const [map, k] of [
      [this.upgradesTo, u.to],
      [this.upgradesFrom, u.from],
    ] as const) {
      let arr = map.get(k);
      if (!arr) map.set(k, (arr = []));
      const i = old ? arr.indexOf(old) : -1;
      if (i >= 0) arr[i] = u;
      else arr.push(u);
    }
  }

  private dropUpgradeMem(u: UpgradeResult): void {
    if (this.upgradesByRun.get(u.runId) === u) this.upgradesByRun.delete(u.runId);
    for (const [map, k] of [
      [this.upgradesTo, u.to],
      [this.upgradesFrom, u.from],
    ] as const) {
      const arr = map.get(k);
      const i = arr ? arr.indexOf(u) : -1;
      if (i >= 0) arr!.splice(i, 1);
      if (arr && arr.length === 0) map.delete(k);
    }
  }

  /** entries per index, to check that garbage collection leaves nothing behind (tests, soak) */
  sizes(): Record<string, number> {
    let upgradesTo = 0;
    for (const a of this.upgradesTo.values()) upgradesTo += a.length;
    let upgradesFrom = 0;
    for (const a of this.upgradesFrom.values()) upgradesFrom += a.length;
    let periodic = 0;
    for (const m of this.periodicByStream.values()) periodic += m.size;
    let payloadsByStream = 0;
    for (const a of this.payloadsByStream.values()) payloadsByStream += a.length;
    let runsByPayload = 0;
    for (const a of this.runsByPayload.values()) runsByPayload += a.length;
    return {
      payloads: this.payloadByKey.size, payloadTags: this.payloadByTag.size, payloadsByStream, runs: this.runsById.size,
      runKeys: this.runsByPayload.size, runsByPayload, periodic, upgrades: this.upgradesByRun.size, upgradeToKeys: this.upgradesTo.size,
      upgradesTo, upgradeFromKeys: this.upgradesFrom.size, upgradesFrom, complete: this.complete.size, lru: this.lru.size,
    };
  }

  private putPublishedMem(r: PublishedRef): void {
    let m = this.publishedMap.get(r.stream);
    if (!m) this.publishedMap.set(r.stream, (m = new Map()));
    m.set(r.name, r);
  }

  // ---- WorldView ----
  streams(): StreamRecord[] {
    return [...this.streamMap.values()];
  }
  stream(name: string): StreamRecord | undefined {
    return this.streamMap.get(name);
  }
  /** newest first by creation time */
  payloads(stream: string): readonly Payload[] {
    return this.payloadsByStream.get(stream) ?? [];
  }
  recentlyDeleted(stream: string, tag: string): boolean {
    return this.deletedNames.has(key(stream, tag));
  }

  payload(stream: string, tag: string): Payload | undefined {
    return this.payloadByKey.get(key(stream, tag));
  }
  /** a tag in any stream */
  findTag(tag: string): Payload | undefined {
    return this.payloadByTag.get(tag);
  }
  /**
   * The runs of a payload. With lazy loading, those of a settled payload are all here after
   * ensureRuns() (the sync loader reads them here); until then, only those in memory.
   */
  runs(stream: string, tag: string): readonly JobRun[] {
    const k = key(stream, tag);
    if (this.loader && !this.complete.has(k)) {
      const p = this.payloadByKey.get(k);
      if (p) {
        this.loadRuns(k, stream, tag);
        if (isSettled(p)) this.touch(k);
      }
    } else if (this.lru.has(k)) this.touch(k);
    return this.runsByPayload.get(k) ?? [];
  }
  /** every periodic run of a stream (always in memory) */
  periodicRuns(stream: string): JobRun[] {
    return [...(this.periodicByStream.get(stream)?.values() ?? [])];
  }
  run(id: string): JobRun | undefined {
    return this.runsById.get(id);
  }
  allRuns(): IterableIterator<JobRun> {
    return this.runsById.values();
  }
  inputTags(input: string): InputTag[] {
    return [...(this.inputs.get(input)?.values() ?? [])];
  }
  inputNames(): string[] {
    return [...this.inputs.keys()];
  }
  upgradesInto(tag: string): readonly UpgradeResult[] {
    return this.upgradesTo.get(tag) ?? [];
  }
  upgradesOutOf(tag: string): readonly UpgradeResult[] {
    return this.upgradesFrom.get(tag) ?? [];
  }
  published(stream: string): PublishedRef[] {
    return [...(this.publishedMap.get(stream)?.values() ?? [])];
  }
  /** pinned components of an input stream, by component name */
  pins(input: string): Pin[] {
    return [...(this.pinsByInput.get(input) ?? [])];
  }
}
