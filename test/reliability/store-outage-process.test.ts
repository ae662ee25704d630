// The process-level handlers `serve` installs, in a real child process: an I/O error that nobody
// caught (a lost connection, a full disk) is logged and the process keeps running; a programming
// error (TypeError, RangeError, …) is logged and the process exits non-zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const MODULE = new URL('../../src/cli/process-faults.ts', import.meta.url).href;

/** runs `body` after installing the handlers with a logger that prints `level: msg` lines */
function child(body: string): { code: number | null; out: string } {
  const script = `
import { installProcessFaultHandlers } from ${JSON.stringify(MODULE)};
const line = (level) => (_obj, msg) => process.stdout.write(level + ': ' + msg + '\\n');
installProcessFaultHandlers({ error: line('error'), fatal: line('fatal') });
${body}
`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

test('process handlers: uncaught I/O errors are logged and the process keeps running', () => {
  const r = child(`
Promise.reject(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
setTimeout(() => { throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }); }, 10);
setTimeout(() => { throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }); }, 20);
setTimeout(() => { process.stdout.write('still running\\n'); }, 60);
`);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^error: unhandled promise rejection: read ECONNRESET \(not a programming error: kept running\)$/m);
  assert.match(r.out, /^error: uncaught exception: database or disk is full \(SQLITE_FULL\) \(not a programming error: kept running\)$/m);
  assert.match(r.out, /^error: uncaught exception: terminating connection due to administrator command \(57P01\)/m);
  assert.match(r.out, /^still running$/m);
});

test('process handlers: a programming error exits non-zero after logging it', () => {
  const thrown = child(`
setTimeout(() => { const x = undefined; x.tag; }, 10);
setTimeout(() => { process.stdout.write('still running\\n'); }, 2000);
`);
  assert.equal(thrown.code, 1, thrown.out);
  assert.match(thrown.out, /^fatal: uncaught exception: Cannot read properties of undefined \(reading 'tag'\) — a bug, exiting$/m);
  assert.doesNotMatch(thrown.out, /still running/);

  const rejected = child(`
Promise.reject(new RangeError('Invalid array length'));
setTimeout(() => { process.stdout.write('still running\\n'); }, 2000);
`);
  assert.equal(rejected.code, 1, rejected.out);
  assert.match(rejected.out, /^fatal: unhandled promise rejection: Invalid array length — a bug, exiting$/m);
});
