// Changelog between two payloads from their component snapshots (DESIGN.md §8), shaped like
// upstream's `changeLogJson` (upstream-behavior.md §6.5). Pure.
import type { Component, Payload } from './types.ts';

export const LABEL_COMMIT = 'io.openshift.build.commit.id';
export const LABEL_SOURCE = 'io.openshift.build.source-location';

export interface ChangeLogRelease {
  name: string;
  created: string;
  digest: string;
  promotedFrom?: string;
}

export interface ChangeLogImage {
  name: string;
  path: string;
  shortCommit?: string;
  commit?: string;
  imageRef?: string;
  fullChangeLog?: string;
}

export interface ChangeLogJson {
  from: ChangeLogRelease;
  to: ChangeLogRelease;
  components?: { name: string; version: string }[];
  newImages?: ChangeLogImage[];
  removedImages?: ChangeLogImage[];
  rebuiltImages?: ChangeLogImage[];
  updatedImages?: ChangeLogImage[];
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export function emptyChangeLog(): ChangeLogJson {
  return { from: { name: '', created: ZERO_TIME, digest: '' }, to: { name: '', created: ZERO_TIME, digest: '' } };
}

function digestOf(pullSpec: string): string {
  const i = pullSpec.indexOf('@');
  return i >= 0 ? pullSpec.slice(i + 1) : '';
}

function image(name: string, c: Component, fromCommit?: string): ChangeLogImage {
  const commit = c.labels?.[LABEL_COMMIT] ?? '';
  const source = (c.labels?.[LABEL_SOURCE] ?? '').replace(/\/+$/, '');
  const out: ChangeLogImage = { name, path: source };
  if (commit) {
    out.shortCommit = commit.slice(0, 7);
    out.commit = commit;
  }
  const ref = digestOf(c.pullSpec);
  if (ref) out.imageRef = ref;
  if (fromCommit && commit && source.startsWith('https://github.com/')) out.fullChangeLog = `${source}/compare/${fromCommit}...${commit}`;
  return out;
}

export function changeLog(from: Payload, to: Payload): ChangeLogJson {
  const out: ChangeLogJson = {
    from: { name: from.tag, created: from.createdAt, digest: from.digest },
    to: { name: to.tag, created: to.createdAt, digest: to.digest },
  };
  const names = [...new Set([...Object.keys(from.components), ...Object.keys(to.components)])].sort();
  const added: ChangeLogImage[] = [];
  const removed: ChangeLogImage[] = [];
  const updated: ChangeLogImage[] = [];
  const rebuilt: ChangeLogImage[] = [];
  for (const n of names) {
    const a = from.components[n];
    const b = to.components[n];
    if (!a && b) added.push(image(n, b));
    else if (a && !b) removed.push(image(n, a));
    else if (a && b && a.pullSpec !== b.pullSpec) {
      const ca = a.labels?.[LABEL_COMMIT] ?? '';
      const cb = b.labels?.[LABEL_COMMIT] ?? '';
      if (ca && cb && ca === cb) rebuilt.push(image(n, b));
      else updated.push(image(n, b, ca));
    }
  }
  if (added.length) out.newImages = added;
  if (removed.length) out.removedImages = removed;
  if (rebuilt.length) out.rebuiltImages = rebuilt;
  if (updated.length) out.updatedImages = updated;
  return out;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The HTML changelog upstream returns (base64-encoded) in release info. */
export function changeLogHtml(c: ChangeLogJson): string {
  const parts = [`<h2>Changes from ${esc(c.from.name)}</h2>`];
  const section = (title: string, list?: ChangeLogImage[]) => {
    if (!list?.length) return;
    parts.push(`<h3>${title}</h3>`, '<ul>');
    for (const i of list) {
      const commit = i.commit ? ` <code>${esc(i.shortCommit ?? '')}</code>` : '';
      const src = i.path ? ` (<a target="_blank" href="${esc(i.path)}">${esc(i.path)}</a>)` : '';
      parts.push(`<li>${esc(i.name)}${commit}${src}</li>`);
    }
    parts.push('</ul>');
  };
  section('New images', c.newImages);
  section('Removed images', c.removedImages);
  section('Rebuilt images without code change', c.rebuiltImages);
  section('Updated images', c.updatedImages);
  if (parts.length === 1) parts.push('<p>No image changes.</p>');
  return parts.join('\n') + '\n';
}
