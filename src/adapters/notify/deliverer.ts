// Notification delivery (issue 19): webhooks told of verdicts exactly once, through crashes and
// outages.
//
// Outbox. Every change the controller makes is committed together with its audit events, and the
// events table assigns ids in commit order (one write chain per controller). So the events table
// *is* the outbox: nothing extra has to be written with a change for its notification to exist.
// For each webhook the deliverer keeps a durable cursor (the last event id it has looked at) and
// turns the events after it into delivery rows — the exact body to send, state pending — moving
// the cursor in the same transaction (NotificationStore.enqueueDeliveries). A crash anywhere
// therefore loses nothing and queues nothing twice: after a restart the cursor says which events
// still need looking at, and the pending rows which notifications still need sending.
//
// Sending. Per webhook, strictly in event order: the oldest pending delivery is POSTed; 2xx →
// delivered; 4xx other than 408/429 (and a redirect, which is not followed) → failed for good, the
// next one goes; anything else (5xx, 408, 429, no answer, timeout) → retried with exponential
// backoff (1 s doubling to at most 10 min) or after the receiver's Retry-After, until
// `--notify-retry-for` (24 h) after the notification was queued, then failed. Later notifications
// wait behind it, so a receiver sees them in order. A crash after the receiver answered 2xx but
// before it was recorded sends that one again: every attempt carries the same CloudEvents `id`
// (event id + webhook), which receivers dedupe on — exactly once, as the receiver sees it.
//
// Bounds. At most `maxQueue` (1000) pending deliveries per webhook: past that new ones are recorded
// as `dropped` with the reason (visible in the API, console and /metrics), never silently lost.
// Response bodies are read up to 2 KiB (for the error text). Finished deliveries are pruned 30
// days after their last attempt.
//
// Start and reload. A webhook seen for the first time starts at the current end of the events
// (it is not sent the history). A webhook removed from the notify file loses its cursor and its
// pending deliveries are recorded dropped; adding it back later starts at the end again.
//
// Scale-out caveat: with several controllers writing one PostgreSQL database, event ids would no
// longer be assigned in commit order; this build has one writer (the serve process delivers).
import { createHmac } from 'node:crypto';
import type { Logger } from '../../controller/controller.ts';
import { cloudEvent, notificationId, notificationType, slackMessage, type NotificationFacts, type NotificationType } from '../../domain/notifications.ts';
import type { EventRecord, JobRun, Payload } from '../../domain/types.ts';
import { DELIVERY_STATES, type Delivery, type DeliveryState, type NotificationStore } from '../../ports/notifications.ts';
import type { EventQuery } from '../../ports/store.ts';
import { timeoutSignal } from '../timeout-signal.ts';
import { wants, type NotifyFile, type Webhook } from './config.ts';

export const SIGNATURE_HEADER = 'x-release-controller-signature';
export const DEFAULT_RETRY_FOR_MS = 24 * 3_600_000;
export const DEFAULT_MAX_QUEUE = 1000;
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DELIVERY_RETENTION_MS = 30 * 86_400_000;
const EVENT_PAGE = 500;
const MAX_ERROR_BODY = 2048;
const PRUNE_EVERY_MS = 3_600_000;

export interface DelivererOptions {
  store: NotificationStore;
  /** where the events (the outbox) are read */
  events: { listEvents(q: EventQuery): Promise<EventRecord[]> };
  /** the payload and its runs as they are when a notification is queued (failed jobs, pull spec) */
  view?: {
    payload(stream: string, tag: string): Payload | undefined;
    runs(stream: string, tag: string): readonly JobRun[];
    /** brings the runs of these payloads into memory (a lazily loaded state), before runs() */
    ensureRunsOf?(payloads: Iterable<{ stream: string; tag: string }>): Promise<void>;
  };
  config: NotifyFile;
  /** the controller's public URL (links, CloudEvents source) */
  baseUrl: string;
  retryForMs?: number;
  maxQueue?: number;
  /** one request's time limit */
  timeoutMs?: number;
  backoff?: { firstMs: number; maxMs: number };
  /** safety poll for events no wake-up announced (default 1 s) */
  pollMs?: number;
  now?: () => number;
  log?: Logger;
}

/** The outcome of one HTTP attempt. */
type Attempt =
  | { kind: 'ok'; status: number }
  | { kind: 'permanent'; status: number; error: string }
  | { kind: 'retry'; status: number | null; error: string; retryAfterMs?: number }
  | { kind: 'aborted' };

interface Hook {
  cfg: Webhook;
  /** the durable cursor as last read or written (null: not read yet) */
  cursor: number | null;
  busy: boolean;
  again: boolean;
  timer: NodeJS.Timeout | null;
  removed: boolean;
  run: Promise<void> | null;
}

/** delivery times keep milliseconds: retry waits and windows are shorter than a second in tests, and precise in logs */
const iso = (ms: number) => new Date(ms).toISOString();

const silent: Logger = { info() {}, warn() {}, error() {} };

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** Retry-After as seconds or an HTTP date → milliseconds from now (undefined when absent or unreadable). */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  const t = header.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const at = Date.parse(t);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function contentType(format: string): string {
  return format === 'slack' ? 'application/json' : 'application/cloudevents+json; charset=utf-8';
}

export class Deliverer {
  private readonly o: DelivererOptions;
  private readonly hooks = new Map<string, Hook>();
  private readonly counts = new Map<string, Map<DeliveryState, number>>();
  /** attempts by webhook and outcome (ok | retry | permanent), since start */
  private readonly attempts = new Map<string, Map<string, number>>();
  private readonly aborter = new AbortController();
  private poll: NodeJS.Timeout | null = null;
  private lastPrune = 0;
  private stopped = false;
  private started = false;
  private readonly now: () => number;
  private readonly log: Logger;
  private config: NotifyFile;
  private configChain: Promise<unknown> = Promise.resolve();

  constructor(o: DelivererOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    this.log = o.log ?? silent;
    this.config = o.config;
  }

  /** Loads the counts, settles cursors (new webhooks start at the end, removed ones are forgotten) and starts sending. */
  async start(): Promise<void> {
    await this.loadCounts();
    const known = await this.o.store.notifyCursors();
    const names = new Set(this.config.webhooks.map((w) => w.name));
    for (const c of known) if (!names.has(c.webhook)) await this.retire(c.webhook);
    for (const w of this.config.webhooks) this.hooks.set(w.name, this.newHook(w));
    // cursors of new webhooks are set now, before the controller's first pass appends anything
    for (const h of this.hooks.values()) await this.ensureCursor(h);
    this.started = true;
    this.poll = setInterval(() => this.wake(), this.o.pollMs ?? 1000);
    this.poll.unref();
    this.wake();
  }

  /** A new notify file (hot reload): added webhooks start at the end, removed ones are retired, changed ones apply to the next attempt. */
  setConfig(next: NotifyFile): Promise<void> {
    const run = this.configChain.then(async () => {
      this.config = next;
      if (!this.started || this.stopped) return;
      const names = new Set(next.webhooks.map((w) => w.name));
      for (const [name, h] of this.hooks) {
        if (names.has(name)) continue;
        h.removed = true;
        if (h.timer) clearTimeout(h.timer);
        this.hooks.delete(name);
        await h.run;
        await this.retire(name);
      }
      for (const w of next.webhooks) {
        const h = this.hooks.get(w.name);
        if (h) h.cfg = w;
        else {
          const nh = this.newHook(w);
          await this.ensureCursor(nh);
          this.hooks.set(w.name, nh);
        }
      }
      this.wake();
    });
    this.configChain = run.catch((e) => this.log.error({ err: (e as Error).message }, 'applying the notify file failed'));
    return run;
  }

  /** Something was committed: look for new events now (cheap when there are none). */
  wake(): void {
    if (this.stopped || !this.started) return;
    for (const h of this.hooks.values()) this.kick(h);
    if (this.now() - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = this.now();
      void this.prune();
    }
  }

  /** Stops sending; an attempt under way is abandoned (it stays pending and is sent again by the next start). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    this.aborter.abort();
    for (const h of this.hooks.values()) if (h.timer) clearTimeout(h.timer);
    await Promise.all([...this.hooks.values()].map((h) => h.run));
    await this.configChain;
  }

  /** Deliveries recorded, by webhook and state (what /metrics shows). */
  stats(): { webhook: string; state: DeliveryState; count: number }[] {
    const out: { webhook: string; state: DeliveryState; count: number }[] = [];
    const names = new Set([...this.counts.keys(), ...this.hooks.keys()]);
    for (const webhook of [...names].sort()) for (const state of DELIVERY_STATES) out.push({ webhook, state, count: this.counts.get(webhook)?.get(state) ?? 0 });
    return out;
  }

  attemptStats(): { webhook: string; outcome: string; count: number }[] {
    const out: { webhook: string; outcome: string; count: number }[] = [];
    for (const [webhook, m] of this.attempts) for (const [outcome, count] of m) out.push({ webhook, outcome, count });
    return out;
  }

  /** The configured webhooks, without URLs or secrets. */
  webhooks(): { name: string; format: string; events: string[]; streams: string[]; signed: boolean; cursor: number | null }[] {
    return this.config.webhooks.map((w) => ({ name: w.name, format: w.format, events: [...w.events], streams: [...w.streams], signed: w.secret !== undefined, cursor: this.hooks.get(w.name)?.cursor ?? null }));
  }

  // ------------------------------------------------------------------------------------------

  private newHook(cfg: Webhook): Hook {
    return { cfg, cursor: null, busy: false, again: false, timer: null, removed: false, run: null };
  }

  private async ensureCursor(h: Hook): Promise<void> {
    const store = this.o.store;
    const cur = await store.notifyCursor(h.cfg.name);
    if (cur !== null) {
      h.cursor = cur;
      return;
    }
    const end = await store.latestEventId();
    await store.enqueueDeliveries(h.cfg.name, end, [], iso(this.now()));
    h.cursor = end;
    this.log.info({ webhook: h.cfg.name, eventId: end }, `webhook ${h.cfg.name} is new: it is told of events after ${end}`);
  }

  /** A webhook that left the notify file: its cursor goes, its pending deliveries are recorded dropped. */
  private async retire(name: string): Promise<void> {
    const store = this.o.store;
    const at = iso(this.now());
    let n = 0;
    for (;;) {
      const pending = await store.pendingDeliveries(name, 200);
      if (!pending.length) break;
      for (const d of pending) {
        await store.updateDelivery({ ...d, state: 'dropped', lastError: `dropped: webhook ${name} was removed from the notify file${d.lastError ? ` (last error: ${d.lastError})` : ''}`, updatedAt: at, nextAttemptAt: null });
        this.move(name, 'pending', 'dropped');
        n++;
      }
    }
    await store.forgetWebhook(name);
    this.log.info({ webhook: name, dropped: n }, `webhook ${name} was removed from the notify file${n ? `: ${n} undelivered notifications recorded as dropped` : ''}`);
  }

  private kick(h: Hook): void {
    if (h.removed || this.stopped) return;
    if (h.busy) {
      h.again = true;
      return;
    }
    h.busy = true;
    h.run = (async () => {
      try {
        do {
          h.again = false;
          await this.fill(h);
          await this.send(h);
        } while (h.again && !h.removed && !this.stopped);
      } catch (e) {
        // the store is failing (outage): the poll tries again
        this.log.warn({ webhook: h.cfg.name, err: (e as Error).message }, `notifications of ${h.cfg.name}: ${(e as Error).message} (trying again)`);
      } finally {
        h.busy = false;
      }
    })();
  }

  /** Turns the events after the cursor into deliveries, a page at a time, moving the cursor with them. */
  private async fill(h: Hook): Promise<void> {
    if (h.cursor === null) await this.ensureCursor(h);
    const maxQueue = this.o.maxQueue ?? DEFAULT_MAX_QUEUE;
    for (;;) {
      if (h.removed || this.stopped) return;
      const events = await this.o.events.listEvents({ afterId: h.cursor!, limit: EVENT_PAGE });
      if (!events.length) return;
      // the bodies name the payload's runs: a settled payload's may still be in the store
      await this.o.view?.ensureRunsOf?.(events.filter((e) => e.tag && notificationType(e) && wants(h.cfg, notificationType(e)!, e.stream)));
      if (h.removed || this.stopped) return;
      const at = iso(this.now());
      const name = h.cfg.name;
      let pending = this.count(name, 'pending');
      const out: Delivery[] = [];
      for (const e of events) {
        const type = notificationType(e);
        if (!type || !wants(h.cfg, type, e.stream)) continue;
        const full = pending >= maxQueue;
        if (!full) pending++;
        out.push({
          webhook: name, eventId: e.id!, type, stream: e.stream, tag: e.tag, format: h.cfg.format,
          state: full ? 'dropped' : 'pending', attempts: 0, lastStatus: null,
          lastError: full ? `dropped: ${maxQueue} notifications of ${name} were already waiting (the queue is full)` : '',
          createdAt: at, updatedAt: at, nextAttemptAt: null, body: this.render(h.cfg, type, e as EventRecord & { id: number }),
        });
      }
      const cursor = events[events.length - 1]!.id!;
      await this.o.store.enqueueDeliveries(name, cursor, out, at);
      h.cursor = cursor;
      for (const d of out) this.move(name, null, d.state);
      const dropped = out.filter((d) => d.state === 'dropped').length;
      if (dropped) this.log.warn({ webhook: name, dropped }, `webhook ${name}: ${dropped} notifications dropped, its queue is full (${maxQueue})`);
      if (events.length < EVENT_PAGE) return;
    }
  }

  private render(w: Webhook, type: NotificationType, e: EventRecord & { id: number }): string {
    const facts: NotificationFacts = { baseUrl: this.o.baseUrl.replace(/\/+$/, ''), payload: this.o.view?.payload(e.stream, e.tag), runs: this.o.view?.runs(e.stream, e.tag) ?? [] };
    return JSON.stringify(w.format === 'slack' ? slackMessage(type, e, facts) : cloudEvent(w.name, type, e, facts));
  }

  /** Sends the pending deliveries in order, until one has to wait. */
  private async send(h: Hook): Promise<void> {
    const store = this.o.store;
    const retryFor = this.o.retryForMs ?? DEFAULT_RETRY_FOR_MS;
    const { firstMs, maxMs } = this.o.backoff ?? { firstMs: 1000, maxMs: 600_000 };
    for (;;) {
      if (h.removed || this.stopped) return;
      const [d] = await store.pendingDeliveries(h.cfg.name, 1);
      if (!d) return;
      const now = this.now();
      const due = d.nextAttemptAt ? Date.parse(d.nextAttemptAt) : now;
      if (due > now) {
        this.schedule(h, due - now);
        return;
      }
      const r = await this.attempt(h.cfg, d);
      if (r.kind === 'aborted') return;
      const after = this.now();
      const at = iso(after);
      const attempts = d.attempts + 1;
      this.countAttempt(h.cfg.name, r.kind);
      if (r.kind === 'ok') {
        await store.updateDelivery({ ...d, state: 'delivered', attempts, lastStatus: r.status, lastError: '', updatedAt: at, nextAttemptAt: null });
        this.move(d.webhook, 'pending', 'delivered');
        continue;
      }
      if (r.kind === 'permanent') {
        await store.updateDelivery({ ...d, state: 'failed', attempts, lastStatus: r.status, lastError: r.error, updatedAt: at, nextAttemptAt: null });
        this.move(d.webhook, 'pending', 'failed');
        this.log.warn({ webhook: d.webhook, eventId: d.eventId, status: r.status }, `notification ${notificationId(d.webhook, d.eventId)} refused for good: ${r.error}`);
        continue;
      }
      const wait = r.retryAfterMs ?? Math.min(maxMs, firstMs * 2 ** Math.min(attempts - 1, 30));
      const deadline = Date.parse(d.createdAt) + retryFor;
      if (after + wait > deadline) {
        const error = `gave up after ${attempts} attempts over ${Math.round((after - Date.parse(d.createdAt)) / 1000)}s (--notify-retry-for): ${r.error}`;
        await store.updateDelivery({ ...d, state: 'failed', attempts, lastStatus: r.status, lastError: error, updatedAt: at, nextAttemptAt: null });
        this.move(d.webhook, 'pending', 'failed');
        this.log.warn({ webhook: d.webhook, eventId: d.eventId }, `notification ${notificationId(d.webhook, d.eventId)}: ${error}`);
        continue;
      }
      await store.updateDelivery({ ...d, attempts, lastStatus: r.status, lastError: r.error, updatedAt: at, nextAttemptAt: iso(after + wait) });
      this.log.warn({ webhook: d.webhook, eventId: d.eventId, attempts, retryInMs: wait }, `notification ${notificationId(d.webhook, d.eventId)} not delivered (${r.error}); next attempt in ${Math.ceil(wait / 1000)}s`);
      this.schedule(h, wait);
      return;
    }
  }

  private schedule(h: Hook, ms: number): void {
    if (h.timer) clearTimeout(h.timer);
    // setTimeout's limit is 2^31-1 ms; the poll wakes it anyway
    h.timer = setTimeout(() => {
      h.timer = null;
      this.kick(h);
    }, Math.min(ms, 2 ** 31 - 1));
    h.timer.unref();
  }

  private async attempt(w: Webhook, d: Delivery): Promise<Attempt> {
    const headers: Record<string, string> = {
      'content-type': contentType(d.format),
      'user-agent': 'release-controller',
      'x-release-controller-delivery': notificationId(d.webhook, d.eventId),
      'x-release-controller-event': d.type,
    };
    if (w.secret !== undefined) headers[SIGNATURE_HEADER] = signBody(w.secret, d.body);
    const signal = timeoutSignal(this.o.timeoutMs ?? DEFAULT_TIMEOUT_MS, this.aborter.signal);
    let res: Response;
    try {
      res = await fetch(w.url, { method: 'POST', headers, body: d.body, redirect: 'manual', signal });
    } catch (e) {
      if (this.aborter.signal.aborted) return { kind: 'aborted' };
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why = err.name === 'TimeoutError' ? `no answer within ${(this.o.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000}s` : (err.cause?.code ?? err.cause?.message ?? err.message);
      return { kind: 'retry', status: null, error: `request failed: ${why}` };
    }
    let text = '';
    try {
      text = await readSome(res, MAX_ERROR_BODY);
    } catch {
      if (this.aborter.signal.aborted) return { kind: 'aborted' };
      // the answer's status is what counts; an unreadable body is no reason to resend
    }
    const status = res.status;
    if (status >= 200 && status < 300) return { kind: 'ok', status };
    const what = `HTTP ${status}${text.trim() ? `: ${text.trim().replace(/\s+/g, ' ').slice(0, 300)}` : ''}`;
    if (status >= 300 && status < 400) return { kind: 'permanent', status, error: `${what} (redirects are not followed; point the webhook at the final URL)` };
    if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { kind: 'permanent', status, error: what };
    return { kind: 'retry', status, error: what, retryAfterMs: retryAfterMs(res.headers.get('retry-after'), this.now()) };
  }

  private async loadCounts(): Promise<void> {
    this.counts.clear();
    for (const c of await this.o.store.countDeliveries()) this.bucket(c.webhook).set(c.state, c.count);
  }

  private async prune(): Promise<void> {
    try {
      const n = await this.o.store.pruneDeliveries(iso(this.now() - DELIVERY_RETENTION_MS));
      if (n) {
        this.log.info({ deliveries: n }, `pruned ${n} finished notification deliveries older than 30 days`);
        await this.loadCounts();
      }
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'pruning old notification deliveries failed; the next pass retries');
    }
  }

  private bucket(webhook: string): Map<DeliveryState, number> {
    let m = this.counts.get(webhook);
    if (!m) this.counts.set(webhook, (m = new Map()));
    return m;
  }

  private count(webhook: string, state: DeliveryState): number {
    return this.counts.get(webhook)?.get(state) ?? 0;
  }

  private move(webhook: string, from: DeliveryState | null, to: DeliveryState): void {
    const m = this.bucket(webhook);
    if (from) m.set(from, Math.max(0, (m.get(from) ?? 0) - 1));
    m.set(to, (m.get(to) ?? 0) + 1);
  }

  private countAttempt(webhook: string, outcome: string): void {
    let m = this.attempts.get(webhook);
    if (!m) this.attempts.set(webhook, (m = new Map()));
    m.set(outcome, (m.get(outcome) ?? 0) + 1);
  }
}

/** Up to `max` bytes of a response body as text; the rest is not read. */
async function readSome(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    while (n < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      n += value.byteLength;
    }
  } finally {
    // not awaited: the request's signal ends the body either way, and a close must never wait on a peer
    void reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}
