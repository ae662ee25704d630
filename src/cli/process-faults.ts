// Process-level handlers for `serve`: an unhandled rejection or uncaught exception is logged; the
// process exits (non-zero, for a supervisor to restart it) only for a bug — a TypeError,
// ReferenceError, RangeError, SyntaxError or failed assertion — never for an I/O fault (a lost
// database connection, a full disk), which the controller retries.
import { describeError, isProgrammingError } from '../controller/faults.ts';

export interface FaultLogger {
  error(obj: object, msg: string): void;
  fatal?(obj: object, msg: string): void;
  flush?(): void;
}

/** exit code of a process stopped by a programming error */
export const BUG_EXIT_CODE = 1; // as Node itself exits on an uncaught exception

/** Installs the handlers; returns a function that removes them. */
export function installProcessFaultHandlers(log: FaultLogger, exit: (code: number) => void = (c) => process.exit(c)): () => void {
  const handle = (what: string) => (err: unknown) => {
    if (isProgrammingError(err)) {
      (log.fatal ?? log.error).call(log, { err }, `${what}: ${describeError(err)} — a bug, exiting`);
      log.flush?.();
      exit(BUG_EXIT_CODE);
      return;
    }
    log.error({ err }, `${what}: ${describeError(err)} (not a programming error: kept running)`);
  };
  const onRejection = handle('unhandled promise rejection');
  const onException = handle('uncaught exception');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
