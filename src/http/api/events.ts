// The live feed (Server-Sent Events) and per-payload event history (ours, JSON errors). Every
// bound is per process and named here:
// - at most MAX_FEED_CONNECTIONS feeds at once (option); one more is a 503 with Retry-After;
// - a client gets a bounded buffer: when its socket stops draining past the limit, or nothing
//   left its buffer between two heartbeats, it is disconnected (it reconnects with
//   Last-Event-ID and replays) instead of the server growing memory;
// - a replay reads the store a page at a time and waits for the socket to drain between events;
//   live events arriving meanwhile are held up to MAX_QUEUED_DURING_REPLAY, past which they are
//   dropped from memory and read back from the store (they are stored before they are sent).
import type { FastifyInstance } from 'fastify';
import type { EventRecord } from '../../domain/types.ts';
import { apiError } from '../errors.ts';
import type { RouteRegistry } from '../openapi.ts';
import { param, queryOne, sendJson, type ApiContext } from './shared.ts';

/** bytes a client may have queued in its socket before it is dropped */
export const MAX_BUFFERED_BYTES = 1 << 20;
/** events read from the store per replay page */
export const REPLAY_PAGE = 200;
export const HEARTBEAT_MS = 15_000;
/** live feeds open at once (all clients together) */
export const MAX_FEED_CONNECTIONS = 256;
/** Retry-After (seconds) of the 503 answered past MAX_FEED_CONNECTIONS */
export const FEED_RETRY_AFTER_SECONDS = 5;
/** live events held for one client while its replay runs */
export const MAX_QUEUED_DURING_REPLAY = 1000;

export function formatSse(e: EventRecord): string {
  // JSON.stringify never emits a raw newline, so `data:` is one line
  return `id: ${e.id ?? ''}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

/** What BoundedSender writes to: an http.ServerResponse in production, a fake in tests. */
export interface SseSink {
  write(chunk: string): boolean;
  readonly writableLength: number;
  destroy(): void;
}

/**
 * Writes to a sink while the bytes it has not yet flushed stay under `limit`; the first write
 * that would exceed it closes the sink instead, and every later send is refused.
 */
export class BoundedSender {
  closed = false;
  /** bytes handed to the sink so far */
  private sent = 0;
  private lastWaiting = 0;
  private lastFlushed = 0;
  constructor(
    private readonly sink: SseSink,
    readonly limit = MAX_BUFFERED_BYTES,
  ) {}

  send(chunk: string): boolean {
    if (this.closed) return false;
    const n = Buffer.byteLength(chunk);
    if (this.sink.writableLength + n > this.limit) {
      this.close();
      return false;
    }
    this.sink.write(chunk);
    this.sent += n;
    return true;
  }

  /**
   * Called at every heartbeat: a client that had bytes waiting at the previous check and has
   * taken none of them since is not reading; it is dropped (true) instead of holding its slot.
   */
  checkStalled(): boolean {
    if (this.closed) return false;
    const waiting = this.sink.writableLength;
    const flushed = this.sent - waiting;
    const stalled = waiting > 0 && this.lastWaiting > 0 && flushed <= this.lastFlushed;
    this.lastWaiting = waiting;
    this.lastFlushed = flushed;
    if (stalled) this.close();
    return stalled;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.destroy();
  }
}

export interface EventRouteOptions {
  heartbeatMs?: number;
  maxBufferedBytes?: number;
  /** live feeds open at once (default MAX_FEED_CONNECTIONS; 0: no limit) */
  maxConnections?: number;
}

export interface EventRoutesHandle {
  /** live feeds open now */
  readonly connections: number;
}

export function eventRoutes(app: FastifyInstance, reg: RouteRegistry, ctx: ApiContext, o: EventRouteOptions = {}): EventRoutesHandle {
  const heartbeatMs = o.heartbeatMs ?? HEARTBEAT_MS;
  const maxConnections = o.maxConnections ?? MAX_FEED_CONNECTIONS;
  const limit = o.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
  // open feeds never go idle, so the server could not close while one is connected: end them first
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });
  reg.route(
    app,
    {
      method: 'GET', url: '/api/v1/events', summary: 'Live feed of events (Server-Sent Events); Last-Event-ID header or ?since= replays what came after that id', tag: 'events',
      query: { stream: 'only events of this stream', since: 'replay events after this id' }, produces: 'text/event-stream',
      responses: { '200': 'event stream', '400': 'bad since / Last-Event-ID', '404': 'unknown stream', '503': `${maxConnections} feeds are open already (Retry-After)` },
    },
    async (req, reply) => {
      const stream = queryOne(req, 'stream') || undefined;
      const header = req.headers['last-event-id'];
      const sinceRaw = (Array.isArray(header) ? header[0] : header) ?? queryOne(req, 'since');
      let since: number | undefined;
      if (sinceRaw !== undefined && sinceRaw !== '') {
        if (!/^\d{1,15}$/.test(sinceRaw)) throw apiError(400, 'since (or Last-Event-ID) must be a non-negative integer event id');
        since = Number(sinceRaw);
      }
      if (stream !== undefined && !ctx.ops.state.stream(stream)) throw apiError(404, `unknown release stream ${stream}`);
      if (maxConnections > 0 && open.size >= maxConnections) {
        throw apiError(503, `too many live-feed connections (${maxConnections} open); retry later`, { 'retry-after': String(FEED_RETRY_AFTER_SECONDS) });
      }
      reply.hijack();
      const res = reply.raw;
      let closed = false;
      const end = () => res.end();
      open.add(end);
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      // a HEAD request gets the headers only
      if (req.method === 'HEAD') {
        open.delete(end);
        res.end();
        return;
      }
      const sender = new BoundedSender(res, limit);
      sender.send('retry: 3000\n: connected\n\n');
      let lastId = since ?? 0;
      let queued: EventRecord[] = [];
      // live events were dropped from `queued` during the replay: read them from the store
      let overflow = false;
      let replaying = since !== undefined;
      const deliver = (e: EventRecord) => {
        if (stream && e.stream !== stream) return;
        if (e.id !== undefined) {
          if (e.id <= lastId) return;
          lastId = e.id;
        }
        sender.send(formatSse(e));
      };
      // subscribe first, replay second: events appended during the replay wait in `queued`
      const off = ctx.ops.subscribe((e) => {
        if (!replaying) return deliver(e);
        if (overflow) return;
        if (queued.length < MAX_QUEUED_DURING_REPLAY) queued.push(e);
        else {
          overflow = true;
          queued = [];
        }
      });
      const beat = setInterval(() => {
        if (!sender.checkStalled()) sender.send(': heartbeat\n\n');
      }, heartbeatMs);
      beat.unref();
      const close = () => {
        if (closed) return;
        closed = true;
        off();
        clearInterval(beat);
        queued = [];
        open.delete(end);
      };
      res.on('close', close);
      if (since === undefined) return;
      const drained = () =>
        new Promise<void>((r) => {
          const done = () => (res.off('drain', done), res.off('close', done), r());
          res.on('drain', done);
          res.on('close', done);
        });
      try {
        for (;;) {
          overflow = false;
          const page = await ctx.ops.listEvents({ afterId: lastId, stream, limit: REPLAY_PAGE });
          for (const e of page) {
            if (closed || sender.closed) break;
            deliver(e);
            // let the socket drain before writing more (backpressure, not the buffer limit)
            if (res.writableNeedDrain) await drained();
          }
          if (closed || sender.closed) break;
          // a full page: there may be more; an overflow: live events must be read back
          if (page.length < REPLAY_PAGE && !overflow) break;
        }
      } catch (err) {
        req.log.warn({ err }, 'event replay failed');
        sender.close();
      } finally {
        replaying = false;
        const rest = queued;
        queued = [];
        if (!closed && !sender.closed) for (const e of rest) deliver(e);
      }
    },
  );

  reg.route(
    app,
    {
      method: 'GET', url: '/api/v1/releasestream/:release/release/:tag/events', summary: 'Event history of a payload (audit trail), oldest first', tag: 'events',
      produces: 'application/json', responses: { '200': 'events', '404': 'unknown stream, or a tag without payload or events' },
    },
    async (req, reply) => {
      const stream = param(req, 'release');
      const tag = param(req, 'tag');
      if (!ctx.ops.state.stream(stream)) throw apiError(404, `unknown release stream ${stream}`);
      const events = await ctx.ops.listEvents({ stream, tag, limit: 5000 });
      // a deleted payload's events stay readable
      if (events.length === 0 && !ctx.ops.state.payload(stream, tag)) throw apiError(404, `unknown release tag ${tag} in stream ${stream}`);
      return sendJson(reply, events);
    },
  );
  return {
    get connections() {
      return open.size;
    },
  };
}
