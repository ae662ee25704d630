// Changelog between two payloads from their component snapshots (DESIGN.md §8): components added,
// removed and changed, with commit ids and source repositories from the image labels.
import { LABEL_COMMIT, LABEL_SOURCE } from '../../domain/changelog.ts';
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

export function renderChangelog(from: Payload, to: Payload): Safe {
  const d = diffComponents(from.components, to.components);
  if (d.changes.length === 0) return h`<p class="muted">No component changed (${d.unchanged} components identical).</p>`;
  const kindText = { added: 'Added', removed: 'Removed', changed: 'Changed' } as const;
  const rows = d.changes.map(
    (c) => h`<tr class="${c.kind}"><td><code>${c.name}</code></td><td>${kindText[c.kind]}</td><td>${c.kind === 'added' ? h`<span class="muted">—</span>` : image(c.from)}</td><td>${c.kind === 'removed' ? h`<span class="muted">—</span>` : image(c.to)}</td><td>${commitsCell(c)}</td><td class="small">${sourceCell(c)}</td></tr>`,
  );
  const counts = (['added', 'removed', 'changed'] as const).map((k) => [k, d.changes.filter((c) => c.kind === k).length] as const).filter(([, n]) => n > 0);
  return h`<p class="section-note">${join(counts.map(([k, n]) => `${n} ${k}`), ', ')}; ${d.unchanged} unchanged.</p>
<div class="table-wrap"><table class="changelog"><thead><tr><th scope="col">Component</th><th scope="col">Change</th><th scope="col">Before</th><th scope="col">After</th><th scope="col">Commits</th><th scope="col">Source</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}
