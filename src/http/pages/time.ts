// Time rendering as the upstream console does it (upstream-behavior.md §7: "Started" buckets),
// plus durations for job runs and QE deadlines.
import { h, type Safe } from './html.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const MONTH = 30 * DAY;
const YEAR = 12 * MONTH;

// [upper bound (exclusive), unit divisor, unit name]; integer division as go-humanize does.
const BUCKETS: [number, number, string][] = [
  [2 * MINUTE, SECOND, 'seconds'],
  [2 * HOUR, MINUTE, 'minutes'],
  [2 * DAY, HOUR, 'hours'],
  [3 * WEEK, DAY, 'days'],
  [3 * MONTH, WEEK, 'weeks'],
  [3 * YEAR, MONTH, 'months'],
];

/** "now", "N seconds ago" … "a long while ago"; "… from now" for future times. */
export function relativeTime(at: Date | string | number, now: Date | number): string {
  const a = at instanceof Date ? at.getTime() : typeof at === 'string' ? Date.parse(at) : at;
  const b = now instanceof Date ? now.getTime() : now;
  if (!Number.isFinite(a)) return 'unknown';
  const label = a > b ? 'from now' : 'ago';
  const diff = Math.abs(b - a);
  if (diff < SECOND) return 'now';
  for (const [bound, div, unit] of BUCKETS) if (diff < bound) return `${Math.floor(diff / div)} ${unit} ${label}`;
  return `a long while ${label}`;
}

/** RFC 3339 UTC with seconds, as stored. */
export function absoluteTime(at: string | Date): string {
  const d = at instanceof Date ? at : new Date(at);
  return Number.isFinite(d.getTime()) ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : String(at);
}

/** `<time datetime title>` with the relative text. */
export function timeCell(at: string | null | undefined, now: number): Safe {
  if (!at) return h`<span class="muted">—</span>`;
  const abs = absoluteTime(at);
  return h`<time datetime="${abs}" title="${abs}">${relativeTime(at, now)}</time>`;
}

/** Compact duration: 45s, 3m12s, 2h5m, 3d4h. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '';
  const neg = ms < 0;
  let s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const hr = Math.floor(s / 3600);
  s -= hr * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const out = d > 0 ? `${d}d${hr}h` : hr > 0 ? `${hr}h${m}m` : m > 0 ? `${m}m${s}s` : `${s}s`;
  return neg ? `-${out}` : out;
}
