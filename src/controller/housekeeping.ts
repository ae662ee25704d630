// Periodic housekeeping that keeps disk and rows bounded (issue 13): at start and then every hour,
// events of deleted payloads past the retention are pruned, and files left behind by a crash
// between a garbage-collection commit and its clean-up (manifest directories, run directories)
// are removed. The clean-up after each deletion itself happens in the controller right after the
// commit; this is the safety net.
import { parseDuration } from '../domain/duration.ts';
import { rfc3339 } from '../domain/tagname.ts';
import type { PayloadBuilder } from '../ports/builder.ts';
import { systemClock, type Clock } from '../ports/clock.ts';
import type { JobExecutor } from '../ports/executor.ts';
import type { Store } from '../ports/store.ts';
import type { Logger } from './controller.ts';

export const DEFAULT_EVENT_RETENTION = '90d';
export const HOUSEKEEPING_INTERVAL_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * `--event-retention`: a Go duration (`2160h`, `36h30m`) or whole or decimal days (`90d`, `1.5d`,
 * also `7d12h`); `0` keeps events forever. Throws with a message naming the accepted forms.
 */
export function parseRetention(text: string): number {
  const s = text.trim();
  const bad = (why: string) => new Error(`invalid retention "${text}": ${why} (use e.g. 90d, 2160h or 0 to keep events forever)`);
  let ms: number;
  try {
    const days = /^(\d+(?:\.\d+)?)d((?:\d.*)?)$/.exec(s);
    ms = days ? Number(days[1]) * DAY_MS + (days[2] ? parseDuration(days[2]) : 0) : parseDuration(s);
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (!Number.isFinite(ms) || ms < 0) throw bad('must not be negative');
  return ms;
}

export interface HousekeepingOptions {
  store: Store;
  executor: JobExecutor;
  builder: PayloadBuilder;
  /** whether a payload with this tag exists in any stream (asked after the files are listed) */
  isLiveTag: (tag: string) => boolean;
  /** events of a deleted payload are kept this long after its last event (ms); 0 keeps them forever */
  eventRetentionMs: number;
  /** time between passes (default 1 h) */
  intervalMs?: number;
  clock?: Clock;
  log?: Logger;
}

export interface HousekeepingReport {
  prunedEvents: number;
  /** tags whose manifest directories were removed */
  removedManifests: string[];
  /** run ids whose run directories the executor was asked to forget */
  forgottenRuns: string[];
}

export class Housekeeper {
  private handle: NodeJS.Timeout | null = null;
  private running: Promise<HousekeepingReport> | null = null;
  private readonly clock: Clock;
  private stopped = false;

  constructor(private readonly o: HousekeepingOptions) {
    this.clock = o.clock ?? systemClock;
  }

  /** One pass now, then one per interval. Resolves after the first pass (never rejects: failures are logged). */
  async start(): Promise<HousekeepingReport> {
    const first = await this.runOnce();
    if (!this.stopped && !this.handle) {
      this.handle = setInterval(() => void this.runOnce(), this.o.intervalMs ?? HOUSEKEEPING_INTERVAL_MS);
      this.handle.unref();
    }
    return first;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.handle) clearInterval(this.handle);
    this.handle = null;
    await this.running;
  }

  /** One pass (a pass already running is joined, not doubled). Never throws: failures are logged. */
  runOnce(): Promise<HousekeepingReport> {
    return (this.running ??= this.pass().finally(() => (this.running = null)));
  }

  private async pass(): Promise<HousekeepingReport> {
    const report: HousekeepingReport = { prunedEvents: 0, removedManifests: [], forgottenRuns: [] };
    const { store, executor, builder, log } = this.o;
    if (this.o.eventRetentionMs > 0) {
      const before = rfc3339(new Date(this.clock.now().getTime() - this.o.eventRetentionMs));
      try {
        report.prunedEvents = await store.pruneEvents(before);
        if (report.prunedEvents) log?.info({ events: report.prunedEvents, before }, `pruned ${report.prunedEvents} events of deleted payloads older than the retention`);
      } catch (e) {
        log?.warn({ err: e }, 'pruning old events failed; the next pass retries');
      }
    }
    if (builder.sweep) {
      try {
        report.removedManifests = await builder.sweep(this.o.isLiveTag);
        if (report.removedManifests.length) log?.info({ tags: report.removedManifests.length }, `removed ${report.removedManifests.length} manifest directories of deleted payloads`);
      } catch (e) {
        log?.warn({ err: e }, 'sweeping manifest directories failed; the next pass retries');
      }
    }
    if (executor.listRunIds && executor.forget) {
      try {
        // the executor's list first: a run is recorded before its directory exists, so a directory
        // listed here whose run the store does not have afterwards belongs to a deleted run
        const dirs = executor.listRunIds();
        if (dirs.length) {
          const known = new Set(await store.listRunIds());
          report.forgottenRuns = dirs.filter((id) => !known.has(id));
          if (report.forgottenRuns.length) {
            await executor.forget(report.forgottenRuns);
            log?.info({ runs: report.forgottenRuns.length }, `removed ${report.forgottenRuns.length} run directories of deleted runs`);
          }
        }
      } catch (e) {
        log?.warn({ err: e }, 'sweeping run directories failed; the next pass retries');
      }
    }
    return report;
  }
}
