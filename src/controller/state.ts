// The in-memory, indexed view of the durable state (DESIGN.md §3). The store is written first;
// the same changes are then applied here, so API reads never touch the database.
import type { Change, Snapshot } from '../ports/store.ts';
import type { InputTag, JobRun, Payload, PublishedRef, StreamRecord, UpgradeResult } from '../domain/types.ts';
import type { WorldView } from '../domain/world.ts';

const key = (stream: string, tag: string) => `${stream}\u0000${tag}`;

function newestFirst(a: Payload, b: Payload): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.tag < b.tag ? 1 : a.tag > b.tag ? -1 : 0;
}

export class State implements WorldView {
  private streamMap = new Map<string, StreamRecord>();
  private inputs = new Map<string, Map<string, InputTag>>();
  private payloadsByStream = new Map<string, Payload[]>();
  private payloadByKey = new Map<string, Payload>();
  private payloadByTag = new Map<string, Payload>();
  private runsByPayload = new Map<string, JobRun[]>();
  private runsById = new Map<string, JobRun>();
  private upgradesByRun = new Map<string, UpgradeResult>();
  private upgradesTo = new Map<string, UpgradeResult[]>();
  private upgradesFrom = new Map<string, UpgradeResult[]>();
  private publishedMap = new Map<string, Map<string, PublishedRef>>();
  /** bumped on every applied change; lets caches (rendered pages, API bodies) know when to refresh */
  version = 0;

  static fromSnapshot(s: Snapshot): State {
    const st = new State();
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
    for (const u of s.upgrades) st.putUpgradeMem(u);
    for (const r of s.published) st.putPublishedMem(r);
    return st;
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

  private deletePayloadMem(stream: string, tag: string): void {
    const k = key(stream, tag);
    const old = this.payloadByKey.get(k);
    if (!old) return;
    this.payloadByKey.delete(k);
    if (this.payloadByTag.get(tag) === old) this.payloadByTag.delete(tag);
    const arr = this.payloadsByStream.get(stream);
    if (arr) {
      const i = arr.indexOf(old);
      if (i >= 0) arr.splice(i, 1);
    }
    for (const r of this.runsByPayload.get(k) ?? []) this.runsById.delete(r.id);
    this.runsByPayload.delete(k);
  }

  private putRunMem(r: JobRun): void {
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
  payload(stream: string, tag: string): Payload | undefined {
    return this.payloadByKey.get(key(stream, tag));
  }
  /** a tag in any stream */
  findTag(tag: string): Payload | undefined {
    return this.payloadByTag.get(tag);
  }
  runs(stream: string, tag: string): readonly JobRun[] {
    return this.runsByPayload.get(key(stream, tag)) ?? [];
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
}
