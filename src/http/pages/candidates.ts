// `/releasestream/{release}/candidates` (upstream-behavior.md §6.7): the stream's promotion
// candidates for its next version, newest first — HTML, or with `?format=json` upstream's
// ReleaseCandidateList map. The rules are the candidate endpoint's (src/domain/candidate.ts:
// DESIGN §13 item 11 fixed, QE acceptance required where the stream has QE jobs).
import { findCandidates, type CandidateItem } from '../../domain/candidate.ts';
import { qeEntries } from '../../domain/config/schema.ts';
import type { StreamRecord } from '../../domain/types.ts';
import type { WorldView } from '../../domain/world.ts';
import { goJson } from '../api/shared.ts';
import { releaseHref, streamHref } from './cells.ts';
import { h, link, seg } from './html.ts';
import { layout } from './layout.ts';

/** An image stream TagReference as upstream's list embeds it (Go field order). */
function tagReference(c: CandidateItem): Record<string, unknown> {
  return {
    name: c.payload.tag,
    annotations: c.payload.annotations,
    from: { kind: 'DockerImage', name: c.payload.pullSpec },
    generation: null,
    importPolicy: {},
    referencePolicy: { type: '' },
  };
}

/**
 * Upstream's body: `{ "<stream>": { "items": [...] } }`, `items` null when no next version could
 * be determined, [] when no tag qualifies; two-space indentation, no trailing newline.
 */
export function candidatesJson(view: WorldView, stream: string): string {
  const { next, items } = findCandidates(view, stream);
  const list = next
    ? items.map((c) => ({ fromTag: c.fromTag, name: c.name, ...(c.upgradeFrom ? { upgradeFrom: c.upgradeFrom } : {}), creationTime: c.creationTime, tag: tagReference(c) }))
    : null;
  return goJson({ [stream]: { items: list } }, 2);
}

export function renderCandidatesPage(view: WorldView, rec: StreamRecord): string {
  const { next, items } = findCandidates(view, rec.name);
  const qe = qeEntries(rec.config).length > 0;
  const heading = items[0]?.name ?? 'next release';
  const why = !next
    ? h`<p class="muted no-next">No next version: no release of a Stable stream has this stream’s version ${rec.name.split('-')[0]} (or its lineage names another stream).</p>`
    : h`<p class="section-note">Next version <strong class="next-version">${next.name}</strong>; candidates are ${qe ? 'QE-accepted (and Accepted)' : 'Accepted'} payloads created ${next.promotedAt ? h`after ${next.promotedAt}, when the last release was promoted from this stream` : 'at any time (the last release’s lineage is unknown)'}. Upgrades: sources whose finished upgrade runs into the candidate succeeded more than 80 % of the time.</p>`;
  const rows = items.map(
    (c) =>
      h`<tr data-tag="${c.fromTag}"><td>${link(releaseHref(rec.name, c.fromTag), c.fromTag)}</td><td class="upgrade-from">${(c.upgradeFrom ?? []).map((f, i) => h`${i ? ', ' : ''}${link(`/releasetag/${seg(f)}`, f)}`)}</td><td class="time">${c.creationTime}</td></tr>`,
  );
  const table = items.length
    ? h`<div class="table-wrap"><table id="candidates"><thead><tr><th scope="col" title="Candidate tag for next release">Name</th><th scope="col" title="Tag(s) of release this can upgrade FROM">Upgrades</th><th scope="col" title="Creation time">Creation time</th></tr></thead><tbody>${rows}</tbody></table></div>`
    : next
      ? h`<p class="muted">No payload qualifies yet.</p>`
      : '';
  const body = h`<div class="crumbs"><a href="/">Back to index</a> | ${link(streamHref(rec.name), `Back to ${rec.name}`)} | ${link(`${streamHref(rec.name)}/candidates?format=json`, 'JSON')}</div>
<section class="card" id="release-candidates"><h1>Release Candidates for ${heading}</h1>
${why}${table}</section>`;
  return layout(`Release Candidates for ${heading}`, { page: 'candidates', stream: rec.name }, body);
}
