// Upgrade lanes on the stream page (upstream-behavior.md §7.2, upstream's "Upgrades" column
// group) and "Untested upgrades" on the release page (§7.3 item 8).
//
// Lanes: the page's rows are the stream's tags, newest first. An upgrade into a row's tag from
// another tag on the page is a lane: a dot in the `To` row (link `/releasetag/<to>?from=<from>`,
// title "S/T succeeded"), a line down to the `From` row, and a dot there. A lane is reused once
// free, but not by an edge of another colour in the row where it just ended (upstream). Colours:
// green with any success, red with failures only, blue otherwise — as classes, since the
// console's CSP allows no inline styles. Upgrades from tags not on the page are listed in a last
// cell, newest version first; tags named like this stream's own (pruned ones) are left out.
import type { WorldView } from '../../domain/world.ts';
import { previousVersions } from '../../domain/graph.ts';
import type { Payload } from '../../domain/types.ts';
import { summarizeUpgrades, type UpgradeHistory } from '../../domain/upgrade.ts';
import { compareTagsDescending } from '../../domain/version.ts';
import { h, link, seg, type Safe } from './html.ts';

type LaneState = 'ok' | 'fail' | 'pending';

export function laneState(u: Pick<UpgradeHistory, 'Success' | 'Failure'>): LaneState {
  return u.Success > 0 ? 'ok' : u.Failure > 0 ? 'fail' : 'pending';
}

/** One lane in one row: it starts here (dot at the `To` row), passes, or ends (dot at the `From` row). */
export interface LaneCell {
  begin?: UpgradeHistory;
  current?: UpgradeHistory;
  end?: UpgradeHistory;
}

export interface UpgradeLanes {
  width: number;
  rows: { tag: string; lanes: LaneCell[]; external: UpgradeHistory[] }[];
}

/** The lanes of `tags` (the rows, in page order) of stream `streamName`. */
export function upgradeLanes(view: WorldView, streamName: string, tags: readonly string[]): UpgradeLanes {
  const index = new Map(tags.map((t, i) => [t, i]));
  let visual: LaneCell[] = [];
  let width = 0;
  const rows: UpgradeLanes['rows'] = [];
  for (const tag of tags) {
    const all = summarizeUpgrades(view.upgradesInto(tag), (r) => r.from);
    const internal = all.filter((u) => index.has(u.From) && u.From !== tag).sort((a, b) => index.get(a.From)! - index.get(b.From)!);
    const external = all
      .filter((u) => !index.has(u.From) && !u.From.startsWith(`${streamName}-`))
      .sort((a, b) => compareTagsDescending(a.From, b.From));
    // lanes whose From is this row end here
    for (const cell of visual) {
      if (cell.current && cell.current.From === tag) {
        cell.end = cell.current;
        cell.current = undefined;
      }
    }
    // each upgrade into this row takes the first free lane (not one that just ended in another colour)
    for (const u of internal) {
      const free = visual.find((c) => !c.begin && !c.current && (!c.end || laneState(c.end) === laneState(u)));
      if (free) free.begin = u;
      else visual.push({ begin: u });
    }
    width = Math.max(width, visual.length);
    rows.push({ tag, lanes: visual.map((c) => ({ ...c })), external });
    visual = visual.map((c) => ({ current: c.begin ?? c.current }));
    while (visual.length && !visual[visual.length - 1].current) visual.pop();
  }
  return { width, rows };
}

const title = (u: UpgradeHistory) => `${u.Success}/${u.Total} succeeded`;

function dot(u: UpgradeHistory): Safe {
  const href = `/releasetag/${seg(u.To)}?from=${encodeURIComponent(u.From)}`;
  return h`<a href="${href}" title="${title(u)}" class="upgrade-track-dot lane-${laneState(u)}" data-from="${u.From}" data-to="${u.To}"><span class="sr-only">${u.From} → ${u.To}: ${title(u)}</span></a>`;
}

function laneCell(c: LaneCell): Safe {
  if (c.current) return h`<td class="upgrade-track"><span title="${title(c.current)}" class="upgrade-track-line middle lane-${laneState(c.current)}"></span></td>`;
  if (c.begin && c.end) return h`<td class="upgrade-track">${dot(c.begin)}<span class="upgrade-track-line middle lane-${laneState(c.begin)}"></span></td>`;
  if (c.begin) return h`<td class="upgrade-track">${dot(c.begin)}<span class="upgrade-track-line start lane-${laneState(c.begin)}"></span></td>`;
  if (c.end) return h`<td class="upgrade-track">${dot(c.end)}<span class="upgrade-track-line end lane-${laneState(c.end)}"></span></td>`;
  return h`<td class="upgrade-track"></td>`;
}

/** The column group header: one narrow column per lane plus the external sources cell. */
export function upgradesHeader(l: UpgradeLanes): Safe {
  return h`<th scope="col" colspan="${l.width + 1}" class="upgrades" title="Upgrades into each release: lanes from other releases on this page, then from elsewhere">Upgrades</th>`;
}

/** The cells of one row (by its index in the tags given to upgradeLanes). */
export function upgradesCells(l: UpgradeLanes, i: number): Safe {
  const row = l.rows[i];
  if (!row) return h`<td colspan="${l.width + 1}"></td>`;
  const rest = l.width - row.lanes.length;
  const ext = row.external.map((u) => {
    const st = laneState(u);
    return h`<span class="upgrade-external ${st === 'ok' ? 'ok' : st === 'fail' ? 'fail' : ''}" title="${title(u)}" data-from="${u.From}">${link(`/releasetag/${seg(u.To)}?from=${encodeURIComponent(u.From)}`, u.From)}</span> `;
  });
  return h`${row.lanes.map(laneCell)}${rest > 0 ? h`<td colspan="${rest}"></td>` : ''}<td class="upgrades-external">${ext}</td>`;
}

/** Declared upgrade sources (release-metadata `previous`) of `p` that no upgrade run has tested. */
export function untestedUpgrades(p: Payload, tested: readonly Pick<UpgradeHistory, 'From'>[]): string[] {
  const seen = new Set(tested.map((u) => u.From));
  return previousVersions(p)
    .filter((v) => !seen.has(v))
    .sort(compareTagsDescending);
}

/** Upstream: when a release declares its sources, "Upgrades from" lists only edges from them. */
export function declaredSourcesOnly<T extends Pick<UpgradeHistory, 'From'>>(p: Payload, into: T[]): T[] {
  const declared = previousVersions(p);
  return declared.length ? into.filter((u) => declared.includes(u.From)) : into;
}

/** The yellow "Untested upgrades" box of the release page; nothing when every declared source was tested. */
export function untestedUpgradesBox(p: Payload, tested: readonly Pick<UpgradeHistory, 'From'>[]): Safe {
  const list = untestedUpgrades(p, tested);
  if (!list.length) return h``;
  return h`<div class="box warn untested-upgrades" data-untested="${list.join(',')}"><strong>Untested upgrades:</strong> ${list.map((v, i) => h`${i ? ', ' : ''}${link(`/releasetag/${seg(v)}`, v)}`)}</div>`;
}

export const UPGRADE_LANES_CSS = `
td.upgrade-track{width:16px;min-width:16px;position:relative;padding:0 2px}
.upgrade-track-line{position:absolute;top:0;bottom:-1px;left:7px;width:0;border-left:2px solid #000;display:none;z-index:2}
.upgrade-track-line.start{top:50%;bottom:-1px;display:block}
.upgrade-track-line.middle{display:block}
.upgrade-track-line.end{top:-1px;bottom:50%;display:block}
.upgrade-track-dot{display:inline-block;position:absolute;top:calc(50% - 7px);left:2px;width:12px;height:12px;background:#fff;border:2px solid #000;border-radius:50%;z-index:3;cursor:pointer}
.upgrade-track-dot:hover{border-width:6px}
.lane-ok{border-color:#28a745}
.lane-fail{border-color:#dc3545}
.lane-pending{border-color:#007bff}
.upgrade-external.ok a{color:#1a7f37}
.upgrade-external.fail a{color:#cf222e}
`;
