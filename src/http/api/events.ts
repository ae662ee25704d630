// The live feed (Server-Sent Events) and per-payload event history (ours, JSON errors). A slow
// client gets a bounded buffer: when its socket stops draining past the limit, it is disconnected
// (it reconnects with Last-Event-ID and replays) instead of the server growing memory.
import type { FastifyInstance } from 'fastify';
import type { EventRecord } from '../../domain/types.ts';
import { apiError } from '../errors.ts';
import type { RouteRegistry } from '../openapi.ts';
import { param, queryOne, sendJson, type ApiContext } from './shared.ts';

/** bytes a client may have queued in its socket before it is dropped */
export const MAX_BUFFERED_BYTES = 1 << 20;
/** events read from the store per replay page */
export const REPLAY_PAGE = 500;
export const HEARTBEAT_MS = 15_000;

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
  constructor(
    private readonly sink: SseSink,
    readonly limit = MAX_BUFFERED_BYTES,
  ) {}

  send(chunk: string): boolean {
    if (this.closed) return false;
    if (this.sink.writableLength + Buffer.byteLength(chunk) > this.limit) {
      this.close();
      return false;
    }
    this.sink.write(chunk);
    return true;
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
}

export function eventRoutes(app: FastifyInstance, reg: RouteRegistry, ctx: ApiContext, o: EventRouteOptions = {}): void {
  const heartbeatMs = o.heartbeatMs ?? HEARTBEAT_MS;
  // open feeds never go idle, so the server could not close while one is connected: end them first
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });
  reg.route(
    app,
    {
      method: 'GET', url: '/api/v1/events', summary: 'Live feed of events (Server-Sent Events); Last-Event-ID header or ?since= replays what came after that id', tag: 'events',
      query: { stream: 'only events of this stream', since: 'replay events after this id' }, produces: 'text/event-stream', responses: { '200': 'event stream', '400': 'bad since / Last-Event-ID' },
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
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      const sender = new BoundedSender(res, o.maxBufferedBytes ?? MAX_BUFFERED_BYTES);
      sender.send('retry: 3000\n: connected\n\n');
      let lastId = since ?? 0;
      const queued: EventRecord[] = [];
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
      const off = ctx.ops.subscribe((e) => (replaying ? queued.push(e) : deliver(e)));
      const beat = setInterval(() => sender.send(': heartbeat\n\n'), heartbeatMs);
      beat.unref();
      let closed = false;
      const end = () => res.end();
      open.add(end);
      const close = () => {
        if (closed) return;
        closed = true;
        off();
        clearInterval(beat);
        queued.length = 0;
        open.delete(end);
      };
      res.on('close', close);
      if (since === undefined) return;
      try {
        for (;;) {
          const page = await ctx.ops.listEvents({ afterId: lastId, stream, limit: REPLAY_PAGE });
          for (const e of page) deliver(e);
          if (page.length < REPLAY_PAGE || closed || sender.closed) break;
          // let the socket drain before reading the next page
          if (res.writableLength > 0) await new Promise<void>((r) => (res.once('drain', r), res.once('close', r)));
        }
      } catch (err) {
        req.log.warn({ err }, 'event replay failed');
        sender.close();
      } finally {
        replaying = false;
        for (const e of queued.splice(0)) deliver(e);
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
}
