// A request's time limit as an AbortSignal that cannot be lost.
//
// `AbortSignal.timeout()` holds its signal only weakly, and `AbortSignal.any()` links its sources
// weakly too (nodejs/node#57736): once fetch has made its own dependent signal, a garbage
// collection can drop the link and the abort never arrives — a request to a peer that stops
// reading then waits forever, and so does whoever awaits it (a deliverer's stop, a test's cleanup).
// Here the timer's callback holds the controller strongly until it fires, and the parent (a
// stop signal) is followed with a listener that goes away when the time limit passes.
export function timeoutSignal(ms: number, parent?: AbortSignal): AbortSignal {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  timer.unref();
  if (parent) {
    if (parent.aborted) ac.abort(parent.reason);
    else parent.addEventListener('abort', () => ac.abort(parent.reason), { once: true, signal: ac.signal });
  }
  return ac.signal;
}
