// Release tag names and deterministic job run names (upstream §2.1, §4.4).
import { createHash } from 'node:crypto';

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** `<name>-YYYY-MM-DD-HHMMSS` in UTC, time truncated to whole seconds. */
export function releaseTagName(streamName: string, at: Date): string {
  return `${streamName}-${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}-${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
}

/** RFC 3339, UTC, second precision. */
export function rfc3339(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const ALPHABET = 'bcdfghijklmnpqrstvwxyz0123456789';

/** RFC 4648 base32 bit order over 4 bytes with upstream's alphabet, no padding (7 chars). */
function hash7(base: string): string {
  const bytes = createHash('sha256').update(base).digest().subarray(0, 4);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** Upstream's "safe name": base + suffix, shortened with a hash of the base to 63 characters. */
export function safeJobName(base: string, suffix = ''): string {
  if (suffix && !suffix.startsWith('-')) suffix = '-' + suffix;
  if (base.length + suffix.length <= 63) return base + suffix;
  const s = '-' + hash7(base) + suffix;
  let cut = base.slice(0, 63 - s.length);
  if (cut.endsWith('-')) cut = cut.slice(0, -1);
  if (cut.endsWith('.')) cut = cut.slice(0, -1);
  return cut + s;
}

/** Deterministic run name for a verify entry's attempt (retry n → `-n`). */
export function runName(tag: string, verifyName: string, attempt: number, extra = ''): string {
  const parts = [extra, attempt > 0 ? String(attempt) : ''].filter(Boolean).join('-');
  return safeJobName(`${tag}-${verifyName}`, parts);
}

/** Run name of an aggregated entry's aggregator (retry n → `-aggregator-n`). */
export function aggregatorRunName(tag: string, verifyName: string, attempt: number): string {
  return safeJobName(`${tag}-${verifyName}`, attempt > 0 ? `aggregator-${attempt}` : 'aggregator');
}
