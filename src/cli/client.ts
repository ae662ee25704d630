// Client subcommands: talk to a running server over its HTTP API (DESIGN.md §10, §11).
import type { Command } from 'commander';
import { own } from '../domain/own.ts';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  server: string;
  token?: string;
  json?: boolean;
}

export function clientOptions(cmd: Command): ClientOptions {
  const o = cmd.optsWithGlobals() as { server?: string; token?: string; json?: boolean };
  const server = (o.server ?? process.env.RELEASE_CONTROLLER_SERVER ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  return { server, token: o.token ?? process.env.RELEASE_CONTROLLER_TOKEN, json: o.json };
}

async function request(o: ClientOptions, method: string, path: string, body?: unknown, auth = false): Promise<{ status: number; text: string; json: unknown }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (auth) {
    if (!o.token) throw new CliError('this command needs a token: pass --token or set RELEASE_CONTROLLER_TOKEN', 2);
    headers.authorization = `Bearer ${o.token}`;
  }
  let r: Response;
  try {
    r = await fetch(o.server + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    throw new CliError(`cannot reach the server at ${o.server}: ${cause}`, 3);
  }
  const text = await r.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: r.status, text, json };
}

function errorText(r: { status: number; text: string; json: unknown }): string {
  const msg = (r.json as { error?: string } | null)?.error ?? r.text.trim();
  return `server answered ${r.status}: ${msg || '(empty)'}`;
}

function check(r: { status: number; text: string; json: unknown }): void {
  if (r.status >= 400) throw new CliError(errorText(r), r.status === 401 || r.status === 403 ? 4 : r.status === 404 ? 5 : 1);
}

const enc = encodeURIComponent;

const COLORS: Record<string, string> = {
  Accepted: '\x1b[32m', QEAccepted: '\x1b[32m', Rejected: '\x1b[31m', Failed: '\x1b[31m', QERejected: '\x1b[31m',
  Ready: '\x1b[36m', QERunning: '\x1b[36m', Pending: '\x1b[33m', QEPending: '\x1b[33m', QESkipped: '\x1b[90m',
};

function paint(s: string, tty: boolean): string {
  const color = own(COLORS, s);
  return tty && color ? `${color}${s}\x1b[0m` : s;
}

/** The QE phase as shown: a QE acceptance counts only while the payload is Accepted (DESIGN §14). */
export function qeShown(t: { phase: string; qePhase?: string }, tty: boolean): string {
  if (!t.qePhase) return '';
  if (t.qePhase === 'QEAccepted' && t.phase !== 'Accepted') return tty ? '\x1b[90mQEAccepted (void)\x1b[0m' : 'QEAccepted (void)';
  return paint(t.qePhase, tty);
}

interface TagObj {
  name: string;
  phase: string;
  qePhase?: string;
  pullSpec: string;
}

export async function status(o: ClientOptions, stream: string | undefined, limit: number, out: (s: string) => void): Promise<void> {
  const all = await request(o, 'GET', '/api/v1/releasestreams/all');
  check(all);
  const names = Object.keys((all.json as Record<string, string[] | null>) ?? {}).filter((n) => !stream || n === stream);
  if (stream && names.length === 0) throw new CliError(`unknown release stream ${stream}`, 5);
  // a Map: stream names come from the server and are never object keys to look up
  const result = new Map<string, TagObj[]>();
  for (const n of names) {
    const r = await request(o, 'GET', `/api/v1/releasestream/${enc(n)}/tags`);
    check(r);
    const tags = ((r.json as { tags: TagObj[] | null }).tags ?? []).slice(0, limit);
    result.set(n, tags);
  }
  if (o.json) {
    out(JSON.stringify(Object.fromEntries(result), null, 2));
    return;
  }
  const tty = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  for (const [n, tags] of result) {
    out(n);
    if (tags.length === 0) out('  (no payloads)');
    for (const t of tags) out(`  ${t.name.padEnd(48)} ${paint(t.phase, tty).padEnd(tty ? 18 : 9)} ${qeShown(t, tty)}`.trimEnd());
  }
}

export async function latest(o: ClientOptions, stream: string, q: { phase?: string; in?: string; rel?: string; prefix?: string; format?: string }, out: (s: string) => void): Promise<void> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, v);
  const qs = params.toString();
  const r = await request(o, 'GET', `/api/v1/releasestream/${enc(stream)}/latest${qs ? `?${qs}` : ''}`);
  check(r);
  if (q.format && q.format !== 'json') {
    out(r.text.replace(/\n$/, ''));
    return;
  }
  const t = r.json as TagObj;
  out(o.json ? JSON.stringify(t, null, 2) : `${t.name} ${t.phase}${t.qePhase ? ` ${qeShown(t, false)}` : ''} ${t.pullSpec}`);
}

export async function inputSet(o: ClientOptions, input: string, pairs: string[], out: (s: string) => void): Promise<void> {
  // a Map, then fromEntries: `tags.__proto__ = …` on a plain object would drop the component silently
  const tags = new Map<string, string>();
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0 || i === p.length - 1) throw new CliError(`expected name=pullspec, got ${JSON.stringify(p)}`, 2);
    tags.set(p.slice(0, i), p.slice(i + 1));
  }
  if (tags.size === 0) throw new CliError('give at least one name=pullspec', 2);
  const r = await request(o, 'PUT', `/api/v1/inputstreams/${enc(input)}/tags`, { tags: Object.fromEntries(tags) }, true);
  check(r);
  out(o.json ? JSON.stringify(r.json, null, 2) : `updated ${tags.size} component(s) of input stream ${input}`);
}

export async function write(o: ClientOptions, path: string, body: Record<string, unknown>, done: string | ((json: unknown) => string), out: (s: string) => void, method = 'POST'): Promise<void> {
  if (typeof body.reason !== 'string' || !body.reason.trim()) throw new CliError('--reason is required', 2);
  const r = await request(o, method, path, body, true);
  check(r);
  out(o.json ? JSON.stringify(r.json, null, 2) : typeof done === 'string' ? done : done(r.json));
}

interface PinObj {
  component: string;
  pullSpec: string;
  fromTag: string;
  reason: string;
  user: string;
  at: string;
  inputPullSpec: string | null;
}

/** `pins INPUT`: the pinned components of an input stream, one a line. */
export async function listPins(o: ClientOptions, input: string, out: (s: string) => void): Promise<void> {
  const r = await request(o, 'GET', `/api/v1/inputstreams/${enc(input)}/pins`);
  check(r);
  const pins = (r.json as { pins: PinObj[] }).pins;
  if (o.json) return out(JSON.stringify(r.json, null, 2));
  if (pins.length === 0) return out(`no pinned components in input stream ${input}`);
  for (const p of pins) out(`${p.component} ${p.pullSpec}${p.fromTag ? ` (from ${p.fromTag})` : ''} — by ${p.user} at ${p.at}: ${p.reason}${p.inputPullSpec && p.inputPullSpec !== p.pullSpec ? ` [input has ${p.inputPullSpec}]` : ''}`);
}

/** `why STREAM`: lock, why no payload is being created now, pins. */
export async function streamStatus(o: ClientOptions, stream: string, out: (s: string) => void): Promise<void> {
  const r = await request(o, 'GET', `/api/v1/releasestream/${enc(stream)}/status`);
  check(r);
  if (o.json) return out(JSON.stringify(r.json, null, 2));
  const s = r.json as { name: string; locked: boolean; lock: { user: string; reason: string; at: string } | null; creationBlockedBy: string; pins: PinObj[] };
  out(s.locked ? `${s.name}: locked${s.lock ? ` by ${s.lock.user} at ${s.lock.at}: ${s.lock.reason}` : ''}` : `${s.name}: not locked`);
  out(s.creationBlockedBy ? `next payload may not start: ${s.creationBlockedBy}` : 'a payload would be created on the next pass');
  for (const p of s.pins) out(`pinned: ${p.component} ${p.pullSpec} (by ${p.user}: ${p.reason})`);
}

export function streamPath(stream: string): string {
  return `/api/v1/releasestream/${enc(stream)}`;
}

export function releasePath(stream: string, tag: string): string {
  return `/api/v1/releasestream/${enc(stream)}/release/${enc(tag)}`;
}
