// Limits of the HTTP server itself (slowloris-safe): how long a client may take to send its
// request headers and its whole request, how long an idle keep-alive connection stays open, how
// large the headers may be and how many connections may be open at once. None of them cuts a
// response in progress: Node's request timeout covers receiving the request only, so the live
// feed (hours) and slow answers are not affected.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyHttpOptions, FastifyInstance } from 'fastify';
import type { Server } from 'node:http';
import { apiError } from './errors.ts';

/**
 * Deepest nesting of arrays and objects a JSON body may have (ours is 3 deep). Parsing costs
 * memory per level — a 300 KB body of `[[[…]]]` allocates ~10 MB — so deeper bodies are refused
 * with 400 before they are parsed.
 */
export const MAX_JSON_DEPTH = 32;

export interface ServerLimits {
  /** time to receive the request headers, from the first byte of a request (or the connection) */
  headersTimeoutMs: number;
  /** time to receive the whole request, body included */
  requestTimeoutMs: number;
  /** an idle keep-alive connection is closed after this long without a new request */
  keepAliveTimeoutMs: number;
  /** request line + headers larger than this are refused with 431 */
  maxHeaderBytes: number;
  /** connections open at once; past it new connections are closed at once (0: no limit) */
  maxConnections: number;
  /** how often the header/request timeouts are checked (the cut comes at most this much late) */
  checkIntervalMs: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  // Fastify's default: longer than the 60 s idle timeout of common load balancers, so they close first
  keepAliveTimeoutMs: 72_000,
  maxHeaderBytes: 16 * 1024,
  maxConnections: 1024,
  checkIntervalMs: 1000,
};

export function serverLimits(o: Partial<ServerLimits> = {}): ServerLimits {
  const l = { ...DEFAULT_SERVER_LIMITS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) };
  // Node refuses a headers timeout above the request timeout
  l.headersTimeoutMs = Math.min(l.headersTimeoutMs, l.requestTimeoutMs);
  return l;
}

/** The Fastify constructor options that carry the limits. */
export function serverOptions(l: ServerLimits): Pick<FastifyHttpOptions<Server>, 'http' | 'requestTimeout' | 'keepAliveTimeout' | 'clientErrorHandler'> {
  return {
    http: { headersTimeout: l.headersTimeoutMs, requestTimeout: l.requestTimeoutMs, maxHeaderSize: l.maxHeaderBytes, connectionsCheckingInterval: l.checkIntervalMs },
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    clientErrorHandler: clientErrorHandler(l),
  };
}

/** The connection limit: set on the listening server once Fastify created it. */
export function applyConnectionLimit(app: FastifyInstance, l: ServerLimits): void {
  if (l.maxConnections > 0) app.server.maxConnections = l.maxConnections;
}

/**
 * Requests Node's parser refuses (malformed, headers too large, too slow) are answered as Go's
 * server answers them — plain text, status line as the body — plus the reason, then closed.
 */
function clientErrorHandler(l: ServerLimits): (err: NodeJS.ErrnoException, socket: Socket) => void {
  return (err, socket) => {
    // a response already started on this connection cannot be followed by another
    const started = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (err.code === 'ECONNRESET' || !socket.writable || started) {
      socket.destroy();
      return;
    }
    let status = 400;
    let reason = `malformed HTTP request${err.code ? ` (${err.code})` : ''}`;
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      reason = `the request line and headers exceed ${l.maxHeaderBytes} bytes`;
    } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      reason = `the request was not received in time (headers within ${l.headersTimeoutMs / 1000} s, the whole request within ${l.requestTimeoutMs / 1000} s)`;
    }
    const body = `${status} ${STATUS_CODES[status]}: ${reason}\n`;
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    // a client that does not read the answer does not keep the socket
    socket.setTimeout(5000, () => socket.destroy());
  };
}

/** Does the JSON text nest arrays/objects deeper than `max`? (strings skipped; stops at the first level past it) */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Fastify's JSON body parser (prototype poisoning refused), behind the depth check. */
export function registerJsonDepthLimit(app: FastifyInstance, max = MAX_JSON_DEPTH): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (jsonDepthExceeds(body as string, max)) {
      done(apiError(400, `the request body nests arrays or objects deeper than ${max} levels`), undefined);
      return;
    }
    parse(req, body as string, done);
  });
}
