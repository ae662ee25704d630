// Which errors are faults of the environment (a store or disk that is down, full or busy: retry
// later, never crash) and which are bugs (crash, so a supervisor restarts a known-good process).
// Pure: looks only at an error's class, `code` and message.

/** PostgreSQL SQLSTATE classes and codes that a retry can outlast (server restart, killed backend, overload) */
const PG_TRANSIENT_CLASSES = ['08', '53', '58']; // connection exception, insufficient resources, system error (I/O)
const PG_TRANSIENT_CODES = new Set([
  '57P01', // admin_shutdown (pg_terminate_backend, fast shutdown)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  '57P05', // idle_session_timeout
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '25006', // read_only_sql_transaction (a replica being promoted)
]);

/** SQLite primary result codes (better-sqlite3 reports extended ones, e.g. SQLITE_IOERR_WRITE) */
const SQLITE_TRANSIENT = ['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_CANTOPEN', 'SQLITE_PROTOCOL', 'SQLITE_NOMEM', 'SQLITE_READONLY_RECOVERY', 'SQLITE_READONLY_CANTLOCK'];

/** operating-system error codes of a network, disk or resource fault */
const SYSTEM_TRANSIENT = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN',
  'ENOTFOUND', 'EAI_AGAIN', 'ENOSPC', 'EDQUOT', 'EIO', 'EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'ENOMEM', 'EROFS',
]);

/** the pg driver's own connection errors carry no code */
const DRIVER_TRANSIENT_MESSAGES = [
  /^Connection terminated/, // unexpectedly / due to connection timeout
  /^Client has encountered a connection error and is not queryable/,
  /^timeout exceeded when trying to connect/,
  /^Query read timeout/,
];

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A store (or disk) fault that a later retry can outlast; false for bugs, constraint violations and bad data. */
export function isTransientStoreError(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 4) return false;
  const code = codeOf(err);
  if (code !== undefined) {
    if (/^[0-9A-Z]{5}$/.test(code) && (PG_TRANSIENT_CLASSES.includes(code.slice(0, 2)) || PG_TRANSIENT_CODES.has(code))) return true;
    if (SQLITE_TRANSIENT.some((c) => code === c || code.startsWith(`${c}_`))) return true;
    if (SYSTEM_TRANSIENT.has(code)) return true;
  }
  const message = (err as { message?: unknown }).message;
  if (typeof message === 'string' && DRIVER_TRANSIENT_MESSAGES.some((re) => re.test(message))) return true;
  // AggregateError (a connect to every address of a host failed) and wrapped causes
  const errors = (err as { errors?: unknown }).errors;
  const inner = [...(Array.isArray(errors) ? (errors as unknown[]) : []), (err as { cause?: unknown }).cause];
  return inner.some((e) => e !== undefined && isTransientStoreError(e, depth + 1));
}

/**
 * A bug in this program (a TypeError from a missing check, an assertion that failed): the process
 * should exit. I/O errors — anything with a system, SQLite or PostgreSQL `code` — never are, nor
 * is a rejection with a non-Error value.
 */
export function isProgrammingError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'AssertionError' || codeOf(err) === 'ERR_ASSERTION') return true;
  if (isTransientStoreError(err)) return false;
  return err instanceof TypeError || err instanceof ReferenceError || err instanceof RangeError || err instanceof SyntaxError;
}

/** one line for logs and /readyz: the message, plus the code when the message does not name it */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const inner = (err as { errors?: unknown }).errors;
  // AggregateError (every address of a host refused) has an empty message of its own
  if (!err.message && Array.isArray(inner) && inner.length > 0) return describeError(inner[0]);
  const code = codeOf(err);
  const msg = (err.message || err.name).replace(/\s+/g, ' ').trim();
  return code && !msg.includes(code) ? `${msg} (${code})` : msg;
}
