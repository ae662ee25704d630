// Helpers shared by the API route groups: upstream's tag object, JSON bodies as upstream
// formats them, and query parameter access.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Operations } from '../../controller/operations.ts';
import type { Payload, StreamRecord } from '../../domain/types.ts';

export interface ApiContext {
  ops: Operations;
  artifactsUrl: string;
}

/** Upstream's APITag plus our qePhase. Field order is part of the wire format. */
export interface TagObject {
  name: string;
  phase: string;
  pullSpec: string;
  downloadURL: string;
  qePhase: string;
}

export function downloadURL(ctx: ApiContext, tag: string): string {
  return ctx.artifactsUrl ? `${ctx.artifactsUrl.replace(/\/+$/, '')}/${encodeURIComponent(tag)}` : '';
}

export function tagObject(ctx: ApiContext, p: Payload): TagObject {
  return { name: p.tag, phase: p.phase, pullSpec: p.pullSpec, downloadURL: downloadURL(ctx, p.tag), qePhase: p.qe.state };
}

/** Two-space indentation and a trailing newline, as upstream's pretty JSON. */
export function sendJson(reply: FastifyReply, body: unknown, indent: number | string = 2): FastifyReply {
  return reply.type('application/json').send(JSON.stringify(body, null, indent) + '\n');
}

export function sendText(reply: FastifyReply, text: string): FastifyReply {
  return reply.type('text/plain; charset=utf-8').send(text.endsWith('\n') ? text : text + '\n');
}

/** Query parameter values as a list (repeated parameters stay separate). */
export function queryList(req: FastifyRequest, name: string): string[] {
  const v = (req.query as Record<string, unknown>)[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => String(x));
}

export function queryOne(req: FastifyRequest, name: string): string | undefined {
  const l = queryList(req, name);
  return l.length ? l[0] : undefined;
}

export function param(req: FastifyRequest, name: string): string {
  return String((req.params as Record<string, string>)[name] ?? '');
}

/** Streams the API lists: valid, not end-of-life. */
export function listedStreams(ctx: ApiContext): StreamRecord[] {
  return ctx.ops.state.streams().filter((s) => s.errors.length === 0 && !s.config.endOfLife);
}

/** Does a payload match a `phase` filter value (upstream phases, or our QE states)? */
export function matchesPhase(p: Payload, phases: string[]): boolean {
  return phases.some((ph) => (ph.startsWith('QE') ? p.qe.state === ph : p.phase === ph));
}
