// Writes sent to a follower replica (issue 17) are forwarded to the leader, which validates them
// against the store's current state in its own serialised section: a write takes effect once,
// whichever replica it was sent to. A request that was forwarded once is never forwarded again
// (two followers with stale views of who leads cannot bounce it between them): it is answered
// here, which on a follower is a 503 naming the leader.
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

export const FORWARDED_HEADER = 'x-release-controller-forwarded';
/** which leader answered a forwarded write */
export const FORWARDED_TO_HEADER = 'x-release-controller-forwarded-to';
/** request headers the leader needs; everything else (hop-by-hop, host) stays here */
const REQUEST_HEADERS = ['authorization', 'content-type', 'accept', 'last-event-id', 'user-agent'];
/** response headers passed back to the client */
const RESPONSE_HEADERS = ['content-type', 'retry-after', 'location', 'cache-control'];
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const FORWARD_TIMEOUT_MS = 30_000;

class TooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new TooLarge());
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Forwards every write under /api/ to `leaderUrl()` while it names one (this replica follows);
 * null: the request is handled here (this replica leads, or no leader is known: the operation
 * itself then answers 503 naming none).
 */
export function registerWriteForwarding(app: FastifyInstance, leaderUrl: () => string | null, bodyLimit: number): void {
  const jsonError = (message: string) => JSON.stringify({ error: message }) + '\n';
  app.addHook('onRequest', async (req, reply) => {
    if (!WRITE_METHODS.has(req.method) || !req.url.startsWith('/api/')) return;
    if (req.headers[FORWARDED_HEADER] !== undefined) return;
    const leader = leaderUrl();
    if (!leader) return;
    let body: Buffer;
    try {
      body = await readBody(req.raw, bodyLimit);
    } catch (err) {
      if (err instanceof TooLarge) return reply.code(413).type('application/json').send(jsonError(`request body too large (limit ${bodyLimit} bytes)`));
      throw err;
    }
    const headers: Record<string, string> = { [FORWARDED_HEADER]: '1' };
    for (const h of REQUEST_HEADERS) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    let r: Response;
    try {
      r = await fetch(new URL(req.url, leader), { method: req.method, headers, body: body.length ? new Uint8Array(body) : undefined, signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS), redirect: 'manual' });
    } catch (err) {
      return reply.code(503).header('retry-after', '2').type('application/json')
        .send(jsonError(`this replica is a follower and forwards writes to the leader at ${leader}, which did not answer (${(err as Error).message}); nothing was changed here, try again`));
    }
    reply.code(r.status).header(FORWARDED_TO_HEADER, leader);
    for (const h of RESPONSE_HEADERS) {
      const v = r.headers.get(h);
      if (v !== null) reply.header(h, v);
    }
    return reply.send(Buffer.from(await r.arrayBuffer()));
  });
}
