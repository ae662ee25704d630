// Read-through cache for the JSON API's GET routes: a response is reused while the in-memory
// state has not changed (State.version), so hot read routes cost a Map lookup. Every change to
// the state empties the cache.
import type { FastifyInstance } from 'fastify';
import type { State } from '../controller/state.ts';

interface Entry {
  status: number;
  type: string;
  body: string | Buffer;
}

declare module 'fastify' {
  interface FastifyRequest {
    cacheKey?: string;
  }
}

const MAX_ENTRIES = 5000;
const MAX_BODY = 4 << 20;

/** Paths whose GET answers depend only on the state and the URL. */
function cacheable(url: string): boolean {
  return url.startsWith('/api/v1/releasestream') || url.startsWith('/api/v1/releasetag/');
}

export function registerResponseCache(app: FastifyInstance, state: State): void {
  let version = -1;
  const entries = new Map<string, Entry>();
  app.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'GET' || !cacheable(req.url) || req.url.includes('/events')) return;
    if (state.version !== version) {
      entries.clear();
      version = state.version;
    }
    const hit = entries.get(req.url);
    if (hit) return reply.code(hit.status).type(hit.type).header('x-cache', 'hit').send(hit.body);
    req.cacheKey = req.url;
  });
  app.addHook('onSend', async (req, reply, payload) => {
    if (!req.cacheKey || !(typeof payload === 'string' || Buffer.isBuffer(payload)) || payload.length > MAX_BODY) return payload;
    const status = reply.statusCode;
    // only the state decides these answers; redirects and server errors are not kept
    if ((status === 200 || status === 400 || status === 404) && state.version === version) {
      if (entries.size >= MAX_ENTRIES) entries.clear();
      entries.set(req.cacheKey, { status, type: String(reply.getHeader('content-type') ?? 'application/json'), body: payload });
    }
    return payload;
  });
}
