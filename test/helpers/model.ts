// Pieces of the model-based test (test/integration/model.test.ts): a seeded PRNG, an in-process
// job system that outlives controller instances (so crashes and restarts can be simulated), the
// JobExecutor each controller instance talks to, and a deterministic payload builder.
import { createHash } from 'node:crypto';
import { rfc3339 } from '../../src/domain/tagname.ts';
import type { JobRun, JobRunState } from '../../src/domain/types.ts';
import type { BuildRequest, BuildResult, PayloadBuilder } from '../../src/ports/builder.ts';
import type { JobExecutor, JobSpec, JobStatus, JobStatusListener } from '../../src/ports/executor.ts';
import { mulberry32 } from '../../src/domain/random.ts';

/** seeded helpers over mulberry32 (src/domain/random.ts): small, fast, deterministic */
export function rng(seed: number) {
  const next = mulberry32(seed);
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
    chance: (p: number) => next() < p,
    /** picks a key of `weights` with probability proportional to its weight */
    weighted: <K extends string>(weights: Record<K, number>): K => {
      const entries = Object.entries(weights) as [K, number][];
      let x = next() * entries.reduce((s, [, w]) => s + w, 0);
      for (const [k, w] of entries) {
        x -= w;
        if (x < 0) return k;
      }
      return entries[entries.length - 1][0];
    },
  };
}
export type Rng = ReturnType<typeof rng>;

export interface LaunchRecord {
  spec: JobSpec;
  /** model step and executor instance that received the launch */
  step: number;
  instance: number;
}

/**
 * The job system the executors of successive controller instances share: what is running, what
 * every run ended with, and every launch it was ever handed. It survives a controller crash the
 * way a Prow cluster (or detached local processes) would.
 */
export class JobWorld {
  /** runId → the launches that reached the job system (more than one is a violation) */
  readonly launches = new Map<string, LaunchRecord[]>();
  /** running jobs, by runId, with when they started */
  readonly running = new Map<string, { spec: JobSpec; startedAt: string }>();
  /** how each run ended, as the job system knows it */
  readonly ended = new Map<string, JobStatus>();
  readonly violations: string[] = [];
  step = 0;
  private instances = 0;

  constructor(readonly clock: () => Date) {}

  nextInstance(): number {
    return ++this.instances;
  }

  status(runId: string, state: JobRunState, reason = ''): JobStatus {
    const at = rfc3339(this.clock());
    return {
      runId, state, reason, url: `https://prow.example/view/${runId}`, logPath: '',
      startedAt: this.running.get(runId)?.startedAt ?? null, finishedAt: state === 'Pending' ? null : at,
    };
  }

  /** a job ends without any controller watching (while the controller is down) */
  endUnwatched(runId: string, state: JobRunState, reason = ''): void {
    if (!this.running.has(runId)) return;
    const st = this.status(runId, state, reason);
    this.running.delete(runId);
    this.ended.set(runId, st);
  }

  /**
   * The crash happened after the controller recorded `runId` but before the launch reached the
   * job system: the launch is forgotten, so the next controller's adopt() says 'unknown'.
   */
  undeliver(runId: string): void {
    this.running.delete(runId);
    this.ended.delete(runId);
    this.launches.delete(runId);
  }
}

/**
 * The JobExecutor of one controller instance. Launches, cancels and results go to the shared
 * JobWorld; statuses are reported synchronously to the controller's listener. A crashed
 * instance is `detach()`ed: it reports nothing more and refuses further launches.
 */
export class FakeExecutor implements JobExecutor {
  readonly instance: number;
  private listeners: JobStatusListener[] = [];
  private dead = false;

  constructor(
    readonly world: JobWorld,
    /** clean stop: let running jobs go (the next controller adopts them) or stop them (Interrupted "Shutdown") */
    readonly onShutdown: 'detach' | 'stop',
    /** the controller's recorded run, to check record-then-launch and the launch environment */
    private readonly recorded: (runId: string) => JobRun | undefined,
  ) {
    this.instance = world.nextInstance();
  }

  detach(): void {
    this.dead = true;
    this.listeners = [];
  }

  get detached(): boolean {
    return this.dead;
  }

  async launch(spec: JobSpec): Promise<JobStatus> {
    if (this.dead) throw new Error(`executor ${this.instance} is detached (its controller crashed or stopped)`);
    const w = this.world;
    const prev = w.launches.get(spec.runId);
    if (prev?.length) {
      w.violations.push(`run ${spec.runId} launched twice (first at step ${prev[0].step} by executor ${prev[0].instance}, again at step ${w.step} by executor ${this.instance})`);
      prev.push({ spec, step: w.step, instance: this.instance });
      // idempotent on runId, as the port requires: never start it a second time
      return w.ended.get(spec.runId) ?? w.status(spec.runId, 'Pending');
    }
    w.launches.set(spec.runId, [{ spec, step: w.step, instance: this.instance }]);
    const run = this.recorded(spec.runId);
    if (!run) w.violations.push(`run ${spec.runId} launched before it was recorded`);
    else {
      if (run.state !== 'Pending') w.violations.push(`run ${spec.runId} launched while recorded as ${run.state}`);
      if (JSON.stringify(sortKeys(run.env ?? {})) !== JSON.stringify(sortKeys(spec.env))) {
        w.violations.push(`run ${spec.runId} launched with env ${JSON.stringify(spec.env)}, recorded ${JSON.stringify(run.env ?? {})}`);
      }
      if (run.kind === 'aggregator' && !spec.env.ANALYSIS_JOB_COUNT) w.violations.push(`aggregator run ${spec.runId} launched without ANALYSIS_JOB_COUNT`);
    }
    w.running.set(spec.runId, { spec, startedAt: rfc3339(w.clock()) });
    return w.status(spec.runId, 'Pending');
  }

  async adopt(runId: string): Promise<JobStatus | 'unknown'> {
    if (this.dead) throw new Error(`executor ${this.instance} is detached`);
    const w = this.world;
    if (w.running.has(runId)) return w.status(runId, 'Pending');
    const ended = w.ended.get(runId);
    if (ended) return ended;
    return 'unknown';
  }

  async cancel(runId: string, reason: string): Promise<void> {
    if (this.dead) return;
    if (!this.world.running.has(runId)) return;
    this.finish(runId, 'Aborted', reason || 'Aborted');
  }

  onStatus(listener: JobStatusListener): void {
    if (!this.dead) this.listeners.push(listener);
  }

  async shutdown(): Promise<void> {
    if (this.dead) return;
    if (this.onShutdown === 'stop') for (const id of [...this.world.running.keys()]) this.finish(id, 'Interrupted', 'Shutdown');
    this.detach();
  }

  /** a running job ends (the model decides how); reported to the controller at once */
  finish(runId: string, state: JobRunState, reason = ''): boolean {
    const w = this.world;
    if (!w.running.has(runId)) return false;
    const st = w.status(runId, state, reason);
    w.running.delete(runId);
    w.ended.set(runId, st);
    for (const l of this.listeners) l(st);
    return true;
  }
}

function sortKeys(o: Record<string, string>): [string, string][] {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A deterministic in-process builder (the real LocalBuilder writes files asynchronously, so two
 * streams' builds could finish in either order; this one resolves in a fixed order). A component
 * whose pull spec contains "invalid" fails the build, as LocalBuilder's pull-spec check would.
 */
export class FakeBuilder implements PayloadBuilder {
  builds = 0;
  async build(req: BuildRequest): Promise<BuildResult> {
    this.builds++;
    const bad = Object.entries(req.components).filter(([, c]) => c.pullSpec.includes('invalid')).map(([n]) => n);
    if (Object.keys(req.components).length === 0) return { ok: false, reason: 'CreateReleaseFailed', message: 'the input stream has no components' };
    if (bad.length) return { ok: false, reason: 'CreateReleaseFailed', message: `invalid pull spec for ${bad.sort().join(', ')}` };
    const digest = createHash('sha256').update(JSON.stringify({ tag: req.tag, components: req.components })).digest('hex');
    return { ok: true, pullSpec: `${req.repository}:${req.tag}`, digest: `sha256:${digest}` };
  }
}
