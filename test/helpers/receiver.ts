// A real webhook receiver on loopback (node:http) for notification tests: it records every request
// (headers and the exact body), answers what `respond` says, and dedupes by CloudEvents id the way a
// careful receiver would (`fresh`: ids in the order they were first seen).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** the CloudEvents id (structured JSON), or the delivery header for Slack bodies */
  id: string;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** never answer (the request stays open until the server closes) */
  hang?: boolean;
}

export class Receiver {
  readonly requests: Received[] = [];
  /** ids in the order they were first received */
  readonly fresh: string[] = [];
  respond: (r: Received, nth: number) => Answer = () => ({ status: 200 });
  private server: Server | null = null;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Listens (on `port` when given: a receiver coming back after an outage keeps its address). */
  async start(port = this.port): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let id = String(req.headers['x-release-controller-delivery'] ?? '');
        try {
          const j = JSON.parse(body) as { id?: unknown };
          if (typeof j.id === 'string') id = j.id;
        } catch {
          // not JSON: keep the header's id
        }
        const r: Received = { at: Date.now(), headers: req.headers, body, id };
        this.requests.push(r);
        const nth = this.requests.filter((x) => x.id === id).length;
        const a = this.respond(r, nth);
        if (a.hang) return;
        if (a.status >= 200 && a.status < 300 && !this.fresh.includes(id)) this.fresh.push(id);
        res.writeHead(a.status, { 'content-type': 'text/plain', ...(a.headers ?? {}) });
        res.end(a.body ?? '');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  /** the bodies received for one id (all attempts) */
  bodies(id: string): string[] {
    return this.requests.filter((r) => r.id === id).map((r) => r.body);
  }
}

/** Checks `sha256=<hex>` against the HMAC-SHA256 of the exact body, as a receiver should (constant time). */
export function validSignature(secret: string, body: string, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const want = Buffer.from(createHmac('sha256', secret).update(body).digest('hex'));
  const got = Buffer.from(header.slice('sha256='.length));
  return got.length === want.length && timingSafeEqual(got, want);
}
