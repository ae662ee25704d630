// The changelog service (issue 18): changelogs are computed off the request path by a bounded
// worker pool with a bounded queue, pre-warmed when a payload becomes Ready, and memoised in a
// persistent content-addressed cache (`<data>/changelog-cache/<sha256>.json`, keyed by the two
// payloads' components and the settings), so a restart recomputes nothing it holds. A request
// waits at most `waitMs`; then it is answered without the changelog ("still computing").
// Incomplete changelogs (a missing mirror or commit) are kept in memory for a while, never on
// disk; failed ones (git timed out) are not kept at all.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  changeLogHtmlSteps, changeLogMarkdownSteps, changeLogSteps, commitOf, commitRanges, DEFAULT_CHANGELOG_SETTINGS, sourceOf, LABEL_COMPONENT_VERSION,
  type ChangeLogJson, type ChangeLogSettings, type RangeHistory,
} from '../domain/changelog.ts';
import { own } from '../domain/own.ts';
import type { EventRecord, Payload } from '../domain/types.ts';
import type { CommitHistory } from '../ports/history.ts';

/** bump when the cached shape or its computation changes: old files are then simply not found */
const CACHE_FORMAT = 1;

export interface ChangelogServiceOptions {
  /** null: no git cache, the changelog lists images only (computed at once) */
  history: CommitHistory | null;
  /** directory of the persistent cache; none → memory only */
  cacheDir?: string;
  settings?: Partial<ChangeLogSettings>;
  /** changelogs computed at once (default 2) */
  workers?: number;
  /** changelogs waiting for a worker before on-demand requests get 429 (default 32) */
  maxQueue?: number;
  /** how long a request waits for a changelog being computed (default 2000 ms) */
  waitMs?: number;
  /** how long an incomplete changelog (missing mirror/commit) is reused (default 60 s) */
  incompleteTtlMs?: number;
  /** changelogs kept in memory (default 200) */
  memoryEntries?: number;
  log?: { warn: (o: object, m?: string) => void; debug?: (o: object, m?: string) => void };
}

/** A computed changelog without its from/to header (the same content serves any two payloads with these components). */
interface Body {
  json: Omit<ChangeLogJson, 'from' | 'to'>;
  complete: boolean;
  /** range histories were incomplete because of an error: never kept */
  failed: boolean;
}

export interface ReadyChangelog {
  state: 'ready';
  json: ChangeLogJson;
  markdown: string;
  html: string;
  /** where it came from: memory, the disk cache, or computed for this request */
  source: 'memory' | 'disk' | 'computed' | 'direct';
}
export type ChangelogOutcome = ReadyChangelog | { state: 'computing'; retryAfterSeconds: number } | { state: 'busy'; retryAfterSeconds: number };

export class QueueFullError extends Error {}

export interface ChangelogStats {
  computed: number;
  memoryHits: number;
  diskHits: number;
  failures: number;
  rejected: number;
  queued: number;
  running: number;
}

/** A bounded pool: `workers` tasks at once, at most `maxQueue` waiting; more are refused. */
class WorkPool {
  running = 0;
  private readonly queue: (() => void)[] = [];
  constructor(
    private readonly workers: number,
    private readonly maxQueue: number,
  ) {}
  get queued(): number {
    return this.queue.length;
  }
  get full(): boolean {
    return this.running >= this.workers && this.queue.length >= this.maxQueue;
  }
  run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.full) return Promise.reject(new QueueFullError('the changelog queue is full'));
    const start = async () => {
      this.running++;
      try {
        return await fn();
      } finally {
        this.running--;
        this.queue.shift()?.();
      }
    };
    if (this.running < this.workers) return start();
    return new Promise<void>((r) => this.queue.push(r)).then(start);
  }
}

/**
 * Runs a step generator, giving the event loop a turn whenever a slice of `sliceMs` is used up,
 * so building and rendering a large changelog never holds up other requests for long.
 */
export async function cooperate<T>(g: Generator<void, T>, sliceMs = 4): Promise<T> {
  let start = performance.now();
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    if (performance.now() - start > sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      start = performance.now();
    }
  }
}

/** What of a component decides its changelog: pull spec (digest), commit, source and version labels. */
function fingerprint(p: Payload): [string, string, string, string, string][] {
  return Object.keys(p.components)
    .sort()
    .map((n) => {
      const c = p.components[n];
      return [n, c.pullSpec, commitOf(c), sourceOf(c), own(c.labels, LABEL_COMPONENT_VERSION) ?? ''];
    });
}

export class ChangelogService {
  readonly settings: ChangeLogSettings;
  readonly waitMs: number;
  private readonly pool: WorkPool;
  private readonly memory = new Map<string, { body: Body; until: number }>();
  private readonly inflight = new Map<string, Promise<Body>>();
  private readonly rendered = new Map<string, ReadyChangelog>();
  private readonly memoryEntries: number;
  private readonly stats0 = { computed: 0, memoryHits: 0, diskHits: 0, failures: 0, rejected: 0 };
  private closed = false;

  constructor(private readonly o: ChangelogServiceOptions) {
    this.settings = { ...DEFAULT_CHANGELOG_SETTINGS, ...o.settings };
    this.waitMs = o.waitMs ?? 2000;
    this.pool = new WorkPool(Math.max(1, o.workers ?? 2), Math.max(0, o.maxQueue ?? 32));
    this.memoryEntries = o.memoryEntries ?? 200;
    if (o.cacheDir) mkdirSync(o.cacheDir, { recursive: true });
  }

  get stats(): ChangelogStats {
    return { ...this.stats0, queued: this.pool.queued, running: this.pool.running };
  }

  /** The content address of the changelog between two payloads (sha256 hex). */
  key(from: Payload, to: Payload): string {
    const s = this.settings;
    const material = JSON.stringify([CACHE_FORMAT, this.o.history ? 'git' : 'images', s.issueKeyPattern, s.issueUrlTemplate, s.maxCommitsPerImage, s.maxCommits, fingerprint(from), fingerprint(to)]);
    return createHash('sha256').update(material).digest('hex');
  }

  /**
   * THE changelog entry point: the changelog from `from` to `to`, waiting at most `waitMs` for it
   * (default the service's). `computing`: it is being computed (ask again); `busy`: the queue is
   * full and it was not started.
   */
  async get(from: Payload, to: Payload, waitMs = this.waitMs): Promise<ChangelogOutcome> {
    const retryAfterSeconds = Math.max(1, Math.ceil(this.waitMs / 1000));
    if (!this.o.history) {
      // images only: pure and instant, nothing to queue or store
      const { from: _f, to: _t, ...json } = await cooperate(changeLogSteps(from, to));
      return this.render(from, to, '', { json, complete: true, failed: false }, 'direct');
    }
    const key = this.key(from, to);
    const hit = this.memory.get(key);
    if (hit && hit.until > Date.now()) {
      this.stats0.memoryHits++;
      return this.render(from, to, key, hit.body, 'memory');
    }
    let source: ReadyChangelog['source'] = 'computed';
    let job = this.inflight.get(key);
    if (!job) {
      job = this.start(key, from, to, (s) => (source = s));
      this.inflight.set(key, job);
      void job.then(
        () => this.inflight.delete(key),
        () => this.inflight.delete(key),
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), Math.max(0, waitMs))));
    // rendering is part of what the wait bounds: a request never waits past waitMs
    const rendered = job.then((body) => this.render(from, to, key, body, source));
    rendered.catch(() => {});
    try {
      const r = await Promise.race([rendered, timeout]);
      if (r === 'timeout') return { state: 'computing', retryAfterSeconds };
      return r;
    } catch (e) {
      if (e instanceof QueueFullError) return { state: 'busy', retryAfterSeconds: Math.max(5, retryAfterSeconds * 5) };
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Starts computing (or loading) a changelog without waiting; a full queue drops it. */
  prewarm(from: Payload, to: Payload): void {
    if (!this.o.history || this.closed) return;
    void this.get(from, to, 0).catch((e) => this.o.log?.warn({ err: e, from: from.tag, to: to.tag }, 'changelog pre-warm failed'));
  }

  /**
   * Pre-warms the changelog of each payload that becomes Ready, against `previous(payload)`.
   * Returns the unsubscribe function.
   */
  attach(subscribe: (l: (e: EventRecord) => void) => () => void, lookup: (stream: string, tag: string) => Payload | undefined, previous: (p: Payload) => Payload | undefined): () => void {
    return subscribe((e) => {
      if (e.type !== 'PhaseChanged' || e.data?.phase !== 'Ready' || e.data?.previous !== 'Pending') return;
      // the event is published with the change; look the payload up once the state has it
      setImmediate(() => {
        const p = lookup(e.stream, e.tag);
        const prev = p && previous(p);
        if (p && prev && p.pullSpec && prev.pullSpec) this.prewarm(prev, p);
      });
    });
  }

  /** Stops pre-warming; running computations finish on their own. */
  close(): void {
    this.closed = true;
  }

  private async start(key: string, from: Payload, to: Payload, setSource: (s: ReadyChangelog['source']) => void): Promise<Body> {
    const disk = await this.readDisk(key);
    if (disk) {
      this.stats0.diskHits++;
      setSource('disk');
      this.remember(key, disk);
      return disk;
    }
    let body: Body;
    try {
      body = await this.pool.run(() => this.compute(from, to));
    } catch (e) {
      if (e instanceof QueueFullError) this.stats0.rejected++;
      else this.stats0.failures++;
      throw e;
    }
    this.stats0.computed++;
    setSource('computed');
    if (body.failed) this.stats0.failures++;
    else {
      this.remember(key, body);
      if (body.complete) await this.writeDisk(key, body);
    }
    return body;
  }

  private async compute(from: Payload, to: Payload): Promise<Body> {
    const history = this.o.history!;
    const ranges = commitRanges(from, to);
    const histories = new Map<string, RangeHistory>();
    await Promise.all(
      ranges.map(async (r) => {
        let h: RangeHistory;
        try {
          h = await history.commits(r.source, r.from, r.to, this.settings.maxCommitsPerImage);
        } catch (e) {
          h = { error: (e as Error).message };
        }
        histories.set(r.key, h);
      }),
    );
    const { from: _f, to: _t, ...json } = await cooperate(changeLogSteps(from, to, histories, this.settings));
    const hs = [...histories.values()];
    return { json, complete: !hs.some((h) => 'missing' in h || 'error' in h), failed: hs.some((h) => 'error' in h) };
  }

  private remember(key: string, body: Body): void {
    const ttl = body.complete ? Number.POSITIVE_INFINITY : (this.o.incompleteTtlMs ?? 60_000);
    this.memory.delete(key);
    this.memory.set(key, { body, until: Date.now() + ttl });
    while (this.memory.size > this.memoryEntries) this.memory.delete(this.memory.keys().next().value!);
  }

  private async render(from: Payload, to: Payload, key: string, body: Body, source: ReadyChangelog['source']): Promise<ReadyChangelog> {
    const rkey = `${key}\u0000${from.tag}\u0000${from.digest}\u0000${from.createdAt}\u0000${to.tag}\u0000${to.digest}\u0000${to.createdAt}`;
    const cached = key ? this.rendered.get(rkey) : undefined;
    if (cached) return { ...cached, source };
    const json: ChangeLogJson = { from: { name: from.tag, created: from.createdAt, digest: from.digest }, to: { name: to.tag, created: to.createdAt, digest: to.digest }, ...body.json };
    const out: ReadyChangelog = { state: 'ready', json, markdown: await cooperate(changeLogMarkdownSteps(json)), html: await cooperate(changeLogHtmlSteps(json)), source };
    if (key && !body.failed) {
      this.rendered.set(rkey, out);
      while (this.rendered.size > this.memoryEntries) this.rendered.delete(this.rendered.keys().next().value!);
    }
    return out;
  }

  private path(key: string): string | null {
    return this.o.cacheDir ? join(this.o.cacheDir, `${key}.json`) : null;
  }

  private async readDisk(key: string): Promise<Body | null> {
    const p = this.path(key);
    if (!p) return null;
    try {
      const v = JSON.parse(await readFile(p, 'utf8')) as { format?: number; key?: string; json?: Body['json'] };
      if (v.format !== CACHE_FORMAT || v.key !== key || !v.json || typeof v.json !== 'object') return null;
      return { json: v.json, complete: true, failed: false };
    } catch {
      // absent, or a torn/foreign file: compute again (and overwrite it)
      return null;
    }
  }

  /** write-to-temp then rename: a reader sees the old file, the new one, or none — never half */
  private async writeDisk(key: string, body: Body): Promise<void> {
    const p = this.path(key);
    if (!p) return;
    const tmp = `${p}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify({ format: CACHE_FORMAT, key, json: body.json }));
      await rename(tmp, p);
    } catch (e) {
      this.o.log?.warn({ err: e, key }, 'changelog cache write failed');
      await unlink(tmp).catch(() => {});
    }
  }
}
