// Prometheus metrics (/metrics): payloads by phase and QE state, job runs by state, reconcile
// duration and HTTP latency, job durations and verdict latencies (observed from the controller's
// events), and prom-client's default process and Node.js metrics. One registry per app so several
// apps can live in one process.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EventRecord } from '../domain/types.ts';
import type { ConfigFileProblem } from '../controller/operations.ts';
import type { State } from '../controller/state.ts';

export interface Metrics {
  registry: Registry;
  reconcileDuration: Histogram<'stream'>;
  httpDuration: Histogram<'route' | 'method' | 'status'>;
  events: Counter<'type'>;
  jobDuration: Histogram<'stream' | 'kind' | 'state'>;
  verdictLatency: Histogram<'stream' | 'kind' | 'verdict'>;
  bind(state: State): void;
  /**
   * Observes what an appended event finished: a job run's duration (JobStateChanged to a result) and
   * a payload's verdict latency (PhaseChanged to Accepted/Rejected, QEStateChanged to
   * QEAccepted/QERejected, decided by the controller). Call it after the view holds the event's changes.
   */
  observeEvent(e: EventRecord): void;
  /** the source of release_controller_config_errors (files that failed to reload) */
  bindConfigProblems(problems: () => readonly Pick<ConfigFileProblem, 'kind' | 'file' | 'errors'>[]): void;
  /** the source of the response cache and live feed gauges */
  bindHttp(stats: () => HttpStats): void;
  /** the source of the notification gauges (adapters/notify Deliverer) */
  bindNotifications(stats: NotificationStats): void;
  /**
   * `--executor prow|kubernetes`: registers release_controller_kubernetes_api_up (1/0),
   * …_unreachable_since_seconds (Unix time of the first failed attempt, 0 while up) and …_retries
   * (failed attempts since then) from the executor's apiOutage(). Not registered for the local executor.
   */
  bindKubernetesApi(outage: () => { since: string; retries: number } | null): void;
  /** the source of release_controller_leader and release_controller_view_lag_seconds (issue 17) */
  bindReplica(stats: () => ReplicaStats): void;
}

export interface ReplicaStats {
  /** this process leads (a single process without replication always does) */
  leader: boolean;
  /** how far this process's view is behind the store, in seconds (0 on the leader) */
  lagSeconds: number;
}

export interface NotificationStats {
  /** deliveries recorded (kept 30 days once finished) by webhook and state */
  stats(): readonly { webhook: string; state: string; count: number }[];
  /** HTTP attempts since start by webhook and outcome (ok, retry, permanent) */
  attemptStats(): readonly { webhook: string; outcome: string; count: number }[];
}

export interface HttpStats {
  cacheBytes: number;
  cacheEntries: number;
  feedConnections: number;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  let kubeBound = false;
  collectDefaultMetrics({ register: registry });
  let state: State | null = null;
  let configProblems: (() => readonly Pick<ConfigFileProblem, 'kind' | 'file' | 'errors'>[]) | null = null;
  let http: (() => HttpStats) | null = null;
  let replica: (() => ReplicaStats) | null = null;
  new Gauge({
    name: 'release_controller_leader',
    help: 'Whether this replica leads (reconciles, launches jobs, builds): 1 or 0',
    registers: [registry],
    collect() {
      this.set(replica ? (replica().leader ? 1 : 0) : 1);
    },
  });
  new Gauge({
    name: 'release_controller_view_lag_seconds',
    help: "How far this replica's view is behind the store: how long the last notified change waited to be applied (0 on the leader)",
    registers: [registry],
    collect() {
      this.set(replica ? replica().lagSeconds : 0);
    },
  });
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
  let notifications: NotificationStats | null = null;
  new Gauge({
    name: 'release_controller_notifications',
    help: 'Notification deliveries by webhook and state (pending, delivered, failed, dropped); finished ones are kept 30 days',
    labelNames: ['webhook', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of notifications?.stats() ?? []) this.set({ webhook: s.webhook, state: s.state }, s.count);
    },
  });
  new Gauge({
    name: 'release_controller_notification_attempts',
    help: 'HTTP attempts to deliver notifications since the process started, by webhook and outcome (ok, retry, permanent)',
    labelNames: ['webhook', 'outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of notifications?.attemptStats() ?? []) this.set({ webhook: s.webhook, outcome: s.outcome }, s.count);
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
  const MINUTE = 60;
  const HOUR = 3600;
  const jobDuration = new Histogram({
    name: 'release_controller_job_duration_seconds',
    help: 'Duration of finished job runs (start to end), by stream, kind (blocking, informing, upgrade, qe, analysis, aggregator, periodic) and result (interrupted runs are not results and are not observed)',
    labelNames: ['stream', 'kind', 'state'],
    buckets: [1, 10, 30, MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 24 * HOUR],
    registers: [registry],
  });
  const verdictLatency = new Histogram({
    name: 'release_controller_verdict_latency_seconds',
    help: "Time from a payload's creation to its verdict, by stream, kind (ci: Accepted/Rejected; qe: QEAccepted/QERejected) and verdict; verdicts the controller decided (overrides are not observed)",
    labelNames: ['stream', 'kind', 'verdict'],
    buckets: [10, MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 12 * HOUR, 24 * HOUR, 48 * HOUR],
    registers: [registry],
  });
  const seconds = (from: string | null | undefined, to: string | null | undefined): number | null => {
    const a = from ? Date.parse(from) : NaN;
    const b = to ? Date.parse(to) : NaN;
    return Number.isFinite(a) && Number.isFinite(b) && b >= a ? (b - a) / 1000 : null;
  };
  const RESULTS = new Set(['Succeeded', 'Failed', 'Aborted']);
  const observeEvent = (e: EventRecord): void => {
    if (!state) return;
    const d = e.data ?? {};
    if (e.type === 'JobStateChanged' && RESULTS.has(String(d.state))) {
      const run = state.run(String(d.runId));
      const s = run ? seconds(run.startedAt, run.finishedAt) : null;
      if (run && s !== null) jobDuration.observe({ stream: run.stream, kind: run.kind, state: run.state }, s);
      return;
    }
    // an override is a person's decision, not the time verification took
    if (e.actor !== 'controller') return;
    const verdict = e.type === 'PhaseChanged' ? String(d.phase) : e.type === 'QEStateChanged' ? String(d.qePhase) : '';
    const kind = verdict === 'Accepted' || verdict === 'Rejected' ? 'ci' : verdict === 'QEAccepted' || verdict === 'QERejected' ? 'qe' : '';
    if (!kind) return;
    const p = state.payload(e.stream, e.tag);
    const s = p ? seconds(p.createdAt, e.at) : null;
    if (s !== null) verdictLatency.observe({ stream: e.stream, kind, verdict }, s);
  };
  return {
    registry,
    reconcileDuration,
    httpDuration,
    events,
    jobDuration,
    verdictLatency,
    observeEvent,
    bind(s: State) {
      state = s;
    },
    bindConfigProblems(fn) {
      configProblems = fn;
    },
    bindHttp(fn) {
      http = fn;
    },
    bindNotifications(n) {
      notifications = n;
    },
    bindKubernetesApi(outage) {
      if (kubeBound) return;
      kubeBound = true;
      const gauge = (name: string, help: string, value: (o: { since: string; retries: number } | null) => number) =>
        new Gauge({
          name,
          help,
          registers: [registry],
          collect() {
            this.set(value(outage()));
          },
        });
      gauge('release_controller_kubernetes_api_up', 'Whether the Kubernetes API (ProwJobs or Jobs) answers: 1, or 0 while it is unreachable (runs stay Pending, none fails because of it)', (o) => (o ? 0 : 1));
      gauge('release_controller_kubernetes_api_unreachable_since_seconds', 'Unix time of the first failed Kubernetes API attempt of the current outage; 0 while the API answers', (o) => (o ? Date.parse(o.since) / 1000 : 0));
      gauge('release_controller_kubernetes_api_retries', 'Failed Kubernetes API attempts (calls, lists, watches) since the current outage began; 0 while the API answers', (o) => o?.retries ?? 0);
    },
    bindReplica(fn) {
      replica = fn;
    },
  };
}
