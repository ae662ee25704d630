// Console render benchmark: one stream of 2,000 payloads (~40 job runs each) plus a few small
// streams, rendered through Fastify's inject (the full route: parsing, rendering, headers).
// Prints p50/p99 per page; `runConsoleBench()` returns the same figures for bench/run.ts.
//   node --import tsx bench/console-render.ts [--quick]
import { performance } from 'node:perf_hooks';
import Fastify from 'fastify';
import { State } from '../src/controller/state.ts';
import type { Operations } from '../src/controller/operations.ts';
import type { EventRecord } from '../src/domain/types.ts';
import { createPages } from '../src/http/pages/index.ts';
import { sampleSnapshot, SAMPLE_NOW } from '../src/http/pages/sample.ts';

export interface Figure {
  p50: number;
  p99: number;
  /** response size in bytes */
  bytes: number;
  renders: number;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function runConsoleBench(o: { quick?: boolean; payloads?: number } = {}): Promise<Record<string, Figure>> {
  const renders = o.quick ? 200 : 1000;
  const payloads = o.payloads ?? 2000;
  const snapshot = sampleSnapshot({ payloads, spacingMinutes: 20 });
  const state = State.fromSnapshot(snapshot);
  const stream = '4.18.0-0.nightly';
  const list = state.payloads(stream);
  const runs = list.reduce((n, p) => n + state.runs(stream, p.tag).length, 0);
  if (process.env.CONSOLE_BENCH_VERBOSE) console.error(`console bench: ${list.length} payloads, ${runs} runs in ${stream}, ${renders} renders per page`);
  const tag = list.find((p) => p.phase === 'Accepted' && p.qe.state === 'QERejected')?.tag ?? list[2].tag;
  const events: EventRecord[] = Array.from({ length: 60 }, (_, i) => ({
    id: i + 1, at: new Date(SAMPLE_NOW - (60 - i) * 60_000).toISOString().replace(/\.\d+Z$/, 'Z'), stream, tag, type: i % 2 ? 'JobStateChanged' : 'JobLaunched',
    actor: 'controller', message: `blocking job aws-ovn attempt ${i} launched`, data: {},
  }));
  const ops = {
    state,
    listEvents: async () => events,
    subscribe: () => () => undefined,
  } as unknown as Operations;
  const app = Fastify();
  await app.register(createPages(ops, { now: () => SAMPLE_NOW, artifactsUrl: 'https://artifacts.example.com' }));
  await app.ready();

  const cases: [string, string, boolean][] = [
    ['stream page (first page)', `/releasestream/${stream}`, false],
    ['stream page, state changed before each render', `/releasestream/${stream}`, true],
    ['stream page filtered (phase+qe, page 3)', `/releasestream/${stream}?phase=Accepted&qe=QEAccepted&page=3`, false],
    ['stream page filtered, state changed', `/releasestream/${stream}?phase=Accepted&qe=QEAccepted&page=3`, true],
    ['overview', '/', false],
    ['overview, state changed before each render', '/', true],
    ['release page', `/releasestream/${stream}/release/${tag}`, false],
    ['release page, state changed before each render', `/releasestream/${stream}/release/${tag}`, true],
  ];
  const out: Record<string, Figure> = {};
  for (const [name, url, bump] of cases) {
    for (let i = 0; i < 20; i++) await app.inject(url);
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < renders; i++) {
      if (bump) state.apply([]); // a new state version: per-version caches start empty
      const t0 = performance.now();
      const r = await app.inject(url);
      times.push(performance.now() - t0);
      if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode}`);
      bytes = r.body.length;
    }
    times.sort((a, b) => a - b);
    out[name] = { p50: pct(times, 50), p99: pct(times, 99), bytes, renders };
  }
  await app.close();
  return out;
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const quick = process.argv.includes('--quick');
  process.env.CONSOLE_BENCH_VERBOSE = '1';
  const r = await runConsoleBench({ quick });
  const w = Math.max(...Object.keys(r).map((k) => k.length));
  console.log(`${'page'.padEnd(w)}  ${'p50'.padStart(8)}  ${'p99'.padStart(8)}  ${'size'.padStart(8)}  renders  target p50 < 30 ms`);
  for (const [k, v] of Object.entries(r)) {
    console.log(`${k.padEnd(w)}  ${v.p50.toFixed(2).padStart(5)} ms  ${v.p99.toFixed(2).padStart(5)} ms  ${(v.bytes / 1024).toFixed(0).padStart(5)} KiB  ${String(v.renders).padStart(7)}  ${v.p50 < 30 ? 'ok' : 'MISSED'}`);
  }
}
