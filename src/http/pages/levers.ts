// Operator levers on the console (issue 21): the lock banner (shown as upstream's messagePrefix
// would be, before the stream message), "Next payload may not start", pinned components and the
// buttons for signed-in users (the API checks the role and says so when it lacks).
import type { State } from '../../controller/state.ts';
import { isKept } from '../../domain/lifecycle.ts';
import type { Payload, StreamRecord } from '../../domain/types.ts';
import { creationBlockedBy, notAcceptedBecause } from '../../domain/why.ts';
import { h, link, linkify, type Safe } from './html.ts';
import { timeCell } from './time.ts';

/** "Locked by alice 5m ago: reason" as a banner; nothing for an unlocked stream. */
export function lockBanner(rec: StreamRecord, now: number, compact = false): Safe {
  if (!rec.locked) return h``;
  const who = rec.lock ? h` by <strong>${rec.lock.user}</strong> ${timeCell(rec.lock.at, now)}: ${linkify(rec.lock.reason)}` : h``;
  return h`<div class="box warn lock-banner" role="status" data-locked="true"><strong>Locked</strong>${who}${compact ? '' : h` — no new payloads are created; running verification continues.`}</div>`;
}

/** The stream page's operator block: lock banner, why no payload starts now, pins, buttons. */
export function streamLevers(state: State, rec: StreamRecord, now: number): Safe {
  const why = creationBlockedBy(state, rec, new Date(now));
  const pins = state.pins(rec.input);
  const current = new Map(state.inputTags(rec.input).map((t) => [t.component, t.pullSpec]));
  const pinRows = pins.map(
    (p) =>
      h`<tr data-pin="${p.component}"><th scope="row" class="mono">${p.component}</th><td><code>${p.pullSpec}</code>${p.fromTag ? h`<div class="small">from ${link(`/releasetag/${encodeURIComponent(p.fromTag)}`, p.fromTag)}</div>` : ''}</td><td>${
        current.get(p.component) === p.pullSpec ? h`<span class="muted">same</span>` : current.has(p.component) ? h`<code>${current.get(p.component)!}</code>` : h`<span class="muted">not in the input</span>`
      }</td><td>by <strong>${p.user}</strong> ${timeCell(p.at, now)}: ${linkify(p.reason)}</td><td class="row-actions"><button type="button" class="btn" data-action="unpin" data-input="${rec.input}" data-component="${p.component}" data-signed-in hidden>Unpin…</button></td></tr>`,
  );
  const pinTable = pins.length
    ? h`<h3 id="pins">Pinned components</h3><p class="section-note">New payloads use these pull specs; updates of input stream <code>${rec.input}</code> for them are recorded but not used until unpinned.</p><div class="table-wrap"><table class="pins"><thead><tr><th scope="col">Component</th><th scope="col">Pinned to</th><th scope="col">Input has</th><th scope="col">Why</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody>${pinRows}</tbody></table></div>`
    : '';
  return h`<div data-live="levers" class="levers">
${lockBanner(rec, now)}
${why ? h`<p class="small why" data-why>Next payload may not start: ${why}</p>` : ''}
${pinTable}
<div class="actions" data-signed-in hidden>${
    rec.locked
      ? h`<button type="button" class="btn" data-action="unlock">Unlock stream…</button>`
      : h`<button type="button" class="btn" data-action="lock">Lock stream…</button>`
  }<button type="button" class="btn" data-action="poke">Create a payload now (poke)…</button></div>
</div>`;
}

/** The release page's keep fact and "Not accepted yet" line. */
export function releaseWhy(state: State, rec: StreamRecord, p: Payload, now: number): Safe {
  const why = notAcceptedBecause(state, rec.config, p, new Date(now));
  return why ? h`<div class="small not-accepted" data-not-accepted>Not accepted yet: ${linkify(why)}</div>` : h``;
}

export function keptFact(p: Payload): Safe {
  if (!isKept(p)) return h``;
  const why = p.annotations['release.openshift.io/keep'];
  return h`<dt>Kept</dt><dd data-kept>never garbage-collected${why ? h`: ${linkify(why)}` : ''}</dd>`;
}

/** Keep / unkeep and prune buttons of a payload (prune only when not kept). */
export function payloadLeverButtons(p: Payload): Safe {
  const kept = isKept(p);
  return h`${kept ? h`<button type="button" class="btn" data-action="unkeep">Stop keeping…</button>` : p.phase !== 'Pending' ? h`<button type="button" class="btn" data-action="keep">Keep…</button>` : ''}${
    kept ? '' : h`<button type="button" class="btn reject" data-action="prune">Prune…</button>`
  }`;
}
