// Reads a live event feed (`/api/v1/events`, text/event-stream) with fetch and hands each event to
// `on`, until the feed ends or `signal` aborts. Used by the replica tests and the replica benchmark.

export interface FeedEvent {
  id: number | null;
  type: string;
  /** the event's JSON data, parsed (null when the block had none) */
  data: unknown;
}

/** resolves with the HTTP status once the feed answered; `done` settles when it ends (errors swallowed) */
export async function readFeed(url: string, signal: AbortSignal, on: (e: FeedEvent) => void): Promise<{ status: number; done: Promise<void> }> {
  const r = await fetch(url, { signal });
  const done = (async () => {
    if (!r.body) return;
    const dec = new TextDecoder();
    let buf = '';
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const id = /^id: (\d+)$/m.exec(block)?.[1];
        const type = /^event: (.+)$/m.exec(block)?.[1];
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (type) on({ id: id === undefined ? null : Number(id), type, data: data === undefined ? null : JSON.parse(data) });
      }
    }
  })().catch(() => undefined);
  return { status: r.status, done };
}
