// The live feed (Server-Sent Events) and per-payload event history. A slow client gets a bounded
// buffer: when its socket stops draining past the limit, it is disconnected instead of growing memory.
import type { FastifyInstance } from 'fastify';
import type { EventRecord } from '../../domain/types.ts';
import { apiError } from '../errors.ts';
import type { RouteRegistry } from '../openapi.ts';
import { param, queryOne, sendJson, type ApiContext } from './shared.ts';

export const MAX_BUFFERED_BYTES = 1 << 20;

export function formatSse(e: EventRecord): string {
  return `id: ${e.id ?? ''}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

/** A writable that refuses to buffer more than `limit` bytes for a client that does not read. */
export interface SseSink {
  write(chunk: string): boolean;
  readonly writableLength: number;
  destroy(): void;
}

export class BoundedSender {
  closed = false;
  constructor(
    private readonly sink: SseSink,
    private readonly limit = MAX_BUFFERED_BYTES,
  ) {}
  send(chunk: string): boolean {
    if (this.closed) return false;
    if (this.sink.writableLength + chunk.length > this.limit) {
      this.closed = true;
      this.sink.destroy();
      return false;
    }
    this.sink.write(chunk);
    return true;
  }
}

export function eventRoutes(app: FastifyInstance, reg: RouteRegistry, ctx: ApiContext, heartbeatMs = 15_000): void {
  reg.route(
    app,
    { method: 'GET', url: '/api/v1/events', summary: 'Live feed of events (Server-Sent Events); Last-Event-ID or ?since= replays', tag: 'events', query: { stream: 'only this stream', since: 'replay events after this id' }, produces: 'text/event-stream' },
    async (req, reply) => {
      const stream = queryOne(req, 'stream');
      const sinceRaw = (req.headers['last-event-id'] as string | undefined) ?? queryOne(req, 'since');
      const since = sinceRaw !== undefined && /^\d+$/.test(sinceRaw) ? Number(sinceRaw) : undefined;
      if (sinceRaw !== undefined && since === undefined) throw apiError(400, 'since must be a non-negative integer event id');
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write(': connected\n\n');
      const sender = new BoundedSender(res);
      let lastId = since ?? 0;
      const queue: EventRecord[] = [];
      let replaying = since !== undefined;
      const deliver = (e: EventRecord) => {
        if (stream && e.stream !== stream) return;
        if (e.id !== undefined && e.id <= lastId) return;
        if (e.id !== undefined) lastId = e.id;
        sender.send(formatSse(e));
      };
      const off = ctx.ops.subscribe((e) => (replaying ? queue.push(e) : deliver(e)));
      const beat = setInterval(() => sender.send(': heartbeat\n\n'), heartbeatMs);
      beat.unref();
      const close = () => {
        off();
        clearInterval(beat);
      };
      req.raw.on('close', close);
      res.on('close', close);
      if (since !== undefined) {
        try {
          for (const e of await ctx.ops.listEvents({ afterId: since, stream, limit: 1000 })) deliver(e);
        } finally {
          replaying = false;
          for (const e of queue.splice(0)) deliver(e);
        }
      }
    },
  );

  reg.route(
    app,
    { method: 'GET', url: '/api/v1/releasestream/:release/release/:tag/events', summary: 'Event history of a payload (audit trail)', tag: 'events', produces: 'application/json', responses: { '200': 'events', '404': 'unknown stream/tag' } },
    async (req, reply) => {
      const stream = param(req, 'release');
      const tag = param(req, 'tag');
      if (!ctx.ops.state.stream(stream)) throw apiError(404, `unknown release stream ${stream}`);
      const events = await ctx.ops.listEvents({ stream, tag, limit: 5000 });
      if (events.length === 0 && !ctx.ops.state.payload(stream, tag)) throw apiError(404, `unknown release tag ${tag} in stream ${stream}`);
      return sendJson(reply, events);
    },
  );
}
