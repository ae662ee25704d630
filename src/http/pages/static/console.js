/* Release console: sign-in token, actions with a reason, live updates over Server-Sent Events.
 * Never puts event or API text into innerHTML: fresh markup only comes from the server's own
 * (escaped) pages, everything else goes through textContent. */
/* global DOMParser, location */
(function () {
  'use strict';
  var TOKEN_KEY = 'release-controller-token';
  var body = document.body;
  var page = body.dataset.page || '';
  var pageStream = body.dataset.stream || '';
  var pageTag = body.dataset.tag || '';

  // ------------------------------------------------------------------ sign-in
  function token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || '';
    } catch {
      return '';
    }
  }
  function renderAuth() {
    var t = token();
    var signin = document.getElementById('signin');
    var signedin = document.getElementById('signedin');
    if (signin) signin.hidden = !!t;
    if (signedin) signedin.hidden = !t;
    var txt = document.getElementById('signedin-text');
    if (txt) txt.textContent = t ? 'Signed in (token …' + t.slice(-4) + ')' : '';
    document.querySelectorAll('[data-signed-in]').forEach(function (el) {
      el.hidden = !t;
    });
  }
  var signinForm = document.getElementById('signin');
  if (signinForm) {
    signinForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var input = document.getElementById('token');
      var v = input && input.value.trim();
      if (!v) return;
      sessionStorage.setItem(TOKEN_KEY, v);
      input.value = '';
      renderAuth();
      flash('Signed in');
    });
  }
  var signout = document.getElementById('signout');
  if (signout) {
    signout.addEventListener('click', function () {
      sessionStorage.removeItem(TOKEN_KEY);
      renderAuth();
      flash('Signed out');
    });
  }

  function flash(text, isError) {
    var el = document.createElement('div');
    el.className = 'flash' + (isError ? ' error' : '');
    el.setAttribute('role', 'status');
    el.textContent = text;
    document.body.appendChild(el);
    setTimeout(function () {
      el.remove();
    }, 4000);
  }

  // ------------------------------------------------------------------ filters
  document.addEventListener('change', function (ev) {
    var t = ev.target;
    if (t && t.matches && t.matches('select[data-autosubmit]') && t.form) t.form.requestSubmit();
  });

  // ------------------------------------------------------------------ actions
  var dialog = document.getElementById('action-dialog');
  var pending = null;
  function enc(s) {
    return encodeURIComponent(s);
  }
  function describe(btn) {
    var base = '/api/v1/releasestream/' + enc(pageStream) + '/release/' + enc(pageTag);
    var a = btn.dataset.action;
    var v = btn.dataset.value || '';
    if (a === 'override') return { url: base + '/override', body: { phase: v }, title: (v === 'Accepted' ? 'Accept' : 'Reject') + ' this payload (manual override)' };
    if (a === 'qe') return { url: base + '/qe', body: { verdict: v }, title: (v === 'QEAccepted' ? 'QE Accept' : 'QE Reject') + ' this payload' };
    if (a === 'qe-rerun') return { url: base + '/qe/rerun', body: {}, title: 'Re-run the QE jobs' };
    if (a === 'retry') return { url: base + '/jobs/' + enc(btn.dataset.verify || '') + '/retry', body: {}, title: 'Retry job ' + (btn.dataset.verify || '') };
    if (a === 'waive') return { url: base + '/jobs/' + enc(btn.dataset.verify || '') + '/waive', body: {}, title: 'Waive job ' + (btn.dataset.verify || '') + ' (mark it passed: it cannot run)' };
    // operator levers
    var streamBase = '/api/v1/releasestream/' + enc(pageStream);
    if (a === 'keep') return { url: base + '/keep', body: { keep: true }, title: 'Keep this payload (never garbage-collected)' };
    if (a === 'unkeep') return { url: base + '/keep', body: { keep: false }, title: 'Stop keeping this payload' };
    if (a === 'prune') return { url: base, method: 'DELETE', body: {}, title: 'Prune this payload (remove it with its runs and logs)', after: '/releasestream/' + enc(pageStream) };
    if (a === 'lock') return { url: streamBase + '/lock', body: { locked: true }, title: 'Lock the stream (no new payloads)', desc: pageStream };
    if (a === 'unlock') return { url: streamBase + '/lock', body: { locked: false }, title: 'Unlock the stream', desc: pageStream };
    if (a === 'poke') return { url: streamBase + '/poke', body: {}, title: 'Create a payload now (poke)', desc: pageStream };
    if (a === 'unpin') {
      return { url: '/api/v1/inputstreams/' + enc(btn.dataset.input || '') + '/pins/' + enc(btn.dataset.component || ''), method: 'DELETE', body: {}, title: 'Unpin ' + (btn.dataset.component || ''), desc: btn.dataset.input || '' };
    }
    return null;
  }
  document.addEventListener('click', function (ev) {
    var btn = ev.target && ev.target.closest ? ev.target.closest('[data-action]') : null;
    if (!btn || !dialog) return;
    var d = describe(btn);
    if (!d) return;
    if (!token()) {
      flash('Sign in with an API token first', true);
      var ti = document.getElementById('token');
      if (ti) ti.focus();
      return;
    }
    pending = d;
    document.getElementById('action-title').textContent = d.title;
    document.getElementById('action-desc').textContent = d.desc || pageTag;
    document.getElementById('action-reason').value = '';
    document.getElementById('action-error').textContent = '';
    document.getElementById('action-submit').disabled = false;
    dialog.showModal();
    document.getElementById('action-reason').focus();
  });
  if (dialog) {
    document.getElementById('action-cancel').addEventListener('click', function () {
      pending = null;
      dialog.close();
    });
    document.getElementById('action-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var d = pending;
      if (!d) return dialog.close();
      var reason = document.getElementById('action-reason').value.trim();
      var errEl = document.getElementById('action-error');
      if (!reason) {
        errEl.textContent = 'A reason is required.';
        return;
      }
      var payload = Object.assign({}, d.body, { reason: reason });
      var submit = document.getElementById('action-submit');
      submit.disabled = true;
      errEl.textContent = '';
      fetch(d.url, {
        method: d.method || 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token() },
        body: JSON.stringify(payload),
      })
        .then(function (res) {
          if (res.ok) {
            pending = null;
            dialog.close();
            flash('Done: ' + d.title);
            if (d.after) location.href = d.after;
            else refresh();
            return;
          }
          return res.text().then(function (text) {
            var msg = text;
            try {
              var j = JSON.parse(text);
              if (j && typeof j.error === 'string') msg = j.error;
            } catch {
              /* plain text error */
            }
            errEl.textContent = 'Refused (' + res.status + '): ' + (msg || res.statusText) + (res.status === 401 ? ' — sign in again with a valid token.' : '');
            submit.disabled = false;
          });
        })
        .catch(function (e) {
          errEl.textContent = 'Request failed: ' + e.message;
          submit.disabled = false;
        });
    });
  }

  // ------------------------------------------------------------------ live updates
  var refreshTimer = null;
  var inFlight = false;
  var again = false;
  function refresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(function () {
      refreshTimer = null;
      doRefresh();
    }, 250);
  }
  function openDetails(el) {
    return Array.prototype.map.call(el.querySelectorAll('details'), function (d) {
      return d.open;
    });
  }
  function doRefresh() {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    fetch(location.href, { headers: { accept: 'text/html' }, cache: 'no-store' })
      .then(function (res) {
        return res.ok ? res.text() : null;
      })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, 'text/html');
        fresh.querySelectorAll('[data-live]').forEach(function (n) {
          var key = n.getAttribute('data-live');
          var cur = document.querySelector('[data-live="' + cssEscape(key) + '"]');
          if (!cur || cur.innerHTML === n.innerHTML) return;
          var open = openDetails(cur);
          var node = document.importNode(n, true);
          node.querySelectorAll('details').forEach(function (d, i) {
            if (open[i]) d.open = true;
          });
          cur.replaceWith(node);
        });
        renderAuth();
      })
      .catch(function () {
        /* next event retries */
      })
      .then(function () {
        inFlight = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }
  function cssEscape(s) {
    return window.CSS && window.CSS.escape ? window.CSS.escape(s) : s.replace(/["\\]/g, '\\$&');
  }
  function tagOnPage(tag) {
    return !!document.querySelector('[data-tag="' + cssEscape(tag) + '"]');
  }
  function streamOnPage(stream) {
    return !!document.querySelector('[data-stream="' + cssEscape(stream) + '"]');
  }
  function onEvent(type, e) {
    if (!e) return;
    if (page === 'overview') {
      if (streamOnPage(e.stream)) refresh();
    } else if (page === 'stream') {
      if (e.stream !== pageStream) return;
      if (!e.tag) refresh(); // stream-level: lock, pins, input updates
      else if (type === 'PayloadCreated' || type === 'PayloadDeleted') {
        var n = Number(body.dataset.pageNumber || '1');
        if (n > 1) {
          var b = document.getElementById('new-payloads');
          if (b) b.hidden = false;
        } else refresh();
      } else if (tagOnPage(e.tag)) refresh();
    } else if (page === 'release') {
      if (e.tag === pageTag && e.stream === pageStream) refresh();
      else if (type === 'JobStateChanged' && e.data && e.data.kind === 'upgrade') refresh();
    }
  }
  var TYPES = [
    'PayloadCreated', 'PhaseChanged', 'JobLaunched', 'JobStateChanged', 'QEStateChanged', 'QEVerdictOverridden', 'QERerun',
    'PhaseOverridden', 'JobRetryRequested', 'PayloadDeleted', 'Published', 'JobError',
    'PayloadKept', 'PayloadUnkept', 'StreamLocked', 'StreamUnlocked', 'ComponentPinned', 'ComponentUnpinned', 'InputUpdated',
  ];
  var live = document.getElementById('live');
  if (window.EventSource && page !== 'notfound') {
    // stream and release pages only need their stream's events; the overview needs all
    var es = new EventSource(pageStream ? '/api/v1/events?stream=' + enc(pageStream) : '/api/v1/events');
    var dropped = false;
    if (live) live.hidden = false;
    es.onopen = function () {
      if (live) {
        live.dataset.state = 'open';
        live.textContent = 'live';
      }
      // the browser replays missed events by Last-Event-ID; refresh anyway in case the gap was long
      if (dropped) refresh();
      dropped = false;
    };
    es.onerror = function () {
      dropped = true;
      if (live) {
        live.dataset.state = 'closed';
        live.textContent = 'reconnecting';
      }
    };
    TYPES.forEach(function (t) {
      es.addEventListener(t, function (ev) {
        var rec = null;
        try {
          rec = JSON.parse(ev.data);
        } catch {
          return;
        }
        onEvent(t, rec);
      });
    });
    window.addEventListener('pagehide', function () {
      es.close();
    });
  }

  renderAuth();
})();
