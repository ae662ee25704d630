// Changelog between two payloads from their component snapshots (DESIGN.md §8): components added,
// removed and changed, with commit ids and source repositories from the image labels.
import type { ChangelogOutcome } from '../../controller/changelog.ts';
import { LABEL_COMMIT, LABEL_SOURCE, SHORT_COMMIT_LENGTH, type ChangeLogCommit, type ChangeLogImage, type ChangeLogJson } from '../../domain/changelog.ts';
import { own } from '../../domain/own.ts';
import type { Component, Payload } from '../../domain/types.ts';
import { h, join, link, type Safe } from './html.ts';

export interface ComponentChange {
  name: string;
  kind: 'added' | 'removed' | 'changed';
  from?: Component;
  to?: Component;
}

export interface ComponentDiff {
  changes: ComponentChange[];
  unchanged: number;
}

export function diffComponents(from: Record<string, Component>, to: Record<string, Component>): ComponentDiff {
  const names = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
  const changes: ComponentChange[] = [];
  let unchanged = 0;
  for (const name of names) {
    const a = own(from, name);
    const b = own(to, name);
    if (!a) changes.push({ name, kind: 'added', to: b });
    else if (!b) changes.push({ name, kind: 'removed', from: a });
    else if (a.pullSpec !== b.pullSpec || (a.labels?.[LABEL_COMMIT] ?? '') !== (b.labels?.[LABEL_COMMIT] ?? '')) changes.push({ name, kind: 'changed', from: a, to: b });
    else unchanged++;
  }
  return { changes, unchanged };
}

/** `sha256:0123456789ab` from a digest pull spec, or the pull spec itself. */
export function shortImage(pullSpec: string): string {
  const i = pullSpec.indexOf('@sha256:');
  return i >= 0 ? `sha256:${pullSpec.slice(i + 8, i + 20)}` : pullSpec;
}

function shortCommit(c: string): string {
  return /^[0-9a-f]{12,}$/i.test(c) ? c.slice(0, 12) : c;
}

function commitLink(source: string, commit: string): Safe {
  if (!commit) return h``;
  const base = source.replace(/\/+$/, '').replace(/\.git$/, '');
  const url = /^https:\/\/(github\.com|gitlab\.com)\//.test(base) ? `${base}/commit/${encodeURIComponent(commit)}` : '';
  return h`<code title="${commit}">${url ? link(url, shortCommit(commit)) : shortCommit(commit)}</code>`;
}

function image(c: Component | undefined): Safe {
  return c ? h`<code title="${c.pullSpec}">${shortImage(c.pullSpec)}</code>` : h``;
}

function commitsCell(ch: ComponentChange): Safe {
  const a = ch.from?.labels?.[LABEL_COMMIT] ?? '';
  const b = ch.to?.labels?.[LABEL_COMMIT] ?? '';
  const src = ch.to?.labels?.[LABEL_SOURCE] ?? ch.from?.labels?.[LABEL_SOURCE] ?? '';
  if (ch.kind === 'changed' && a && b && a !== b) {
    const base = src.replace(/\/+$/, '').replace(/\.git$/, '');
    const compare = /^https:\/\/github\.com\//.test(base) ? h` (${link(`${base}/compare/${encodeURIComponent(a)}...${encodeURIComponent(b)}`, 'compare')})` : '';
    return h`${commitLink(src, a)} → ${commitLink(src, b)}${compare}`;
  }
  return commitLink(src, b || a);
}

function sourceCell(ch: ComponentChange): Safe {
  const src = ch.to?.labels?.[LABEL_SOURCE] ?? ch.from?.labels?.[LABEL_SOURCE] ?? '';
  return src ? link(src, src) : h`<span class="muted">—</span>`;
}

function commitItem(c: ChangeLogCommit): Safe {
  const keys = [
    ...Object.entries(c.bugs ?? {}).map(([b, u]) => (u ? link(u, `Bug ${b}`) : h`Bug ${b}`)),
    ...Object.entries(c.issues ?? {}).map(([k, u]) => (u ? link(u, k) : h`${k}`)),
  ];
  const pr = c.pullID !== undefined ? (c.pullURL ? link(c.pullURL, `#${c.pullID}`) : h`#${c.pullID}`) : '';
  const commit = c.commitURL ? link(c.commitURL, c.commitID.slice(0, SHORT_COMMIT_LENGTH)) : c.commitID.slice(0, SHORT_COMMIT_LENGTH);
  return h`<li>${keys.length ? h`<span class="issues">${join(keys, ', ')}</span>: ` : ''}${c.subject} ${pr ? h`${pr} ` : ''}<code class="small">${commit}</code></li>`;
}

function imageCommits(i: ChangeLogImage): Safe {
  const issues = [...new Map((i.commits ?? []).flatMap((c) => Object.entries(c.issues ?? {}))).entries()];
  const notes = [i.capped ? h`<li class="muted"><em>Capped at ${i.commits?.length ?? 0} commits; the full changelog has the rest.</em></li>` : '', i.note ? h`<li class="muted"><em>${i.note}</em></li>` : ''];
  return h`<div class="image-commits" data-image="${i.name}"><h3>${i.name} <span class="muted small">${i.commits ? `${i.commits.length}${i.capped ? '+' : ''} commit${i.commits.length === 1 ? '' : 's'}` : ''}</span></h3>
${issues.length ? h`<p class="small">Issues: ${join(issues.map(([k, u]) => (u ? link(u, k) : h`${k}`)), ', ')}</p>` : ''}<ul class="commits">${(i.commits ?? []).map(commitItem)}${notes}${i.fullChangeLog ? h`<li>${link(i.fullChangeLog, 'Full changelog')}</li>` : ''}</ul></div>`;
}

/** The commits, pull requests and issues of each updated image (the changelog service's result). */
function commitsSection(c: ChangeLogJson): Safe {
  const images = (c.updatedImages ?? []).filter((i) => i.commits || i.note);
  if (!images.length) return h``;
  const commits = images.reduce((n, i) => n + (i.commits?.length ?? 0), 0);
  const prs = new Set(images.flatMap((i) => (i.commits ?? []).flatMap((x) => (x.pullID !== undefined ? [`${i.path}#${x.pullID}`] : [])))).size;
  const issues = new Set(images.flatMap((i) => (i.commits ?? []).flatMap((x) => Object.keys(x.issues ?? {})))).size;
  return h`<div class="changelog-commits"><h3>Commits</h3><p class="section-note">${commits}${c.capped ? '+' : ''} commits, ${prs} pull requests, ${issues} issues${c.capped ? ' (capped)' : ''}.</p>${images.map(imageCommits)}</div>`;
}

function outcomeNote(o: ChangelogOutcome | undefined): Safe {
  if (!o || o.state === 'ready') return h``;
  return o.state === 'computing'
    ? h`<p class="box info changelog-pending" role="status">The commit list is still being computed; reload in a few seconds.</p>`
    : h`<p class="box warn changelog-pending" role="status">Too many changelogs are being computed right now; the commit list will be here shortly.</p>`;
}

export function renderChangelog(from: Payload, to: Payload, outcome?: ChangelogOutcome): Safe {
  const d = diffComponents(from.components, to.components);
  if (d.changes.length === 0) return h`<p class="muted">No component changed (${d.unchanged} components identical).</p>`;
  return h`${renderComponentTable(d)}${outcomeNote(outcome)}${outcome?.state === 'ready' ? commitsSection(outcome.json) : ''}`;
}

/** The image-by-image differences alone (the compare dashboard shows the commits in the changelog above it). */
export function renderComponentDiff(from: Payload, to: Payload): Safe {
  const d = diffComponents(from.components, to.components);
  if (d.changes.length === 0) return h`<p class="muted">No component changed (${d.unchanged} components identical).</p>`;
  return renderComponentTable(d);
}

function renderComponentTable(d: ComponentDiff): Safe {
  const kindText = { added: 'Added', removed: 'Removed', changed: 'Changed' } as const;
  const rows = d.changes.map(
    (c) => h`<tr class="${c.kind}"><td><code>${c.name}</code></td><td>${kindText[c.kind]}</td><td>${c.kind === 'added' ? h`<span class="muted">—</span>` : image(c.from)}</td><td>${c.kind === 'removed' ? h`<span class="muted">—</span>` : image(c.to)}</td><td>${commitsCell(c)}</td><td class="small">${sourceCell(c)}</td></tr>`,
  );
  const counts = (['added', 'removed', 'changed'] as const).map((k) => [k, d.changes.filter((c) => c.kind === k).length] as const).filter(([, n]) => n > 0);
  return h`<p class="section-note">${join(counts.map(([k, n]) => `${n} ${k}`), ', ')}; ${d.unchanged} unchanged.</p>
<div class="table-wrap"><table class="changelog"><thead><tr><th scope="col">Component</th><th scope="col">Change</th><th scope="col">Before</th><th scope="col">After</th><th scope="col">Commits</th><th scope="col">Source</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}
