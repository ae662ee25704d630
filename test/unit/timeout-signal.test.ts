// timeoutSignal (src/adapters/timeout-signal.ts): a request's time limit and a stop signal must
// reach fetch even after a garbage collection. AbortSignal.any() loses both on Node 20
// (nodejs/node#57736): a webhook attempt to a receiver that never answered then hung its
// deliverer's stop() forever. Each case runs in a child process with --expose-gc against a real
// loopback server that never answers, forcing collections while the request waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const MODULE = pathToFileURL(resolve('src/adapters/timeout-signal.ts')).href;

function run(body: string): { out: string; status: number | null } {
  const script = `
    import http from 'node:http';
    import { timeoutSignal } from ${JSON.stringify(MODULE)};
    const server = http.createServer(() => {}).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const url = 'http://127.0.0.1:' + server.address().port + '/';
    const gcs = [setInterval(() => global.gc(), 20)];
    const outcome = (p) => Promise.race([p.then(() => 'answered', (e) => e.name + ':' + e.message), new Promise((r) => setTimeout(() => r('HUNG'), 4000))]);
    ${body}
    gcs.forEach(clearInterval);
    server.closeAllConnections();
    server.close();`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  return { out: r.stdout.trim() + r.stderr.trim(), status: r.status };
}

test('the time limit aborts a request the peer never answers, through garbage collections', () => {
  const r = run(`
    const results = [];
    const stop = new AbortController(); // the deliverer's stop signal, never aborted here
    for (let i = 0; i < 3; i++) results.push(await outcome(fetch(url, { signal: timeoutSignal(150, stop.signal) })));
    results.push(await outcome(fetch(url, { signal: timeoutSignal(150) })));
    console.log(results.join(','));`);
  assert.equal(r.status, 0, r.out);
  assert.equal(r.out, Array(4).fill('TimeoutError:no answer within 150 ms').join(','));
});

test('a stop signal aborts the request at once, through garbage collections, and the time limit no longer matters', () => {
  const r = run(`
    const stop = new AbortController();
    const p = outcome(fetch(url, { signal: timeoutSignal(60_000, stop.signal) }));
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    stop.abort(new DOMException('stopping', 'AbortError'));
    const what = await p;
    console.log(what, Date.now() - t0 < 1000);`);
  assert.equal(r.status, 0, r.out);
  assert.equal(r.out, 'AbortError:stopping true');
});

test('an already stopped parent gives an aborted signal; the timer does not keep a process alive', () => {
  const stop = new AbortController();
  stop.abort(new Error('gone'));
  return import('../../src/adapters/timeout-signal.ts').then(({ timeoutSignal }) => {
    const s = timeoutSignal(10_000, stop.signal);
    assert.equal(s.aborted, true);
    assert.equal((s.reason as Error).message, 'gone');
    // a 1-hour limit on an idle process: it exits at once (the timer is unref'd)
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `import { timeoutSignal } from ${JSON.stringify(MODULE)}; timeoutSignal(3_600_000); console.log('done');`], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.stdout.trim(), 'done', r.stderr);
  });
});
