// Helpers shared by the API route groups: upstream's tag object, JSON bodies as upstream
// formats them, and query parameter access.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ChangelogService } from '../../controller/changelog.ts';
import type { Operations } from '../../controller/operations.ts';
import type { QualifiersConfig } from '../../controller/qualifiers.ts';
import type { PayloadBuilder } from '../../ports/builder.ts';
import { isQEAccepted } from '../../domain/judging.ts';
import { own } from '../../domain/own.ts';
import type { Payload, StreamRecord } from '../../domain/types.ts';

export interface ApiContext {
  ops: Operations;
  artifactsUrl: string;
  /** computes changelogs off the request path (src/controller/changelog.ts) */
  changelog: ChangelogService;
  /** where /releasetag/{tag}/json reads a payload's release manifests (absent: that route answers 400) */
  builder?: Pick<PayloadBuilder, 'manifests'>;
  /** the qualifiers file (`serve --qualifiers`), for /releasetag/{tag}/qualifiers */
  qualifiers: QualifiersConfig;
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

/**
 * Two-space indentation (or `indent`) and a trailing newline, as upstream's pretty JSON, with
 * upstream's bare `application/json` (a Buffer, so Fastify adds no charset parameter).
 */
export function sendJson(reply: FastifyReply, body: unknown, indent: number | string = 2): FastifyReply {
  return reply.type('application/json').send(Buffer.from(goJson(body, indent) + '\n'));
}

/**
 * JSON as Go's encoder writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped as \u00XX (they only
 * ever occur inside strings, so the replacement is safe), which also keeps bodies inert in HTML.
 */
export function goJson(body: unknown, indent: number | string = 2): string {
  return JSON.stringify(body, null, indent).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One value and a newline as `text/plain`, as upstream's `fmt.Fprintln` answers (§6.4 formats). */
export function sendPlain(reply: FastifyReply, text: string): FastifyReply {
  return reply.type('text/plain').send(text + '\n');
}

/** Go's strconv.Quote, for error texts that embed one. */
export function goQuote(s: string): string {
  const esc: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const e = own(esc, ch);
    if (e) out += e;
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0x80 && c <= 0x9f) out += `\\u00${c.toString(16)}`;
    else out += ch;
  }
  return `"${out}"`;
}

/**
 * Go's strconv.Atoi on a 64-bit platform: the number, or the error text upstream prints
 * (`strconv.Atoi: parsing "x": invalid syntax` / `value out of range`).
 */
export function goAtoi(s: string): number | string {
  if (!/^[+-]?\d+$/.test(s)) return `strconv.Atoi: parsing ${goQuote(s)}: invalid syntax`;
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) return `strconv.Atoi: parsing ${goQuote(s)}: value out of range`;
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : n < BigInt(Number.MIN_SAFE_INTEGER) ? Number.MIN_SAFE_INTEGER : Number(n);
}

/** Query parameter values as a list (repeated parameters stay separate). */
export function queryList(req: FastifyRequest, name: string): string[] {
  const v = own(req.query as Record<string, unknown> | undefined, name);
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => String(x));
}

export function queryOne(req: FastifyRequest, name: string): string | undefined {
  const l = queryList(req, name);
  return l.length ? l[0] : undefined;
}

export function param(req: FastifyRequest, name: string): string {
  return String(own(req.params as Record<string, string> | undefined, name) ?? '');
}

/** Streams the API lists: valid, not end-of-life. */
export function listedStreams(ctx: ApiContext): StreamRecord[] {
  return ctx.ops.state.streams().filter((s) => s.errors.length === 0 && !s.config.endOfLife);
}

/**
 * Does a payload match a `phase` filter value (upstream phases, or our QE states)? `QEAccepted`
 * matches only while the payload is CI Accepted too (DESIGN §14: one verdict truth).
 */
export function matchesPhase(p: Payload, phases: string[]): boolean {
  return phases.some((ph) => (ph === 'QEAccepted' ? isQEAccepted(p) : ph.startsWith('QE') ? p.qe.state === ph : ph !== '' && p.phase === ph));
}
