// `/logs/:runId` — a job run's log as text/plain, followed while the run is Pending. Only paths the
// state records for a run are ever opened; nothing from the URL reaches the file system.
import { open, stat } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { State } from '../../controller/state.ts';

const CHUNK = 256 * 1024;

export interface LogOptions {
  /** how often the state and the file are polled while the run is Pending (ms) */
  pollMs?: number;
}

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
