// Changelog between two payloads (DESIGN.md §8, issue 18), shaped like upstream's `changeLogJson`
// and its HTML/markdown changelog (upstream-behavior.md §6.5, §6.15). Pure: the commit histories
// come in as data (read from git mirrors by src/adapters/git through the changelog service).
import { own } from './own.ts';
import type { Component, Payload } from './types.ts';

export const LABEL_COMMIT = 'io.openshift.build.commit.id';
export const LABEL_SOURCE = 'io.openshift.build.source-location';
/** the OCI equivalents, used when the OpenShift labels are absent */
export const LABEL_COMMIT_OCI = 'org.opencontainers.image.revision';
export const LABEL_SOURCE_OCI = 'org.opencontainers.image.source';
/** a component version an image declares: `1.29.4`, or `name=version[,name=version]` */
export const LABEL_COMPONENT_VERSION = 'io.openshift.release.component-version';
/** upstream's short commit ids are 8 characters (see the recorded release-info fixture) */
export const SHORT_COMMIT_LENGTH = 8;

export interface ChangeLogRelease {
  name: string;
  created: string;
  digest: string;
  promotedFrom?: string;
}

/** One commit, upstream's CommitInfo (Go field order; empty fields omitted). */
export interface ChangeLogCommit {
  bugs?: Record<string, string>;
  issues?: Record<string, string>;
  subject: string;
  pullID?: number;
  pullURL?: string;
  commitID: string;
  commitURL?: string;
}

export interface ChangeLogImage {
  name: string;
  path: string;
  shortCommit?: string;
  commit?: string;
  imageRef?: string;
  commits?: ChangeLogCommit[];
  fullChangeLog?: string;
  /** ours: the commit list stops at a cap (per image or per changelog) */
  capped?: boolean;
  /** ours: why there is no commit list (no mirror, commit not in the mirror, git failed) */
  note?: string;
}

export interface ChangeLogComponent {
  name: string;
  version: string;
  /** the version in the `from` payload, when it differs */
  from?: string;
}

/** Field order is upstream's (Go struct order); empty lists are omitted as upstream does. */
export interface ChangeLogJson {
  from: ChangeLogRelease;
  to: ChangeLogRelease;
  components?: ChangeLogComponent[];
  newImages?: ChangeLogImage[];
  removedImages?: ChangeLogImage[];
  rebuiltImages?: ChangeLogImage[];
  updatedImages?: ChangeLogImage[];
  /** ours: some commit list was capped */
  capped?: boolean;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Go's zero value of the changelog, which upstream sends when there is no previous release. */
export function emptyChangeLog(): ChangeLogJson {
  return { from: { name: '', created: ZERO_TIME, digest: '' }, to: { name: '', created: ZERO_TIME, digest: '' } };
}

// ---------------------------------------------------------------------------------------------
// Settings and commit subjects

export interface ChangeLogSettings {
  /** issue keys in subjects (default Jira style) */
  issueKeyPattern: string;
  /** `{key}` is replaced by the (URL-encoded) key; "" → keys listed without links */
  issueUrlTemplate: string;
  maxCommitsPerImage: number;
  maxCommits: number;
}

export const DEFAULT_ISSUE_KEY_PATTERN = '[A-Z][A-Z0-9]+-[0-9]+';
export const DEFAULT_CHANGELOG_SETTINGS: ChangeLogSettings = {
  issueKeyPattern: DEFAULT_ISSUE_KEY_PATTERN,
  issueUrlTemplate: 'https://issues.redhat.com/browse/{key}',
  maxCommitsPerImage: 1000,
  maxCommits: 10000,
};

/** The pattern compiled, or an error message naming what is wrong with it. */
export function compileIssuePattern(pattern: string): RegExp | string {
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'g');
  } catch (e) {
    return `not a valid regular expression: ${(e as Error).message}`;
  }
  if (re.test('')) return 'must not match the empty string';
  re.lastIndex = 0;
  return re;
}

export function issueUrl(template: string, key: string): string {
  return template ? template.split('{key}').join(encodeURIComponent(key)) : '';
}

/** A commit as git reports it: id, subject and body (only merges use the body). */
export interface RawCommit {
  id: string;
  subject: string;
  body: string;
}

const MERGE = /^Merge pull request #(\d+) from \S+/;
const SQUASH = /\s*\(#(\d+)\)\s*$/;
const BUG = /^\[?Bug (\d+)\]?\s*:\s*/i;

export interface ParsedSubject {
  subject: string;
  pullID?: number;
  bugs: string[];
  issues: string[];
}

/**
 * What a commit says about itself: a GitHub merge (`Merge pull request #N from …`, the title is
 * the body's first line) or squash (`title (#N)`) gives the PR number; a leading `Bug N:` a
 * Bugzilla bug; issue keys anywhere are collected, and leading ones (`KEY-1, KEY-2: title`)
 * are taken off the subject as upstream shows it.
 */
export function parseSubject(c: Pick<RawCommit, 'subject' | 'body'>, issueKey: RegExp): ParsedSubject {
  let subject = c.subject.trim();
  let pullID: number | undefined;
  const merge = MERGE.exec(subject);
  if (merge) {
    pullID = Number(merge[1]);
    const title = c.body.split('\n').map((l) => l.trim()).find(Boolean);
    subject = title ?? subject;
  } else {
    const squash = SQUASH.exec(subject);
    if (squash) {
      pullID = Number(squash[1]);
      subject = subject.slice(0, squash.index).trim();
    }
  }
  const bugs: string[] = [];
  const issues: string[] = [];
  // leading keys: `KEY: `, `KEY, KEY: `, `[KEY] ` and `Bug N: ` in any mix
  for (;;) {
    const bug = BUG.exec(subject);
    if (bug) {
      bugs.push(bug[1]);
      subject = subject.slice(bug[0].length);
      continue;
    }
    const key = leadingKey(subject, issueKey);
    if (!key) break;
    issues.push(key.key);
    subject = subject.slice(key.length);
  }
  for (const m of subject.matchAll(new RegExp(issueKey.source, 'g'))) if (m[0]) issues.push(m[0]);
  return { subject: subject.trim() || c.subject.trim(), ...(pullID !== undefined && Number.isSafeInteger(pullID) ? { pullID } : {}), bugs: [...new Set(bugs)], issues: [...new Set(issues)] };
}

/** A key at the start of `s` followed by `:`, `,` or `]` (and spaces): the key and how much to strip. */
function leadingKey(s: string, issueKey: RegExp): { key: string; length: number } | null {
  const open = s.startsWith('[') ? 1 : 0;
  const re = new RegExp(`^(?:${issueKey.source})`);
  const m = re.exec(s.slice(open));
  if (!m || !m[0]) return null;
  const rest = s.slice(open + m[0].length);
  const sep = (open ? /^\]\s*:?\s*/ : /^\s*[:,]\s*/).exec(rest);
  if (!sep) return null;
  return { key: m[0], length: open + m[0].length + sep[0].length };
}

// ---------------------------------------------------------------------------------------------
// Sources

/** The commit id an image was built from (OpenShift label, else OCI), "" when unknown. */
export function commitOf(c: Component): string {
  return (own(c.labels, LABEL_COMMIT) || own(c.labels, LABEL_COMMIT_OCI) || '').trim();
}

/** The source repository an image was built from, without a trailing `/` or `.git`. */
export function sourceOf(c: Component): string {
  return (own(c.labels, LABEL_SOURCE) || own(c.labels, LABEL_SOURCE_OCI) || '').trim().replace(/\/+$/, '').replace(/\.git$/, '');
}

/** `https://host/org/repo` for GitHub/GitLab sources (also `git@github.com:org/repo`), else "". */
export function webRepo(source: string): string {
  const ssh = /^git@(github\.com|gitlab\.com):([\w.-]+\/[\w./-]+)$/.exec(source);
  if (ssh) return `https://${ssh[1]}/${ssh[2].replace(/\.git$/, '')}`;
  return /^https:\/\/(github\.com|gitlab\.com)\/[\w.-]+\/[\w.-]+/.test(source) ? source : '';
}

const isGitHub = (web: string) => web.startsWith('https://github.com/');

/** where `/commit/<id>` and `/tree/<id>` links of a source go: a web repository, else an http(s) source as given */
function linkBase(path: string): string {
  return webRepo(path) || (/^https?:\/\//i.test(path) ? path : '');
}

function digestOf(pullSpec: string): string {
  const i = pullSpec.indexOf('@');
  return i >= 0 ? pullSpec.slice(i + 1) : '';
}

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
  const web = webRepo(path);
  if (fromCommit && commit && web) out.fullChangeLog = `${web}/compare/${fromCommit}...${commit}`;
  return out;
}

/** `1.29.4` (the component is the image) or `kubernetes=1.29.4,etcd=3.5` (named components). */
function versionsOf(name: string, c: Component | undefined): Map<string, string> {
  const out = new Map<string, string>();
  const v = (c && own(c.labels, LABEL_COMPONENT_VERSION))?.trim();
  if (!v) return out;
  if (!v.includes('=')) out.set(name, v);
  else {
    for (const part of v.split(',')) {
      const [k, ...rest] = part.split('=');
      if (k.trim() && rest.join('=').trim()) out.set(k.trim(), rest.join('=').trim());
    }
  }
  return out;
}

const DISPLAY_NAMES: Record<string, string> = { kubernetes: 'Kubernetes' };

function components(from: Payload, to: Payload): ChangeLogComponent[] {
  const before = new Map<string, string>();
  const after = new Map<string, string>();
  for (const [n, c] of Object.entries(from.components)) for (const [k, v] of versionsOf(n, c)) before.set(k, v);
  for (const [n, c] of Object.entries(to.components)) for (const [k, v] of versionsOf(n, c)) after.set(k, v);
  return [...after.keys()].sort().map((k) => {
    const version = after.get(k)!;
    const old = before.get(k);
    return { name: own(DISPLAY_NAMES, k) ?? k, version, ...(old !== undefined && old !== version ? { from: old } : {}) };
  });
}

// ---------------------------------------------------------------------------------------------
// Building the changelog

/** A commit range one updated image (or several built from the same repository and commits) needs. */
export interface CommitRange {
  key: string;
  source: string;
  from: string;
  to: string;
}

/** The history of one range: its commits (newest first) or why there are none. */
export type RangeHistory = { commits: RawCommit[]; capped: boolean } | { missing: string } | { error: string };

export const rangeKey = (source: string, from: string, to: string) => `${source}\u0000${from}\u0000${to}`;

interface Diff {
  added: ChangeLogImage[];
  removed: ChangeLogImage[];
  rebuilt: ChangeLogImage[];
  /** updated images, grouped by (source, from, to) as upstream does (`cli, cli-artifacts, tools`) */
  updated: { image: ChangeLogImage; range?: CommitRange }[];
}

function diff(from: Payload, to: Payload): Diff {
  const names = [...new Set([...Object.keys(from.components), ...Object.keys(to.components)])].sort();
  const d: Diff = { added: [], removed: [], rebuilt: [], updated: [] };
  const groups = new Map<string, { image: ChangeLogImage; range?: CommitRange }>();
  for (const n of names) {
    const a = own(from.components, n);
    const b = own(to.components, n);
    if (!a && b) d.added.push(image(n, b));
    else if (a && !b) d.removed.push(image(n, a));
    else if (a && b && (a.pullSpec !== b.pullSpec || commitOf(a) !== commitOf(b))) {
      const ca = commitOf(a);
      const cb = commitOf(b);
      if (ca && ca === cb) {
        d.rebuilt.push(image(n, b));
        continue;
      }
      const src = sourceOf(b);
      const key = src && ca && cb ? rangeKey(src, ca, cb) : '';
      const g = key ? groups.get(key) : undefined;
      if (g) {
        g.image.name += `, ${n}`;
        continue;
      }
      const entry = { image: image(n, b, ca), ...(key ? { range: { key, source: src, from: ca, to: cb } } : {}) };
      if (key) groups.set(key, entry);
      d.updated.push(entry);
    }
  }
  return d;
}

/** The commit ranges the changelog from `from` to `to` needs (one per repository and commit pair). */
export function commitRanges(from: Payload, to: Payload): CommitRange[] {
  return diff(from, to).updated.flatMap((u) => (u.range ? [u.range] : []));
}

function commitEntry(raw: RawCommit, web: string, s: ChangeLogSettings, issueKey: RegExp): ChangeLogCommit {
  const p = parseSubject(raw, issueKey);
  const out: ChangeLogCommit = { subject: p.subject, commitID: raw.id };
  if (p.bugs.length) out.bugs = Object.fromEntries(p.bugs.map((b) => [b, `https://bugzilla.redhat.com/show_bug.cgi?id=${b}`]));
  if (p.issues.length) out.issues = Object.fromEntries(p.issues.map((k) => [k, issueUrl(s.issueUrlTemplate, k)]));
  if (p.pullID !== undefined) {
    out.pullID = p.pullID;
    if (isGitHub(web)) out.pullURL = `${web}/pull/${p.pullID}`;
  }
  if (web) out.commitURL = `${web}/commit/${raw.id}`;
  // upstream's field order
  return {
    ...(out.bugs ? { bugs: out.bugs } : {}),
    ...(out.issues ? { issues: out.issues } : {}),
    subject: out.subject,
    ...(out.pullID !== undefined ? { pullID: out.pullID } : {}),
    ...(out.pullURL ? { pullURL: out.pullURL } : {}),
    commitID: out.commitID,
    ...(out.commitURL ? { commitURL: out.commitURL } : {}),
  };
}

/**
 * Components added (newImages), removed (removedImages), rebuilt from the same commit
 * (rebuiltImages) and changed (updatedImages) between `from` and `to`, sorted by name. With
 * `histories` (range key → history), each updated image lists its commits, capped per image
 * and per changelog; a range without history gets a note instead (the compare link stays).
 */
export function changeLog(from: Payload, to: Payload, histories?: ReadonlyMap<string, RangeHistory>, settings: ChangeLogSettings = DEFAULT_CHANGELOG_SETTINGS): ChangeLogJson {
  return finish(changeLogSteps(from, to, histories, settings));
}

/** Runs a step generator to its end (the synchronous form of the `…Steps` functions). */
export function finish<T>(g: Generator<void, T>): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}

/**
 * `changeLog` as steps: it yields after each updated image, so a caller can give the event loop
 * a turn between images (a changelog of 10,000 commits takes tens of milliseconds to build).
 */
export function* changeLogSteps(from: Payload, to: Payload, histories?: ReadonlyMap<string, RangeHistory>, settings: ChangeLogSettings = DEFAULT_CHANGELOG_SETTINGS): Generator<void, ChangeLogJson> {
  const out: ChangeLogJson = {
    from: { name: from.tag, created: from.createdAt, digest: from.digest },
    to: { name: to.tag, created: to.createdAt, digest: to.digest },
  };
  const comps = components(from, to);
  if (comps.length) out.components = comps;
  const d = diff(from, to);
  if (d.added.length) out.newImages = d.added;
  if (d.removed.length) out.removedImages = d.removed;
  if (d.rebuilt.length) out.rebuiltImages = d.rebuilt;
  if (d.updated.length) out.updatedImages = d.updated.map((u) => u.image);
  if (!histories || !d.updated.length) return out;
  const issueKey = compileIssuePattern(settings.issueKeyPattern);
  const re = typeof issueKey === 'string' ? (compileIssuePattern(DEFAULT_ISSUE_KEY_PATTERN) as RegExp) : issueKey;
  let budget = settings.maxCommits;
  out.updatedImages = [];
  for (const u of d.updated) {
    out.updatedImages.push(withCommits(u));
    yield;
  }
  if (!out.updatedImages.length) delete out.updatedImages;
  return out;

  function withCommits(u: Diff['updated'][number]): ChangeLogImage {
    const img = u.image;
    if (!u.range) {
      img.note = !img.commit ? 'no commit label on the image' : !img.path ? 'no source repository label on the image' : 'no commit label on the previous image';
      return img;
    }
    const h = histories!.get(u.range.key);
    if (!h) return img;
    if ('missing' in h) return { ...img, note: h.missing };
    if ('error' in h) return { ...img, note: `git failed: ${h.error}` };
    const web = webRepo(u.range.source);
    const list = h.commits.slice(0, Math.max(0, Math.min(settings.maxCommitsPerImage, budget)));
    budget -= list.length;
    const capped = h.capped || list.length < h.commits.length;
    if (capped) out.capped = true;
    // upstream's key order: commits before fullChangeLog; ours last
    const { fullChangeLog, ...head } = img;
    return { ...head, commits: list.map((c) => commitEntry(c, web, settings, re)), ...(fullChangeLog ? { fullChangeLog } : {}), ...(capped ? { capped } : {}) };
  }
}

/** Are all commit lists complete (no note from a missing mirror/commit or a git failure)? */
export function isComplete(c: ChangeLogJson): boolean {
  return !(c.updatedImages ?? []).some((i) => i.note !== undefined && !/^no (commit|source)/.test(i.note));
}

// ---------------------------------------------------------------------------------------------
// Rendering

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
  const web = linkBase(i.path);
  const name = web ? link(web, i.name) : esc(i.name);
  const commit = i.commit ? ` git ${web ? link(`${web}/commit/${i.commit}`, i.shortCommit ?? i.commit) : esc(i.shortCommit ?? i.commit)}` : '';
  const ref = i.imageRef ? ` <code>${esc(i.imageRef)}</code>` : '';
  return `<li>${name}${commit}${ref}</li>`;
}

function commitLineHtml(c: ChangeLogCommit): string {
  const keys = [
    ...Object.entries(c.bugs ?? {}).map(([b, u]) => (u ? link(u, `Bug ${b}`) : esc(`Bug ${b}`))),
    ...Object.entries(c.issues ?? {}).map(([k, u]) => (u ? link(u, k) : esc(k))),
  ];
  const ref = c.pullID !== undefined ? (c.pullURL ? link(c.pullURL, `#${c.pullID}`) : esc(`#${c.pullID}`)) : c.commitURL ? link(c.commitURL, c.commitID.slice(0, SHORT_COMMIT_LENGTH)) : esc(c.commitID.slice(0, SHORT_COMMIT_LENGTH));
  return `<li>${keys.length ? `${keys.join(', ')}: ` : ''}${esc(c.subject)} ${ref}</li>`;
}

function cappedText(i: ChangeLogImage): string {
  return `commit list capped at ${i.commits?.length ?? 0} commits; see the full changelog`;
}

/**
 * The HTML changelog upstream returns (base64-encoded) in release info, in the layout of
 * upstream's rendered markdown: heading, creation time, digest, components, then one section
 * per kind of change and one per updated image with its commits.
 */
export function changeLogHtml(c: ChangeLogJson): string {
  return finish(changeLogHtmlSteps(c));
}

/** `changeLogHtml` as steps (one per updated image). */
export function* changeLogHtmlSteps(c: ChangeLogJson): Generator<void, string> {
  const fromLink = `<a target="_blank" href="/releasetag/${esc(encodeURIComponent(c.from.name))}">${esc(c.from.name)}</a>`;
  const parts = [`<h2>Changes from ${fromLink}</h2>`];
  parts.push(`<p>Created: ${esc(goTime(c.to.created))}</p>`);
  if (c.to.digest) parts.push(`<p>Image Digest: <code>${esc(c.to.digest)}</code></p>`);
  if (c.components?.length) {
    parts.push('<h3>Components</h3>', `<ul>\n${c.components.map((x) => `<li>${esc(x.name)} ${esc(x.version)}${x.from ? ` (from ${esc(x.from)})` : ''}</li>`).join('\n')}\n</ul>`);
  }
  const section = (title: string, list?: ChangeLogImage[]) => {
    if (!list?.length) return;
    parts.push(`<h3>${title}</h3>`, `<ul>\n${list.map(imageLine).join('\n')}\n</ul>`);
  };
  section('New images', c.newImages);
  section('Removed images', c.removedImages);
  section('Rebuilt images without code change', c.rebuiltImages);
  for (const i of c.updatedImages ?? []) {
    const web = linkBase(i.path);
    const title = web && i.commit ? link(`${web}/tree/${i.commit}`, i.name) : esc(i.name);
    const items = (i.commits ?? []).map(commitLineHtml);
    if (!i.commits && i.imageRef) items.push(`<li>Image <code>${esc(i.imageRef)}</code></li>`);
    if (i.capped) items.push(`<li><em>${esc(cappedText(i))}</em></li>`);
    if (i.note) items.push(`<li><em>${esc(i.note)}</em></li>`);
    if (i.fullChangeLog) items.push(`<li>${link(i.fullChangeLog, 'Full changelog')}</li>`);
    parts.push(`<h3>${title}</h3>`, `<ul>\n${items.join('\n')}\n</ul>`);
    yield;
  }
  if (!c.newImages && !c.removedImages && !c.rebuiltImages && !c.updatedImages) parts.push('<p>No image changes.</p>');
  return parts.join('\n\n') + '\n';
}

/** Text that cannot open a link, an image or an HTML tag when the markdown is rendered. */
function mdText(s: string): string {
  return s.replace(/[\\[\]<>`*_]/g, (ch) => `\\${ch}`).replace(/[\r\n]+/g, ' ');
}

/** A link target markdown cannot break out of (only http(s) and site-relative links). */
function mdLink(href: string, text: string): string {
  if (!/^(https?:\/\/|\/)/i.test(href)) return mdText(text);
  return `[${mdText(text)}](${href.replace(/[()\s<>]/g, (ch) => encodeURIComponent(ch))})`;
}

function commitLineMd(c: ChangeLogCommit): string {
  const keys = [
    ...Object.entries(c.bugs ?? {}).map(([b, u]) => (u ? mdLink(u, `Bug ${b}`) : mdText(`Bug ${b}`))),
    ...Object.entries(c.issues ?? {}).map(([k, u]) => (u ? mdLink(u, k) : mdText(k))),
  ];
  const short = c.commitID.slice(0, SHORT_COMMIT_LENGTH);
  const ref = c.pullID !== undefined ? (c.pullURL ? mdLink(c.pullURL, `#${c.pullID}`) : `#${c.pullID}`) : c.commitURL ? mdLink(c.commitURL, short) : short;
  return `* ${keys.length ? `${keys.join(', ')}: ` : ''}${mdText(c.subject)} ${ref}`;
}

function imageLineMd(i: ChangeLogImage): string {
  const web = linkBase(i.path);
  const name = web ? mdLink(web, i.name) : mdText(i.name);
  const commit = i.commit ? ` git ${web ? mdLink(`${web}/commit/${i.commit}`, i.shortCommit ?? i.commit) : mdText(i.shortCommit ?? i.commit)}` : '';
  return `* ${name}${commit}${i.imageRef ? ` \`${i.imageRef.replace(/`/g, '')}\`` : ''}`;
}

/** The markdown changelog (`/changelog?format=markdown`), in upstream's layout. */
export function changeLogMarkdown(c: ChangeLogJson): string {
  return finish(changeLogMarkdownSteps(c));
}

/** `changeLogMarkdown` as steps (one per updated image). */
export function* changeLogMarkdownSteps(c: ChangeLogJson): Generator<void, string> {
  const parts = [`## Changes from ${mdLink(`/releasetag/${encodeURIComponent(c.from.name)}`, c.from.name)}`, `Created: ${mdText(goTime(c.to.created))}`];
  if (c.to.digest) parts.push(`Image Digest: \`${c.to.digest.replace(/`/g, '')}\``);
  if (c.components?.length) parts.push('### Components', c.components.map((x) => `* ${mdText(x.name)} ${mdText(x.version)}${x.from ? ` (from ${mdText(x.from)})` : ''}`).join('\n'));
  const section = (title: string, list?: ChangeLogImage[]) => {
    if (list?.length) parts.push(`### ${title}`, list.map(imageLineMd).join('\n'));
  };
  section('New images', c.newImages);
  section('Removed images', c.removedImages);
  section('Rebuilt images without code change', c.rebuiltImages);
  for (const i of c.updatedImages ?? []) {
    const web = linkBase(i.path);
    const lines = (i.commits ?? []).map(commitLineMd);
    if (i.capped) lines.push(`* _${mdText(cappedText(i))}_`);
    if (i.note) lines.push(`* _${mdText(i.note)}_`);
    if (i.fullChangeLog) lines.push(`* ${mdLink(i.fullChangeLog, 'Full changelog')}`);
    parts.push(`### ${web && i.commit ? mdLink(`${web}/tree/${i.commit}`, i.name) : mdText(i.name)}`);
    if (lines.length) parts.push(lines.join('\n'));
    yield;
  }
  if (!c.newImages && !c.removedImages && !c.rebuiltImages && !c.updatedImages) parts.push('No image changes.');
  return parts.join('\n\n') + '\n';
}
