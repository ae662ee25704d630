// `/logs/:runId` — a job run's log as text/plain, followed while the run is Pending. Only paths the
// state records for a run are ever opened; nothing from the URL reaches the file system.
//
// Public by default (like Prow's logs). With `serve --private-logs` every /logs/ request needs a
// valid token of any role, checked before anything else (so run names cannot be probed):
// `Authorization: Bearer <token>` (curl, scripts) or HTTP Basic with the token as the password and
// any user name — a 401 carries a `WWW-Authenticate: Basic` challenge, so a browser asks for it
// once and then sends it with every log request. Tokens are never accepted in the URL (`?token=`
// would end up in browser history, proxy logs and Referer headers).
import { open, stat } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { State } from '../../controller/state.ts';
import type { Principal } from '../auth.ts';

const CHUNK = 256 * 1024;

export interface LogOptions {
  /** how often the state and the file are polled while the run is Pending (ms) */
  pollMs?: number;
  /** set (serve --private-logs): a valid token is required; identifyAny() accepts Bearer and Basic */
  auth?: { identifyAny(header: string | undefined): Principal | null } | null;
  /** the request's Authorization header (used with `auth`) */
  authorization?: string;
}

export const LOGS_REALM = 'release-controller job logs';
const CHALLENGE = [`Basic realm="${LOGS_REALM}", charset="UTF-8"`, `Bearer realm="${LOGS_REALM}"`];

function plain(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/plain; charset=utf-8')
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .send(text.endsWith('\n') ? text : text + '\n');
}

async function fileSize(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

export async function serveLog(state: State, runId: string, reply: FastifyReply, o: LogOptions = {}): Promise<FastifyReply> {
  if (o.auth) {
    if (!o.authorization) {
      reply.header('www-authenticate', CHALLENGE);
      return plain(reply, 401, 'authentication required: job logs are private on this server; send Authorization: Bearer <token> (in a browser: any user name, the token as the password)');
    }
    if (!o.auth.identifyAny(o.authorization)) {
      reply.header('www-authenticate', CHALLENGE);
      return plain(reply, 401, 'invalid token: job logs are private on this server; send Authorization: Bearer <token> with a token from the tokens file');
    }
  }
  const pollMs = o.pollMs ?? 250;
  const run = state.run(runId);
  if (!run) return plain(reply, 404, `unknown job run ${runId}`);
  if (run.state !== 'Pending') {
    if (!run.logPath) return plain(reply, 404, `no log was recorded for job run ${runId}${run.reason ? ` (${run.reason})` : ''}`);
    if ((await fileSize(run.logPath)) === null) return plain(reply, 404, `the log of job run ${runId} is no longer available`);
  }

  const out = new PassThrough();
  let closed = false;
  let timer: NodeJS.Timeout | null = null;
  const stop = () => {
    closed = true;
    if (timer) clearTimeout(timer);
  };
  reply.raw.on('close', stop);
  out.on('close', stop);

  let pos = 0;
  const buf = Buffer.allocUnsafe(CHUNK);
  // copies what the file holds beyond `pos`; waits for the client when its buffer is full
  const drainFile = async (path: string): Promise<void> => {
    const size = await fileSize(path);
    if (size === null || size <= pos) return;
    const fh = await open(path, 'r');
    try {
      while (!closed && pos < size) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, size - pos), pos);
        if (bytesRead <= 0) break;
        pos += bytesRead;
        if (!out.write(Buffer.from(buf.subarray(0, bytesRead)))) await new Promise<void>((r) => out.once('drain', () => r()).once('close', () => r()));
      }
    } finally {
      await fh.close();
    }
  };

  const tick = async (): Promise<void> => {
    if (closed) return;
    const cur = state.run(runId);
    const path = cur?.logPath || run.logPath;
    try {
      if (path) await drainFile(path);
      if (!cur || cur.state !== 'Pending') {
        // the run finished: copy what was written last, then end the response
        if (path) await drainFile(path);
        out.end();
        return;
      }
    } catch (e) {
      out.end(`\n[log unavailable: ${(e as Error).message}]\n`);
      return;
    }
    if (!closed) timer = setTimeout(() => void tick(), pollMs);
  };

  reply
    .code(200)
    .header('content-type', 'text/plain; charset=utf-8')
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'no-store')
    .header('x-accel-buffering', 'no');
  void tick();
  return reply.send(out);
}
