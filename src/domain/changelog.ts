// Changelog between two payloads from their component snapshots (DESIGN.md §8), shaped like
// upstream's `changeLogJson` and its HTML changelog (upstream-behavior.md §6.5). Pure.
import { own } from './own.ts';
import type { Component, Payload } from './types.ts';

export const LABEL_COMMIT = 'io.openshift.build.commit.id';
export const LABEL_SOURCE = 'io.openshift.build.source-location';
/** upstream's short commit ids are 8 characters (see the recorded release-info fixture) */
export const SHORT_COMMIT_LENGTH = 8;

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

/** Field order is upstream's (Go struct order); empty lists are omitted as upstream does. */
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

/** Go's zero value of the changelog, which upstream sends when there is no previous release. */
export function emptyChangeLog(): ChangeLogJson {
  return { from: { name: '', created: ZERO_TIME, digest: '' }, to: { name: '', created: ZERO_TIME, digest: '' } };
}

function digestOf(pullSpec: string): string {
  const i = pullSpec.indexOf('@');
  return i >= 0 ? pullSpec.slice(i + 1) : '';
}

const commitOf = (c: Component) => own(c.labels, LABEL_COMMIT) ?? '';
const sourceOf = (c: Component) => (own(c.labels, LABEL_SOURCE) ?? '').replace(/\/+$/, '');

function image(name: string, c: Component, fromCommit = ''): ChangeLogImage {
  const commit = commitOf(c);
  const path = sourceOf(c);
  const out: ChangeLogImage = { name, path };
  if (commit) {
    out.shortCommit = commit.slice(0, SHORT_COMMIT_LENGTH);
    out.commit = commit;
  }
  const ref = digestOf(c.pullSpec);
  if (ref) out.imageRef = ref;
  if (fromCommit && commit && /^https:\/\/(github\.com|gitlab\.com)\//.test(path)) out.fullChangeLog = `${path}/compare/${fromCommit}...${commit}`;
  return out;
}

/**
 * Components added (newImages), removed (removedImages), rebuilt from the same commit
 * (rebuiltImages) and changed (updatedImages) between `from` and `to`, sorted by name.
 */
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
    const a = own(from.components, n);
    const b = own(to.components, n);
    if (!a && b) added.push(image(n, b));
    else if (a && !b) removed.push(image(n, a));
    else if (a && b && (a.pullSpec !== b.pullSpec || commitOf(a) !== commitOf(b))) {
      if (commitOf(a) && commitOf(a) === commitOf(b)) rebuilt.push(image(n, b));
      else updated.push(image(n, b, commitOf(a)));
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

/** only http(s) links become anchors; anything else (javascript:, data:) stays text */
function link(href: string, text: string): string {
  return /^https?:\/\//i.test(href) ? `<a target="_blank" href="${esc(href)}">${esc(text)}</a>` : esc(text);
}

/** `2023-01-18 00:50:06 +0000 UTC`, Go's default time format, as upstream prints "Created". */
function goTime(rfc3339: string): string {
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return rfc3339;
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000 UTC').replace(/Z$/, ' +0000 UTC');
}

function imageLine(i: ChangeLogImage): string {
  const name = i.path ? link(i.path, i.name) : esc(i.name);
  const commit = i.commit ? ` git ${i.path ? link(`${i.path}/commit/${i.commit}`, i.shortCommit ?? i.commit) : esc(i.shortCommit ?? i.commit)}` : '';
  const ref = i.imageRef ? ` <code>${esc(i.imageRef)}</code>` : '';
  return `<li>${name}${commit}${ref}</li>`;
}

/**
 * The HTML changelog upstream returns (base64-encoded) in release info, in the layout of
 * upstream's rendered markdown: heading, creation time, digest, then one section per kind of
 * change and one per updated image.
 */
export function changeLogHtml(c: ChangeLogJson): string {
  const fromLink = `<a target="_blank" href="/releasetag/${esc(encodeURIComponent(c.from.name))}">${esc(c.from.name)}</a>`;
  const parts = [`<h2>Changes from ${fromLink}</h2>`];
  parts.push(`<p>Created: ${esc(goTime(c.to.created))}</p>`);
  if (c.to.digest) parts.push(`<p>Image Digest: <code>${esc(c.to.digest)}</code></p>`);
  const section = (title: string, list?: ChangeLogImage[]) => {
    if (!list?.length) return;
    parts.push(`<h3>${title}</h3>`, `<ul>\n${list.map(imageLine).join('\n')}\n</ul>`);
  };
  section('New images', c.newImages);
  section('Removed images', c.removedImages);
  section('Rebuilt images without code change', c.rebuiltImages);
  for (const i of c.updatedImages ?? []) {
    const title = i.path && i.commit ? link(`${i.path}/tree/${i.commit}`, i.name) : esc(i.name);
    const items = [i.imageRef ? `<li>Image <code>${esc(i.imageRef)}</code></li>` : ''];
    if (i.fullChangeLog) items.push(`<li>${link(i.fullChangeLog, 'Full changelog')}</li>`);
    parts.push(`<h3>${title}</h3>`, `<ul>\n${items.filter(Boolean).join('\n')}\n</ul>`);
  }
  if (!c.newImages && !c.removedImages && !c.rebuiltImages && !c.updatedImages) parts.push('<p>No image changes.</p>');
  return parts.join('\n\n') + '\n';
}
