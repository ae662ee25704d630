import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedSender, formatSse, type SseSink } from '../../src/http/api/events.ts';

/** A sink whose client reads nothing (bytes pile up) or everything (`draining`). */
class FakeSink implements SseSink {
  writableLength = 0;
  destroyed = false;
  chunks: string[] = [];
  constructor(private readonly draining = false) {}
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    if (!this.draining) this.writableLength += Buffer.byteLength(chunk);
    return this.draining;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

test('BoundedSender: a client that does not read is dropped once its buffer would pass the limit', () => {
  const sink = new FakeSink();
  const s = new BoundedSender(sink, 1000);
  const chunk = 'x'.repeat(300);
  assert.equal(s.send(chunk), true);
  assert.equal(s.send(chunk), true);
  assert.equal(s.send(chunk), true);
  assert.equal(sink.writableLength, 900);
  assert.equal(s.send(chunk), false, '1200 > 1000: refused');
  assert.equal(sink.destroyed, true);
  assert.equal(s.closed, true);
  assert.equal(s.send('y'), false, 'nothing more after close');
  assert.equal(sink.chunks.length, 3, 'the refused chunk was never buffered');
});

test('BoundedSender: counts bytes, not characters', () => {
  const sink = new FakeSink();
  const s = new BoundedSender(sink, 10);
  assert.equal(s.send('ééééé'), true); // 10 bytes
  assert.equal(s.send('é'), false);
});

test('BoundedSender: a client that keeps up is never dropped', () => {
  const sink = new FakeSink(true);
  const s = new BoundedSender(sink, 1000);
  for (let i = 0; i < 10_000; i++) assert.equal(s.send('x'.repeat(500)), true);
  assert.equal(sink.destroyed, false);
});

test('BoundedSender: close() is idempotent', () => {
  const sink = new FakeSink();
  const s = new BoundedSender(sink);
  s.close();
  s.close();
  assert.equal(sink.destroyed, true);
});

test('formatSse: id, event, one-line data with the whole record', () => {
  const e = { id: 7, at: '2024-05-01T00:00:00Z', stream: 's', tag: 't', type: 'PhaseChanged', actor: 'controller', message: 'a\nb', data: { phase: 'Accepted', previous: 'Ready' } };
  const text = formatSse(e);
  assert.equal(text, `id: 7\nevent: PhaseChanged\ndata: ${JSON.stringify(e)}\n\n`);
  assert.equal(text.split('\n').length, 5, 'a newline in the message stays escaped inside data');
});

/** A sink whose client reads `perCheck` bytes between two checks. */
class SlowSink implements SseSink {
  writableLength = 0;
  destroyed = false;
  write(chunk: string): boolean {
    this.writableLength += Buffer.byteLength(chunk);
    return false;
  }
  read(n: number): void {
    this.writableLength = Math.max(0, this.writableLength - n);
  }
  destroy(): void {
    this.destroyed = true;
  }
}

test('BoundedSender.checkStalled: dropped when bytes waited at two checks and none left in between', () => {
  const sink = new SlowSink();
  const s = new BoundedSender(sink, 1 << 20);
  assert.equal(s.checkStalled(), false, 'nothing waiting');
  s.send('x'.repeat(100));
  assert.equal(s.checkStalled(), false, 'first check with bytes waiting: not yet');
  s.send('x'.repeat(10));
  assert.equal(s.checkStalled(), true, 'more was queued but nothing was taken');
  assert.equal(sink.destroyed, true);
  assert.equal(s.send('y'), false);
});

test('BoundedSender.checkStalled: a slow client that keeps reading, or one that caught up, stays', () => {
  const sink = new SlowSink();
  const s = new BoundedSender(sink, 1 << 20);
  for (let i = 0; i < 100; i++) {
    s.send('x'.repeat(500));
    assert.equal(s.checkStalled(), false, `check ${i}`);
    sink.read(100); // far slower than the sender, but moving
  }
  sink.read(1 << 30);
  assert.equal(s.checkStalled(), false);
  assert.equal(s.checkStalled(), false, 'idle with nothing waiting');
  assert.equal(sink.destroyed, false);
});
