// Prometheus metrics (/metrics): payloads by phase and QE state, job runs by state, reconcile
// duration and HTTP latency. One registry per app so several apps can live in one process.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ConfigFileProblem } from '../controller/operations.ts';
import type { State } from '../controller/state.ts';

export interface Metrics {
  registry: Registry;
  reconcileDuration: Histogram<'stream'>;
  httpDuration: Histogram<'route' | 'method' | 'status'>;
  events: Counter<'type'>;
  bind(state: State): void;
  /** the source of release_controller_config_errors (files that failed to reload) */
  bindConfigProblems(problems: () => readonly Pick<ConfigFileProblem, 'kind' | 'file' | 'errors'>[]): void;
  /** the source of the response cache and live feed gauges */
  bindHttp(stats: () => HttpStats): void;
}

export interface HttpStats {
  cacheBytes: number;
  cacheEntries: number;
  feedConnections: number;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  let state: State | null = null;
  let configProblems: (() => readonly Pick<ConfigFileProblem, 'kind' | 'file' | 'errors'>[]) | null = null;
  let http: (() => HttpStats) | null = null;
  const httpGauge = (name: string, help: string, pick: (s: HttpStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        if (http) this.set(pick(http()));
      },
    });
  httpGauge('release_controller_http_cache_bytes', 'Bytes held by the API response cache (bounded)', (s) => s.cacheBytes);
  httpGauge('release_controller_http_cache_entries', 'Answers held by the API response cache', (s) => s.cacheEntries);
  httpGauge('release_controller_live_feed_connections', 'Live feeds (Server-Sent Events) open now (bounded)', (s) => s.feedConnections);
  new Gauge({
    name: 'release_controller_payloads',
    help: 'Payloads by stream, phase and QE state',
    labelNames: ['stream', 'phase', 'qe_phase'],
    registers: [registry],
    collect() {
      this.reset();
      if (!state) return;
      for (const s of state.streams()) {
        const counts = new Map<string, number>();
        for (const p of state.payloads(s.name)) {
          const k = `${p.phase}\u0000${p.qe.state}`;
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
        for (const [k, n] of counts) {
          const [phase, qe] = k.split('\u0000');
          this.set({ stream: s.name, phase, qe_phase: qe }, n);
        }
      }
    },
  });
  new Gauge({
    name: 'release_controller_job_runs',
    help: 'Job runs held in memory by state (runs of settled payloads are counted once loaded)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      if (!state) return;
      const counts: Record<string, number> = { Pending: 0, Succeeded: 0, Failed: 0, Aborted: 0 };
      for (const r of state.allRuns()) counts[r.state] = (counts[r.state] ?? 0) + 1;
      for (const [k, n] of Object.entries(counts)) this.set({ state: k }, n);
    },
  });
  new Gauge({
    name: 'release_controller_config_errors',
    help: 'Errors of a config, jobs or tokens file that failed to (re)load (its last good version keeps running); absent once fixed',
    labelNames: ['file', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of configProblems?.() ?? []) this.inc({ file: p.file, kind: p.kind }, Math.max(1, p.errors.length));
    },
  });
  const reconcileDuration = new Histogram({
    name: 'release_controller_reconcile_duration_seconds',
    help: 'Duration of one reconcile pass of a stream',
    labelNames: ['stream'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'release_controller_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  const events = new Counter({ name: 'release_controller_events_total', help: 'Audit events appended, by type', labelNames: ['type'], registers: [registry] });
  return {
    registry,
    reconcileDuration,
    httpDuration,
    events,
    bind(s: State) {
      state = s;
    },
    bindConfigProblems(fn) {
      configProblems = fn;
    },
    bindHttp(fn) {
      http = fn;
    },
  };
}
