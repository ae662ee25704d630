// Go duration syntax (`336h`, `1h30m`, `90s`, `1.5h`, `-2m`): units ns, us/µs, ms, s, m, h; no `d`.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

export class DurationError extends Error {}

/** Parses a Go duration string into milliseconds. Throws DurationError with Go-like messages. */
export function parseDuration(input: string): number {
  const orig = input;
  let s = input;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new DurationError(`time: invalid duration "${orig}"`);
  let total = 0;
  const re = /^([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m || m[1] === '' || m[1] === '.') {
      if (/^[0-9.]+$/.test(s)) throw new DurationError(`time: missing unit in duration "${orig}"`);
      const unit = /^[0-9.]*([^0-9.]*)/.exec(s)?.[1] ?? '';
      if (/^[0-9.]/.test(s) && unit) throw new DurationError(`time: unknown unit "${unit.replace(/[0-9.].*$/, '')}" in duration "${orig}"`);
      throw new DurationError(`time: invalid duration "${orig}"`);
    }
    total += parseFloat(m[1]) * UNIT_MS[m[2]];
    s = s.slice(m[0].length);
  }
  return sign * total;
}

/** Returns the parse error message, or null when the string is a valid Go duration. */
export function durationError(input: string): string | null {
  try {
    parseDuration(input);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Formats milliseconds like Go's Duration.String() (whole seconds and above): `1h2m3s`, `4m0s`, `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  if (rest < 1000) return `${neg ? '-' : ''}${Math.round(rest)}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const sec = rest / 1000;
  const secStr = Number.isInteger(sec) ? String(sec) : String(Math.round(sec * 1000) / 1000);
  let out = '';
  if (h > 0) out += `${h}h`;
  if (h > 0 || m > 0) out += `${m}m`;
  out += `${secStr}s`;
  return (neg ? '-' : '') + out;
}
