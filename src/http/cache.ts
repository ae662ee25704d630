// Read-through cache for the JSON API's GET routes: a 200 answer is reused while the in-memory
// state has not changed (State.version), so hot read routes cost a Map lookup. Every change to
// the state empties the cache.
//
// Bounded by bytes, not entries: the bodies (plus keys) never exceed `maxBytes` (default 64 MiB);
// the least recently used entries go first. An entry is keyed by the route, its decoded path
// parameters and only the query parameters the route documents (and so reads): `?x=1`, `?x=2`, …
// and any re-ordering or re-encoding of a URL map to one entry, so junk cannot evict real answers.
// Error answers are not kept (they are cheap, and unknown names would otherwise fill the cache).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { State } from '../controller/state.ts';
import { own } from '../domain/own.ts';
import type { RouteRegistry } from './openapi.ts';

interface Entry {
  type: string;
  body: string | Buffer;
  /** the body's length in bytes (its Content-Length) */
  length: number;
  bytes: number;
}

/** A request URL exactly as a client sent it, answered before: the entry it maps to and its route. */
interface UrlIndexEntry {
  key: string;
  route: string;
  bytes: number;
}

/** what the index of raw URLs may hold (URL strings and their references), beside the bodies' bound */
export const URL_INDEX_BYTES = 1 << 20;

declare module 'fastify' {
  interface FastifyRequest {
    cacheKey?: string;
  }
}

export const DEFAULT_CACHE_BYTES = 64 << 20;
/** no single answer larger than this is kept (nor larger than the whole bound) */
export const MAX_ENTRY_BYTES = 4 << 20;
/** what an entry costs beyond its body and key: the Map slot, the entry object, the type string */
const ENTRY_OVERHEAD = 128;

/** Query parameters whose values are a set (any of them matches): their order does not matter. */
const SET_PARAMS = new Set(['phase']);

/** Routes whose GET answers depend only on the state and the URL (a stream's status depends on the clock too: a creation interval). */
function cacheable(url: string): boolean {
  return (url.startsWith('/api/v1/releasestream') || url.startsWith('/api/v1/releasetag/')) && !url.endsWith('/events') && !url.endsWith('/status');
}

/** Byte-bounded LRU map (Map iteration order is insertion order: the first key is the oldest). */
export class ByteLru<V extends { bytes: number }> {
  private readonly map = new Map<string, V>();
  private total = 0;
  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.total;
  }
  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    // most recently used goes last
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** false (and nothing kept) when the value alone is larger than the bound */
  set(key: string, v: V): boolean {
    const cost = v.bytes + key.length * 2;
    this.delete(key);
    if (cost > this.maxBytes) return false;
    this.map.set(key, v);
    this.total += cost;
    for (const [k, old] of this.map) {
      if (this.total <= this.maxBytes) break;
      this.map.delete(k);
      this.total -= old.bytes + k.length * 2;
    }
    return true;
  }

  delete(key: string): void {
    const old = this.map.get(key);
    if (old === undefined) return;
    this.map.delete(key);
    this.total -= old.bytes + key.length * 2;
  }

  clear(): void {
    this.map.clear();
    this.total = 0;
  }
}

/**
 * The key of a request: route pattern, path parameters in pattern order (decoded, so `%34.16`
 * and `4.16` are one entry) and the documented query parameters sorted by name, each with its
 * values (first value only for single-valued ones, sorted and unique for SET_PARAMS).
 */
export function cacheKeyOf(route: string, params: Record<string, unknown>, query: Record<string, unknown> | undefined, known: readonly string[]): string {
  const shape = shapeOf(route, known);
  const parts: unknown[] = [route];
  for (const name of shape.params) parts.push(String(own(params, name) ?? ''));
  for (const name of shape.query) {
    const v = own(query, name);
    if (v === undefined) continue;
    const values = (Array.isArray(v) ? v : [v]).map((x) => String(x));
    parts.push(name, SET_PARAMS.has(name) ? [...new Set(values)].sort() : values[0]);
  }
  return JSON.stringify(parts);
}

/** a route's path parameter names and its sorted documented query parameters, worked out once per route */
const shapes = new Map<string, { params: string[]; query: string[] }>();
function shapeOf(route: string, known: readonly string[]): { params: string[]; query: string[] } {
  const k = `${route}\u0000${known.join('\u0000')}`;
  let s = shapes.get(k);
  if (!s) shapes.set(k, (s = { params: [...route.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!), query: [...known].sort() }));
  return s;
}

export interface CacheHandle {
  readonly bytes: number;
  readonly size: number;
  /**
   * Answers a GET from the cache before the framework sees it, when this exact URL was answered
   * (200, cached) under the current state: the same status, headers and body the cache hook would
   * send. false: not answered, the request goes to Fastify. `served(route, seconds)` is told of
   * each answer (the request metrics).
   */
  front(req: IncomingMessage, res: ServerResponse): boolean;
  onFrontServed(served: (route: string, seconds: number) => void): void;
}

/**
 * `generation`: what else the answers depend on (the qualifiers file, which a reload replaces
 * without changing the state); a change of it empties the cache as a state change does.
 */
export function registerResponseCache(app: FastifyInstance, state: State, reg: RouteRegistry, maxBytes = DEFAULT_CACHE_BYTES, generation: () => number = () => 0): CacheHandle {
  const current = () => `${state.version}/${generation()}`;
  let version = '';
  const entries = new ByteLru<Entry>(maxBytes);
  // raw URL → cache key, so a repeated URL skips routing and the hooks (CacheHandle.front); junk
  // variants of a URL each take a slot here, bounded apart from the bodies, least recently used first
  const urls = new ByteLru<UrlIndexEntry>(maxBytes > 0 ? Math.min(URL_INDEX_BYTES, maxBytes) : 0);
  let served: (route: string, seconds: number) => void = () => {};
  const maxEntry = Math.min(MAX_ENTRY_BYTES, maxBytes);
  // the query parameters each GET route documents; a route that is not documented is not cached
  let known: Map<string, readonly string[]> | null = null;
  const knownOf = (req: FastifyRequest) => {
    known ??= new Map(reg.docs.filter((d) => d.method === 'GET').map((d) => [d.url, Object.keys(d.query ?? {})]));
    const route = req.routeOptions.url;
    return route !== undefined && cacheable(route) ? known.get(route) : undefined;
  };
  app.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'GET' || maxBytes <= 0) return;
    const params = knownOf(req);
    if (!params) return;
    const now = current();
    if (now !== version) {
      entries.clear();
      urls.clear();
      version = now;
    }
    const key = cacheKeyOf(req.routeOptions.url!, req.params as Record<string, unknown>, req.query as Record<string, unknown>, params);
    const hit = entries.get(key);
    if (hit) return reply.code(200).type(hit.type).header('x-cache', 'hit').send(hit.body);
    req.cacheKey = key;
  });
  app.addHook('onSend', async (req, reply, payload) => {
    if (!req.cacheKey || reply.statusCode !== 200 || !(typeof payload === 'string' || Buffer.isBuffer(payload))) return payload;
    const bytes = (typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length) + ENTRY_OVERHEAD;
    // only the state decides these answers: one computed from an older state is not kept
    if (bytes <= maxEntry && current() === version) {
      entries.set(req.cacheKey, { type: String(reply.getHeader('content-type') ?? 'application/json'), body: payload, length: bytes - ENTRY_OVERHEAD, bytes });
      const raw = req.raw.url;
      if (raw) urls.set(raw, { key: req.cacheKey, route: req.routeOptions.url!, bytes: raw.length * 2 + req.cacheKey.length * 2 + ENTRY_OVERHEAD });
    }
    return payload;
  });
  return {
    get bytes() {
      return entries.bytes;
    },
    get size() {
      return entries.size;
    },
    front(req, res) {
      if (req.method !== 'GET' || !req.url || current() !== version) return false;
      const started = performance.now();
      const u = urls.get(req.url);
      const hit = u && entries.get(u.key);
      if (!u || !hit) return false;
      // what the hook's reply.code(200).type(…).header('x-cache', 'hit').send(body) writes
      res.writeHead(200, { 'content-type': hit.type, 'x-cache': 'hit', 'content-length': hit.length });
      res.end(hit.body);
      served(u.route, (performance.now() - started) / 1000);
      return true;
    },
    onFrontServed(f) {
      served = f;
    },
  };
}
