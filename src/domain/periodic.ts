// Periodic jobs (upstream-behavior.md §5.1): when the next run of a periodic entry is due. Pure.
import { CronExpressionParser } from 'cron-parser';
import type { ReleasePeriodic } from './config/schema.ts';
import { parseDuration } from './duration.ts';
import type { JobRun } from './types.ts';

const DESCRIPTORS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

/** The first time strictly after `after` that a cron spec fires (UTC), or null if it never does. */
export function nextCronFire(spec: string, after: Date): Date | null {
  const s = spec.trim();
  if (s.startsWith('@every ')) {
    const ms = parseDuration(s.slice('@every '.length).trim());
    return ms > 0 ? new Date(after.getTime() + ms) : null;
  }
  const expr = DESCRIPTORS[s] ?? s;
  const it = CronExpressionParser.parse(expr, { currentDate: after, tz: 'UTC' });
  return it.next().toDate();
}

export interface PeriodicDecision {
  due: boolean;
  /** when to look again, ms from now (null: nothing scheduled) */
  retryAfterMs: number | null;
}

/**
 * Whether a periodic entry should launch now. `last` is its most recent run (periodic runs only —
 * DESIGN §13 item 16). Interval: previous run finished and started more than `interval` ago.
 * Cron: the schedule fired since the previous run (or, with no previous run, `@every` fires at once
 * and other specs at their next time after `since`), and the previous run is complete.
 */
export function periodicDue(p: ReleasePeriodic, last: JobRun | undefined, since: Date, now: Date): PeriodicDecision {
  if (last && last.state === 'Pending') return { due: false, retryAfterMs: null };
  const lastStart = last ? Date.parse(last.startedAt ?? last.createdAt) : NaN;
  if (p.interval) {
    if (!last) return { due: true, retryAfterMs: null };
    const wait = lastStart + parseDuration(p.interval) - now.getTime();
    return wait <= 0 ? { due: true, retryAfterMs: null } : { due: false, retryAfterMs: wait };
  }
  if (p.cron) {
    if (!last && p.cron.trim().startsWith('@every ')) return { due: true, retryAfterMs: null };
    const base = last ? new Date(lastStart) : since;
    const next = nextCronFire(p.cron, base);
    if (!next) return { due: false, retryAfterMs: null };
    const wait = next.getTime() - now.getTime();
    return wait <= 0 ? { due: true, retryAfterMs: null } : { due: false, retryAfterMs: wait };
  }
  return { due: false, retryAfterMs: null };
}
