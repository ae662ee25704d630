// Console rendering on a pure in-memory State: labels, escaping, relative time, ordering,
// summaries, pagination and filters, release page content, 404 pages and headers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { State } from '../../src/controller/state.ts';
import type { Operations } from '../../src/controller/operations.ts';
import { ReleaseConfigSchema } from '../../src/domain/config/schema.ts';
import type { EventRecord, JobRun, Payload, StreamRecord } from '../../src/domain/types.ts';
import { createPages, CSP } from '../../src/http/pages/index.ts';
import { JOB_LABELS, PHASE_LABELS, QE_LABELS, contrastRatio, phaseLabel, qeLabel } from '../../src/http/pages/labels.ts';
import { relativeTime } from '../../src/http/pages/time.ts';
import { renderMarkdown } from '../../src/http/pages/markdown.ts';
import { esc, h, safeHref } from '../../src/http/pages/html.ts';
import { sortStreams, summarizeStream } from '../../src/http/pages/cells.ts';
import { diffComponents } from '../../src/http/pages/changelog.ts';
import { attemptsText } from '../../src/http/pages/release.ts';
import type { InputImportStatus } from '../../src/http/pages/stream.ts';
import { nightlyConfig, sampleSnapshot, SAMPLE_NOW } from '../../src/http/pages/sample.ts';
import type { Snapshot } from '../../src/ports/store.ts';

const NOW = SAMPLE_NOW;

function opsFor(state: State, events: EventRecord[] = []): Operations {
  return {
    state,
    listEvents: async (q: { stream?: string; tag?: string }) => events.filter((e) => (q.stream === undefined || e.stream === q.stream) && (q.tag === undefined || e.tag === q.tag)),
    subscribe: () => () => undefined,
  } as unknown as Operations;
}

async function appFor(state: State, events: EventRecord[] = []) {
  const app = Fastify();
  await app.register(createPages(opsFor(state, events), { now: () => NOW, artifactsUrl: 'https://artifacts.example.com' }));
  await app.ready();
  return app;
}

function rec(raw: Record<string, unknown>, input = 'in'): StreamRecord {
  const config = ReleaseConfigSchema.parse(raw);
  return { name: config.name, config, sourceFile: 'x.json', input, errors: [], warnings: [], locked: false };
}

function payload(stream: string, tag: string, phase: Payload['phase'], createdAt: string, extra: Partial<Payload> = {}): Payload {
  return {
    stream, tag, phase, createdAt, inputHash: 'h', pullSpec: phase === 'Pending' ? '' : `registry.local/release:${tag}`, digest: '', components: {},
    reason: '', message: '', annotations: {}, override: null,
    qe: { state: '', reason: '', message: '', startedAt: null, deadline: null, generation: 0, jobs: [], override: null },
    phaseChangedAt: createdAt, ...extra,
  };
}

function run(p: Payload, verifyName: string, extra: Partial<JobRun> = {}): JobRun {
  const id = `${p.tag}-${verifyName}${extra.attempt ? `-${extra.attempt}` : ''}`;
  return {
    id, stream: p.stream, tag: p.tag, verifyName, jobName: `job-${verifyName}`, kind: 'blocking', attempt: 0, generation: 0, state: 'Succeeded',
    url: `/logs/${id}`, upgradeFrom: '', upgradeFromPullSpec: '', createdAt: p.createdAt, startedAt: p.createdAt, finishedAt: p.createdAt,
    reason: '', logPath: `/nonexistent/${id}.log`, ...extra,
  };
}

function snap(s: Partial<Snapshot>): Snapshot {
  return { streams: [], inputTags: [], payloads: [], jobRuns: [], upgrades: [], published: [], ...s };
}

// ---------------------------------------------------------------- labels

test('labels: every phase and QE state has its own text, icon, class and data attribute', () => {
  for (const phase of ['Pending', 'Ready', 'Accepted', 'Rejected', 'Failed'] as const) {
    const html = phaseLabel({ phase, override: null }).value;
    assert.match(html, new RegExp(`data-phase="${phase}"`));
    assert.match(html, new RegExp(`> ${phase}</span>$`));
    assert.match(html, new RegExp(`class="label phase-${phase.toLowerCase()}"`));
    assert.match(html, /<span class="icon" aria-hidden="true">.<\/span>/u);
  }
  const texts = { QEPending: 'QE Pending', QERunning: 'QE Running', QEAccepted: 'QE Accepted', QERejected: 'QE Rejected', QESkipped: 'QE Skipped' } as const;
  for (const [st, text] of Object.entries(texts)) {
    const p = payload('s', 't', 'Accepted', '2025-01-01T00:00:00Z');
    p.qe.state = st as Payload['qe']['state'];
    const html = qeLabel(p).value;
    assert.match(html, new RegExp(`data-qe="${st}"`));
    assert.ok(html.includes(`> ${text}</span>`), html);
  }
  // icons differ between the states colour-blind users must tell apart
  assert.equal(new Set(Object.values(PHASE_LABELS).map((l) => l.icon)).size, Object.keys(PHASE_LABELS).length);
  assert.equal(new Set(Object.values(QE_LABELS).map((l) => l.icon)).size, Object.keys(QE_LABELS).length);
  // empty QE state keeps a patchable placeholder
  assert.equal(qeLabel(payload('s', 't', 'Ready', '2025-01-01T00:00:00Z')).value, '<span class="label-slot" data-qe=""></span>');
});

test('labels: an override shows a trailing * and who/why as tooltip, escaped', () => {
  const p = payload('s', 't', 'Accepted', '2025-01-01T00:00:00Z', { override: { phase: 'Accepted', reason: 'flake "x" <b>', user: 'alice', at: '2025-01-01T01:00:00Z' } });
  const html = phaseLabel(p).value;
  assert.ok(html.includes('Accepted*</span>'));
  assert.ok(html.includes('title="Manually Accepted by alice: flake &quot;x&quot; &lt;b&gt;"'), html);
});

test('labels: text and background meet WCAG AA contrast (4.5:1)', () => {
  for (const [name, l] of [...Object.entries(PHASE_LABELS), ...Object.entries(QE_LABELS), ...Object.entries(JOB_LABELS)]) {
    const r = contrastRatio(l.fg, l.bg);
    assert.ok(r >= 4.5, `${name}: ${l.fg} on ${l.bg} has contrast ${r.toFixed(2)}`);
  }
});

// ---------------------------------------------------------------- time

test('relative time: upstream buckets (integer division, 30-day months, 360-day years)', () => {
  const s = 1000;
  const m = 60 * s;
  const hr = 60 * m;
  const d = 24 * hr;
  const rows: [number, string][] = [
    [0, 'now'], [999, 'now'], [s, '1 seconds ago'], [119 * s, '119 seconds ago'], [2 * m, '2 minutes ago'], [119 * m + 59 * s, '119 minutes ago'],
    [2 * hr, '2 hours ago'], [47 * hr, '47 hours ago'], [2 * d, '2 days ago'], [20 * d, '20 days ago'], [21 * d, '3 weeks ago'],
    [89 * d, '12 weeks ago'], [90 * d, '3 months ago'], [1079 * d, '35 months ago'], [1080 * d, 'a long while ago'],
    [-5 * m, '5 minutes from now'], [-3 * d, '3 days from now'],
  ];
  for (const [ago, want] of rows) assert.equal(relativeTime(NOW - ago, NOW), want, `${ago} ms ago`);
  assert.equal(relativeTime('2025-03-01T11:00:00Z', NOW), '60 minutes ago');
});

// ---------------------------------------------------------------- escaping

test('html: h escapes interpolations; safeHref refuses javascript:, data: and protocol-relative URLs', () => {
  assert.equal(h`<p>${'<script>"x"&\''}</p>`.value, '<p>&lt;script&gt;&quot;x&quot;&amp;&#39;</p>');
  assert.equal(esc(undefined), '');
  for (const bad of ['javascript:alert(1)', ' JavaScript:alert(1)', 'data:text/html,x', '//evil.example.com', 'vbscript:x']) assert.equal(safeHref(bad), null, bad);
  for (const ok of ['https://x.example.com/a?b=1', 'http://x', 'mailto:a@b.c', '/logs/x']) assert.equal(safeHref(ok), ok);
});

test('markdown: stream messages render safely (no raw HTML, no script links, no images)', () => {
  const out = renderMarkdown('Hi <script>alert(1)</script> **bold** [x](javascript:alert(1)) [ok](https://ok.example.com) ![i](https://img.example.com/a.png) <img src=x onerror=alert(1)>').value;
  assert.ok(!out.includes('<script'), out);
  assert.ok(out.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), out);
  assert.ok(!/href="javascript:/i.test(out), out);
  assert.ok(!out.includes('<img'), out);
  assert.ok(out.includes('<strong>bold</strong>'));
  assert.ok(out.includes('<a href="https://ok.example.com" rel="noopener noreferrer nofollow">ok</a>'), out);
});

test('escaping: hostile stream message, names, reasons, job names and events render as text on every page', async () => {
  const evil = '<script>alert("xss")</script>';
  const stream = rec({
    name: 'evil-<b>stream</b>',
    message: `Attention ${evil} <img src=x onerror=alert(1)> [click](javascript:alert(1))`,
    verify: { [`job-${evil}`]: { prowJob: { name: `prow-${evil}` } }, 'qe-<i>x</i>': { qe: true, prowJob: { name: 'qe' } } },
    publish: { t: { tagRef: { name: `tag-${evil}` } } },
  });
  const tag = `t-"quoted"-<x>`;
  const p = payload(stream.name, tag, 'Rejected', '2025-03-01T10:00:00Z', {
    reason: `VerificationFailed ${evil}`, message: `failed: ${evil}`, pullSpec: `registry.local/x@sha256:${'a'.repeat(64)}"><script>`,
    override: { phase: 'Rejected', reason: `see ${evil} https://bugs.example.com/1"onmouseover="x`, user: `mallory${evil}`, at: '2025-03-01T11:00:00Z' },
    components: { [`c${evil}`]: { pullSpec: 'a@sha256:1', labels: { 'io.openshift.build.source-location': 'javascript:alert(1)', 'io.openshift.build.commit.id': evil } } },
    annotations: { 'release.openshift.io/keep': evil },
  });
  p.qe = { ...p.qe, state: 'QERejected', reason: evil, message: evil, override: { phase: 'QERejected', reason: evil, user: evil, at: '2025-03-01T11:00:00Z' } };
  const older = payload(stream.name, 'older', 'Accepted', '2025-03-01T09:00:00Z', { components: {} });
  const state = State.fromSnapshot(
    snap({
      streams: [stream],
      payloads: [p, older],
      jobRuns: [run(p, `job-${evil}`, { state: 'Failed', reason: evil, url: 'javascript:alert(1)' }), run(p, 'qe-<i>x</i>', { kind: 'qe', state: 'Failed', reason: evil })],
    }),
  );
  const events: EventRecord[] = [{ id: 1, at: '2025-03-01T11:00:00Z', stream: stream.name, tag, type: `T${evil}`, actor: evil, message: evil, data: {} }];
  const app = await appFor(state, events);
  const urls = [
    '/',
    `/releasestream/${encodeURIComponent(stream.name)}`,
    `/releasestream/${encodeURIComponent(stream.name)}/release/${encodeURIComponent(tag)}`,
    `/releasetag/${encodeURIComponent(tag)}`,
    `/releasestream/${encodeURIComponent('<script>nope')}`,
  ];
  const pages = [];
  for (const u of urls) pages.push(await app.inject(u));
  for (const [i, r] of pages.entries()) {
    const body = r.body;
    assert.ok(!body.includes(evil), `raw script in ${urls[i]}: ${body.slice(body.indexOf(evil) - 200, body.indexOf(evil) + 50)}`);
    assert.ok(!/<script>/i.test(body), 'no inline script element at all');
    assert.ok(!/href="\s*javascript:/i.test(body), 'no javascript: link');
    assert.ok(!/<img/i.test(body), 'no injected image');
    assert.ok(!body.includes('<b>stream</b>'), 'stream name escaped');
    assert.ok(!/"onmouseover=/.test(body), 'no attribute breakout');
    assert.equal(r.headers['content-security-policy'], CSP);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
  }
  assert.ok(pages[0].body.includes('Attention &lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;'), 'message visible as text');
  const release = pages[2].body;
  assert.equal(pages[2].statusCode, 200);
  assert.ok(release.includes('Manual Override Applied'));
  assert.ok(release.includes('mallory&lt;script&gt;'));
  assert.ok(release.includes('job-&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;'), 'job name escaped');
  assert.ok(release.includes('<a href="https://bugs.example.com/1" rel="noopener noreferrer">https://bugs.example.com/1</a>&quot;onmouseover=&quot;x'), 'URLs in reasons become links, quotes escaped');
  assert.equal(pages[4].statusCode, 404);
  await app.close();
});

// ---------------------------------------------------------------- overview

test('overview: upstream order, hidden streams collapsed, end-of-life omitted, newest five rows, summary line', async () => {
  const state = State.fromSnapshot(sampleSnapshot({ payloads: 30 }));
  const order = sortStreams(state.streams()).map((s) => s.name);
  assert.deepEqual(order, ['4-stable', '4.18.0-0.ci', '4.18.0-0.nightly', '4.17.0-0.nightly', '4.10.0-0.nightly', '4.18.0-0.okd']);
  const app = await appFor(state);
  const r = await app.inject('/');
  assert.equal(r.statusCode, 200);
  const body = r.body;
  assert.ok(!body.includes('4.10.0-0.nightly'), 'end-of-life stream omitted');
  const ids = [...body.matchAll(/<h2 id="([^"]+)" title/g)].map((m) => m[1]);
  assert.deepEqual(ids, ['4-stable', '4.18.0-0.ci', '4.18.0-0.nightly', '4.17.0-0.nightly', '4.18.0-0.okd']);
  assert.ok(/<details class="hidden-streams"><summary>Hidden streams \(1\)<\/summary><section[^>]*data-stream="4.18.0-0.okd"/.test(body));
  const nightlyRows = [...body.matchAll(/<tr data-tag="(4\.18\.0-0\.nightly-[^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(nightlyRows, state.payloads('4.18.0-0.nightly').slice(0, 5).map((p) => p.tag));
  // default description for a stream without message
  assert.ok(body.includes('updated when <code>4.18</code> changes, promote to tag <code>4.18-ci</code>'));
  assert.ok(body.includes('<p>Official releases.</p>'));
  await app.close();
});

test('summary line: counts exactly what happened since the last accepted payload', () => {
  const s = rec({ name: '4.19.0-0.nightly', verify: { q: { qe: true, prowJob: { name: 'q' } } } });
  const ps = [
    payload(s.name, 'p6', 'Pending', '2025-03-01T11:00:00Z'),
    payload(s.name, 'p5', 'Rejected', '2025-03-01T10:00:00Z'),
    payload(s.name, 'p4', 'Failed', '2025-03-01T09:00:00Z'),
    payload(s.name, 'p3', 'Rejected', '2025-03-01T08:00:00Z'),
    payload(s.name, 'p2', 'Accepted', '2025-03-01T07:00:00Z'),
    payload(s.name, 'p1', 'Accepted', '2025-03-01T06:00:00Z'),
  ];
  ps[5].qe.state = 'QEAccepted';
  ps[4].qe.state = 'QERunning';
  const state = State.fromSnapshot(snap({ streams: [s], payloads: ps }));
  const sum = summarizeStream(state, s);
  assert.equal(sum.lastAccepted?.tag, 'p2');
  assert.equal(sum.rejectedSince, 2);
  assert.equal(sum.failedSince, 1);
  assert.equal(sum.lastQEAccepted?.tag, 'p1');
  assert.equal(sum.qeRunning, 1);
  assert.equal(sum.pendingOrReady, 1);
});

test('summary line rendering', async () => {
  const s = rec({ name: '4.19.0-0.nightly', verify: { q: { qe: true, prowJob: { name: 'q' } } } });
  const ps = [payload(s.name, 'p3', 'Rejected', '2025-03-01T11:00:00Z'), payload(s.name, 'p2', 'Rejected', '2025-03-01T10:30:00Z'), payload(s.name, 'p1', 'Accepted', '2025-03-01T09:00:00Z')];
  ps[2].qe.state = 'QEAccepted';
  const app = await appFor(State.fromSnapshot(snap({ streams: [s], payloads: ps })));
  const body = (await app.inject('/')).body;
  const line = body.match(/<p class="summary">(.*?)<\/p>/)?.[1] ?? '';
  const text = line.replace(/<[^>]+>/g, '');
  assert.equal(text, 'Last accepted p1 3 hours ago · 2 rejected since · QE accepted p1');
  const empty = await appFor(State.fromSnapshot(snap({ streams: [rec({ name: 'empty' })] })));
  assert.match((await empty.inject('/')).body, /<p class="summary">No payloads yet\.<\/p>/);
  await app.close();
  await empty.close();
});

// ---------------------------------------------------------------- stream page

test('stream page: a failing registry import of the stream\'s input is shown, escaped, with attempts and what is kept; other inputs and good imports are not', async () => {
  const state = State.fromSnapshot(sampleSnapshot({ payloads: 3, otherStreams: false }));
  const ago = (ms: number) => new Date(NOW - ms).toISOString();
  let imports: InputImportStatus[] = [
    { input: '4.18-art-latest', repository: 'reg:5000/ocp/art', lastImport: ago(600_000), error: 'registry reg:5000, repository ocp/art: unreachable <script>x</script>', errorSince: ago(120_000), failures: 3 },
    { input: 'other-input', repository: 'reg:5000/ocp/other', lastImport: null, error: 'HTTP 401 (credentials refused)', errorSince: ago(1000), failures: 1 },
  ];
  const app = Fastify();
  await app.register(createPages(opsFor(state), { now: () => NOW, imports: () => imports }));
  await app.ready();
  const body = (await app.inject('/releasestream/4.18.0-0.nightly')).body;
  const notice = /<div class="box danger import-error" role="alert" data-import-error="4\.18-art-latest">(.*?)<\/div>/.exec(body);
  assert.ok(notice, body);
  assert.equal(notice[1].replace(/<[^>]+>/g, ''), 'Import failing: input 4.18-art-latest from reg:5000/ocp/art: registry reg:5000, repository ocp/art: unreachable &lt;script&gt;x&lt;/script&gt; (3 attempts, the first 2 minutes ago; retrying with backoff; the input last imported 10 minutes ago is kept)');
  assert.ok(!body.includes('<script>x'), 'escaped');
  assert.ok(!body.includes('credentials refused'), 'another input\'s problem is not shown here');
  imports = [{ ...imports[0], error: null, errorSince: null, failures: 0 }];
  assert.ok(!(await app.inject('/releasestream/4.18.0-0.nightly')).body.includes('import-error'), 'cleared once an import succeeds');
  await app.close();
});

test('stream page: 50 rows a page, pager links keep filters, out-of-range pages clamp', async () => {
  const state = State.fromSnapshot(sampleSnapshot({ payloads: 120, otherStreams: false }));
  const app = await appFor(state);
  const rows = (body: string) => [...body.matchAll(/<tr data-tag="([^"]+)"/g)].map((m) => m[1]);
  const all = state.payloads('4.18.0-0.nightly').map((p) => p.tag);
  const p1 = await app.inject('/releasestream/4.18.0-0.nightly');
  assert.equal(p1.statusCode, 200);
  assert.deepEqual(rows(p1.body), all.slice(0, 50));
  assert.ok(p1.body.includes('1–50 of 120'));
  assert.ok(p1.body.includes('href="/releasestream/4.18.0-0.nightly?page=2" rel="next"'));
  const p3 = await app.inject('/releasestream/4.18.0-0.nightly?page=3');
  assert.deepEqual(rows(p3.body), all.slice(100));
  const p99 = await app.inject('/releasestream/4.18.0-0.nightly?page=99');
  assert.deepEqual(rows(p99.body), all.slice(100));
  const bad = await app.inject('/releasestream/4.18.0-0.nightly?page=-3&phase=Bogus&qe=<x>');
  assert.equal(bad.statusCode, 200);
  assert.deepEqual(rows(bad.body), all.slice(0, 50));
  await app.close();
});

test('stream page: server-side filters by phase and QE state', async () => {
  const state = State.fromSnapshot(sampleSnapshot({ payloads: 120, otherStreams: false }));
  const app = await appFor(state);
  const ps = state.payloads('4.18.0-0.nightly');
  const rows = (body: string) => [...body.matchAll(/<tr data-tag="([^"]+)"/g)].map((m) => m[1]);
  const accepted = ps.filter((p) => p.phase === 'Accepted').map((p) => p.tag);
  const r1 = await app.inject('/releasestream/4.18.0-0.nightly?phase=Accepted');
  assert.deepEqual(rows(r1.body), accepted.slice(0, 50));
  assert.ok(r1.body.includes('<option value="Accepted" selected>'));
  if (accepted.length > 50) assert.ok(r1.body.includes('href="/releasestream/4.18.0-0.nightly?phase=Accepted&amp;page=2"'));
  const qeRejected = ps.filter((p) => p.qe.state === 'QERejected').map((p) => p.tag);
  assert.ok(qeRejected.length > 0);
  const r2 = await app.inject('/releasestream/4.18.0-0.nightly?qe=QERejected');
  assert.deepEqual(rows(r2.body), qeRejected.slice(0, 50));
  const both = ps.filter((p) => p.phase === 'Accepted' && p.qe.state === 'QEAccepted').map((p) => p.tag);
  const r3 = await app.inject('/releasestream/4.18.0-0.nightly?phase=Accepted&qe=QEAccepted');
  assert.deepEqual(rows(r3.body), both.slice(0, 50));
  const none = ps.filter((p) => p.qe.state === '').map((p) => p.tag);
  assert.deepEqual(rows((await app.inject('/releasestream/4.18.0-0.nightly?qe=none')).body), none.slice(0, 50));
  const nothing = await app.inject('/releasestream/4.18.0-0.nightly?phase=Pending&qe=QEAccepted');
  assert.ok(nothing.body.includes('No payloads match these filters.'));
  await app.close();
});

test('stream page: failures cell lists failed/pending CI jobs, collapses more than three', async () => {
  const s = rec({ name: 's', verify: Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f'].map((n) => [n, { prowJob: { name: n } }])) });
  const p1 = payload('s', 'p1', 'Ready', '2025-03-01T10:00:00Z');
  const p2 = payload('s', 'p2', 'Rejected', '2025-03-01T09:00:00Z');
  const runs = [
    run(p1, 'a', { state: 'Failed' }), run(p1, 'b', { state: 'Pending', url: 'https://prow.example.com/b' }), run(p1, 'c'),
    ...['a', 'b', 'c', 'd'].map((n) => run(p2, n, { state: 'Failed' })), run(p2, 'e', { state: 'Pending' }),
  ];
  const app = await appFor(State.fromSnapshot(snap({ streams: [s], payloads: [p1, p2], jobRuns: runs })));
  const body = (await app.inject('/releasestream/s')).body;
  const cell = (tag: string) => body.match(new RegExp(`<tr data-tag="${tag}"[\\s\\S]*?<td class="failures">([\\s\\S]*?)</td>`))?.[1] ?? '';
  assert.equal(cell('p1').replace(/<[^>]+>/g, ''), 'a b');
  assert.ok(cell('p1').includes('<a href="https://prow.example.com/b">b</a>'));
  assert.ok(cell('p1').includes('class="fail"'));
  assert.equal(cell('p2').replace(/<[^>]+>/g, ''), '4 failed e');
  assert.ok(cell('p2').includes('<a href="/releasestream/s/release/p2" class="fail">4 failed</a>'));
  await app.close();
});

test('stream page: unknown and end-of-life streams answer a 404 HTML page', async () => {
  const state = State.fromSnapshot(sampleSnapshot({ payloads: 5 }));
  const app = await appFor(state);
  for (const url of ['/releasestream/nope', '/releasestream/4.10.0-0.nightly', '/releasestream/nope/release/x', '/releasestream/4.18.0-0.nightly/release/nope', '/releasetag/nope']) {
    const r = await app.inject(url);
    assert.equal(r.statusCode, 404, url);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(r.body, /404 — not found/);
  }
  await app.close();
});

// ---------------------------------------------------------------- release page

test('release page: jobs by group, attempts, logs, greyed reasons, analysis runs, QE section, upgrades, changelog, history', async () => {
  const state = State.fromSnapshot(sampleSnapshot({ payloads: 40, otherStreams: false }));
  const ps = state.payloads('4.18.0-0.nightly');
  // an Accepted payload with QE verdict and an upgrade edge into it
  const p = ps.find((x) => x.phase === 'Accepted' && x.qe.state === 'QERejected' && state.upgradesInto(x.tag).length > 0)!;
  assert.ok(p, 'sample has a QE-rejected payload with upgrades');
  const events: EventRecord[] = [
    { id: 1, at: p.createdAt, stream: p.stream, tag: p.tag, type: 'PayloadCreated', actor: 'controller', message: `${p.tag} created`, data: {} },
    { id: 2, at: p.phaseChangedAt, stream: p.stream, tag: p.tag, type: 'PhaseChanged', actor: 'controller', message: 'Ready → Accepted', data: { phase: 'Accepted' } },
  ];
  const app = await appFor(state, events);
  const r = await app.inject(`/releasestream/4.18.0-0.nightly/release/${p.tag}`);
  assert.equal(r.statusCode, 200);
  const b = r.body;
  const order = ['<h1>', 'Pull spec', 'Blocking jobs', 'Informing jobs', 'Async jobs', 'Upgrade jobs', 'id="qe-title"', 'Upgrades from', 'Changes from', 'History'].map((s) => b.indexOf(s));
  for (let i = 0; i < order.length; i++) assert.ok(order[i] > 0 && (i === 0 || order[i] > order[i - 1]), `section ${i} in order: ${order}`);
  assert.ok(b.includes(`oc adm release extract --tools ${p.pullSpec}`));
  assert.ok(b.includes(`href="https://artifacts.example.com/${p.tag}"`));
  // QE section: gate mode and description, jobs with attempts and logs, verdict
  assert.ok(b.includes('<code>InformingPassed</code> — open: payload Accepted and informing jobs passed'), b.slice(b.indexOf('Gate'), b.indexOf('Gate') + 300));
  assert.ok(b.includes('QE jobs failed: qe-e2e-gcp-upi'));
  assert.match(b, /<tr data-verify="qe-e2e-gcp-upi"[\s\S]*?Failed[\s\S]*?2 of 2[\s\S]*?1 earlier attempt/);
  assert.ok(b.includes(`href="/logs/${p.tag}-qe-e2e-gcp-upi-1"`));
  assert.ok(b.includes('12h0m from the first QE launch'));
  assert.ok(b.includes('qe-upgrade-aws</span> <span class="muted small">(optional)'));
  // analysis runs listed under their aggregator
  assert.match(b, /<tr data-verify="aggregated-aws-ovn-upgrade-micro"[\s\S]*?<tr class="sub">[\s\S]*?Analysis runs: \d of 5 succeeded/);
  // upgrades with success percentage
  const into = state.upgradesInto(p.tag);
  assert.match(b, new RegExp(`${into[0].from.replace(/\./g, '\\.')}</a></span> — \\d of \\d succeeded \\(\\d+%\\)`));
  // changelog against the previous accepted payload, with commits and sources
  const prev = ps.slice(ps.indexOf(p) + 1).find((x) => x.phase === 'Accepted')!;
  assert.ok(b.includes(`Changes from <a href="/releasestream/4.18.0-0.nightly/release/${prev.tag}">${prev.tag}</a>`));
  assert.match(b, /<td>Changed<\/td>[\s\S]*?<code title="[0-9a-f]{40}"><a href="https:\/\/github\.com\/openshift\/[a-z-]+\/commit\/[0-9a-f]{40}">[0-9a-f]{12}<\/a><\/code> → /);
  assert.match(b, /\(<a href="https:\/\/github\.com\/openshift\/[a-z-]+\/compare\/[0-9a-f]{40}\.\.\.[0-9a-f]{40}">compare<\/a>\)/);
  // event history, newest first
  assert.ok(b.indexOf('Ready → Accepted') < b.indexOf(`${p.tag} created`));
  // actions are present but hidden until signed in
  assert.match(b, /<div class="actions" data-signed-in hidden>\s*<button type="button" class="btn accept" data-action="qe" data-value="QEAccepted">/);
  // /releasetag/ renders the same page
  const rt = await app.inject(`/releasetag/${p.tag}`);
  assert.equal(rt.statusCode, 200);
  assert.ok(rt.body.includes(`<h1>${p.tag}</h1>`));
  // ?from= picks another base for the changelog
  const other = ps[ps.length - 1];
  const withFrom = await app.inject(`/releasestream/4.18.0-0.nightly/release/${p.tag}?from=${other.tag}`);
  assert.ok(withFrom.body.includes(`Changes from <a href="/releasestream/4.18.0-0.nightly/release/${other.tag}">`));
  await app.close();
});

test('release page: NoUpgradeSource runs are greyed "Not run", timeouts greyed, retries show N of 1+maxRetries', async () => {
  const s = rec({
    name: 's',
    verify: {
      up: { upgrade: true, prowJob: { name: 'up' } },
      serial: { maxRetries: 2, prowJob: { name: 'serial' } },
    },
  });
  const p = payload('s', 'p1', 'Rejected', '2025-03-01T10:00:00Z', { reason: 'VerificationFailed', message: 'release verification failed: serial' });
  const runs = [
    run(p, 'up', { kind: 'upgrade', reason: 'NoUpgradeSource: no Accepted payload', url: '', logPath: '' }),
    run(p, 'serial', { state: 'Failed', startedAt: '2025-03-01T10:00:00Z', finishedAt: '2025-03-01T10:30:00Z' }),
    run(p, 'serial', { attempt: 1, state: 'Failed' }),
    run(p, 'serial', { attempt: 2, state: 'Failed', reason: 'Timeout' }),
  ];
  const app = await appFor(State.fromSnapshot(snap({ streams: [s], payloads: [p], jobRuns: runs })));
  const b = (await app.inject('/releasestream/s/release/p1')).body;
  assert.match(b, /<tr data-verify="up" class="job greyed">[\s\S]*?Not run[\s\S]*?<span class="greyed">NoUpgradeSource: no Accepted payload<\/span>/);
  assert.match(b, /<tr data-verify="serial" class="job">[\s\S]*?Failed[\s\S]*?3 of 3[\s\S]*?2 earlier attempts[\s\S]*?Attempt 1 Failed[\s\S]*?<span class="greyed">Timeout<\/span>/);
  assert.match(b, /<tr data-verify="serial"[\s\S]*?data-action="retry" data-verify="serial"/);
  assert.ok(b.includes('VerificationFailed'));
  assert.ok(!b.includes('id="qe-title"'), 'no QE section for a stream without QE jobs');
  await app.close();
});

test('attempts: N of 1+maxRetries, manual retries beyond it counted apart', () => {
  assert.equal(attemptsText(0, 1), '0 of 1');
  assert.equal(attemptsText(2, 3), '2 of 3');
  assert.equal(attemptsText(3, 1), '3 (1 + 2 manual)');
});

test('release page: failed payload shows the failure box and no tests', async () => {
  const s = rec({ name: 's', verify: { a: { prowJob: { name: 'a' } } } });
  const p = payload('s', 'p1', 'Failed', '2025-03-01T10:00:00Z', { reason: 'CreateReleaseFailed', message: 'component <etcd>: manifest unknown', pullSpec: '' });
  const app = await appFor(State.fromSnapshot(snap({ streams: [s], payloads: [p] })));
  const b = (await app.inject('/releasestream/s/release/p1')).body;
  assert.ok(b.includes('Payload creation failed: CreateReleaseFailed'));
  assert.ok(b.includes('<pre>component &lt;etcd&gt;: manifest unknown</pre>'));
  assert.ok(b.includes('No tests for this release.'));
  assert.ok(b.includes('No public location to pull this image from'));
  await app.close();
});

test('changelog: components added, removed and changed', () => {
  const d = diffComponents(
    { a: { pullSpec: 'x@sha256:1' }, b: { pullSpec: 'x@sha256:2' }, c: { pullSpec: 'x@sha256:3' } },
    { a: { pullSpec: 'x@sha256:1' }, b: { pullSpec: 'x@sha256:9' }, d: { pullSpec: 'x@sha256:4' } },
  );
  assert.deepEqual(d.changes.map((c) => [c.name, c.kind]), [['b', 'changed'], ['c', 'removed'], ['d', 'added']]);
  assert.equal(d.unchanged, 1);
});

test('static assets and caching: css/js served, derived data follows State.version', async () => {
  const s = nightlyConfig('4.20.0-0.nightly');
  const state = State.fromSnapshot(snap({ streams: [{ name: s.name, config: s, sourceFile: 'x', input: 'i', errors: [], warnings: [], locked: false }] }));
  const app = await appFor(state);
  const css = await app.inject('/static/console.css');
  assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  assert.match(css.body, /\.label\.phase-accepted\{color:#ffffff;background:#1a7f37/);
  const js = await app.inject('/static/console.js');
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.match(js.body, /new EventSource\(pageStream \? '\/api\/v1\/events\?stream=' \+ enc\(pageStream\) : '\/api\/v1\/events'\)/);
  assert.match((await app.inject('/')).body, /No payloads yet/);
  state.apply([{ kind: 'putPayload', payload: payload(s.name, 'n1', 'Accepted', '2025-03-01T11:00:00Z') }]);
  const after = (await app.inject('/')).body;
  assert.match(after, /Last accepted <a href="\/releasestream\/4\.20\.0-0\.nightly\/release\/n1">n1<\/a>/);
  const filtered = (await app.inject(`/releasestream/${s.name}?phase=Rejected`)).body;
  assert.ok(filtered.includes('No payloads match'));
  state.apply([{ kind: 'putPayload', payload: payload(s.name, 'n2', 'Rejected', '2025-03-01T11:30:00Z') }]);
  assert.ok((await app.inject(`/releasestream/${s.name}?phase=Rejected`)).body.includes('data-tag="n2"'));
  await app.close();
});

// ---------------------------------------------------------------- verdict rules (DESIGN §14)

test('labels: the job conditions have their own labels', () => {
  for (const [key, text] of [['Interrupted', 'Interrupted'], ['Waived', 'Waived'], ['NotRun', 'Not run'], ['Waiting', 'Waiting'], ['Removed', 'Removed']] as const) {
    const l = JOB_LABELS[key];
    assert.ok(l, key);
    assert.equal(l.text, text);
  }
});

test('release page: each CI entry shows its condition (waived, not run, waiting, removed) and interrupted runs; frozen job set; waive buttons; escaped', async () => {
  const S = '4.18.0-0.nightly';
  const evil = '<script>x</script>';
  // the stream's config NOW: `added` came after the payload was created, `gone` was removed
  const s = rec({
    name: S,
    verify: {
      e2e: { prowJob: { name: 'e2e' } },
      serial: { prowJob: { name: 'serial' } },
      'up-minor': { upgrade: true, upgradeFrom: 'PreviousMinor', prowJob: { name: 'up-minor' } },
      'up-info': { optional: true, upgrade: true, upgradeFrom: 'PreviousMinor', prowJob: { name: 'up-info' } },
      'up-waived': { upgrade: true, upgradeFrom: 'PreviousMinor', prowJob: { name: 'up-waived' } },
      'up-prev': { upgrade: true, prowJob: { name: 'up-prev' } },
      added: { prowJob: { name: 'added' } },
    },
  });
  const frozen = Object.fromEntries(Object.entries(s.config.verify!).filter(([n]) => n !== 'added' && n !== 'up-prev'));
  frozen.gone = { prowJob: { name: 'gone' } };
  const first = payload(S, `${S}-2025-03-01-080000`, 'Accepted', '2025-03-01T08:00:00Z', {
    jobs: { verify: { 'up-prev': s.config.verify!['up-prev'] }, removed: {}, waivers: {}, ciDone: true },
  });
  const p = payload(S, `${S}-2025-03-01-100000`, 'Ready', '2025-03-01T10:00:00Z', {
    message: 'waiting for an upgrade source for up-minor: no release of 4.17',
    jobs: {
      verify: frozen,
      removed: { gone: '2025-03-01T10:30:00Z' },
      waivers: { 'up-waived': { reason: `no 4.17 stable yet ${evil}`, user: `eve${evil}`, at: '2025-03-01T11:00:00Z' } },
      ciDone: false,
    },
  });
  const runs = [
    // e2e: interrupted by a controller stop, then relaunched under the same attempt and passed
    run(p, 'e2e', { id: `${p.tag}-e2e`, state: 'Interrupted', reason: 'Shutdown: controller stopped', createdAt: '2025-03-01T10:01:00Z' }),
    run(p, 'e2e', { id: `${p.tag}-e2e-i1`, state: 'Succeeded', createdAt: '2025-03-01T10:05:00Z' }),
    // serial: interrupted, relaunch not yet launched
    run(p, 'serial', { state: 'Interrupted', reason: 'Lost: executor connection lost', createdAt: '2025-03-01T10:01:00Z' }),
  ];
  const state = State.fromSnapshot(snap({ streams: [s], payloads: [p, first], jobRuns: runs }));
  const app = await appFor(state);
  const r = await app.inject(`/releasestream/${S}/release/${p.tag}`);
  assert.equal(r.statusCode, 200);
  const b = r.body;
  const row = (name: string) => b.match(new RegExp(`<tr data-verify="${name}"[\\s\\S]*?</tr>`))?.[0] ?? '';
  // the frozen job set: `added` is not listed, the removed `gone` still is
  assert.equal(row('added'), '', 'an entry added to the stream later does not appear');
  assert.equal(row('up-prev'), '');
  assert.match(row('gone'), /data-condition="removed"[\s\S]*data-job-state="Removed"[\s\S]*removed from the stream config/);
  // waived: label, who, when, why — user strings escaped
  const waived = row('up-waived');
  assert.match(waived, /data-condition="waived"[\s\S]*data-job-state="Waived"/);
  assert.ok(waived.includes('Waived by <strong>eve&lt;script&gt;x&lt;/script&gt;</strong>'), waived);
  assert.ok(waived.includes('no 4.17 stable yet &lt;script&gt;x&lt;/script&gt;'), waived);
  assert.ok(!waived.includes('data-action="waive"'), 'a waived entry has no Waive button');
  // waiting (blocking upgrade entry, the stream has an earlier accepted payload): the why
  const waiting = row('up-minor');
  assert.match(waiting, /data-condition="waiting"[\s\S]*data-job-state="Waiting"/);
  assert.ok(waiting.includes('waiting for an upgrade source for up-minor: '), waiting);
  // not run (informing upgrade entry without a source)
  assert.match(row('up-info'), /class="job greyed" data-condition="notRun"[\s\S]*data-job-state="NotRun"[\s\S]*no upgrade source: /);
  // Waive buttons on waiting, removed and not-run rows, hidden until signed in, as the retry button
  for (const n of ['up-minor', 'up-info', 'gone']) {
    assert.ok(row(n).includes(`<button type="button" class="btn" data-action="waive" data-verify="${n}" data-signed-in hidden>Waive…</button>`), n);
  }
  assert.ok(!row('e2e').includes('data-action="waive"'));
  // interrupted runs are not attempts; they are listed as relaunched (or due)
  const e2e = row('e2e');
  assert.match(e2e, /data-job-state="Succeeded"/);
  assert.ok(e2e.includes('1 of 1'), 'the interrupted run is not an attempt');
  assert.match(e2e, /1 interrupted \(not an attempt\)[\s\S]*data-job-state="Interrupted"[\s\S]*Shutdown: controller stopped[\s\S]*— relaunched/);
  const serial = row('serial');
  assert.match(serial, /<td><span class="label job-interrupted" data-job-state="Interrupted"/);
  assert.ok(serial.includes('0 of 1'));
  assert.match(serial, /Lost: executor connection lost<\/span> — relaunch due/);
  // the Ready payload's message is in the header, as a Rejected payload's reason is
  assert.ok(b.includes('<div class="small phase-reason">waiting for an upgrade source for up-minor: no release of 4.17</div>'), 'no empty reason before the message');
  assert.ok(!b.includes(evil));
  // the stream's first payload: its upgrade entry has no source at all → not run, the why shown
  const fb = (await app.inject(`/releasestream/${S}/release/${first.tag}`)).body;
  const upPrev = fb.match(/<tr data-verify="up-prev"[\s\S]*?<\/tr>/)?.[0] ?? '';
  assert.match(upPrev, /data-condition="notRun"[\s\S]*data-job-state="NotRun"[\s\S]*no upgrade source: /);
  assert.equal((fb.match(/<tr data-verify="/g) ?? []).length, 1, 'only the frozen entry of the first payload');
  await app.close();
});

test('console: a QE acceptance of a payload that is not Accepted is void everywhere (label, summary line, filter)', async () => {
  const s = rec({ name: '4.19.0-0.nightly', verify: { q: { qe: true, prowJob: { name: 'q' } } } });
  const ps = [
    payload(s.name, 'p3', 'Ready', '2025-03-01T11:00:00Z'),
    payload(s.name, 'p2', 'Rejected', '2025-03-01T10:30:00Z'),
    payload(s.name, 'p1', 'Accepted', '2025-03-01T09:00:00Z'),
  ];
  for (const x of ps) x.qe.state = 'QEAccepted';
  const state = State.fromSnapshot(snap({ streams: [s], payloads: ps }));
  assert.equal(summarizeStream(state, s).lastQEAccepted?.tag, 'p1');
  assert.match(qeLabel(ps[1]).value, /data-qe="QEAccepted" data-qe-void=""[^>]*title="QE accepted, but the payload is Rejected: it counts as QE accepted only while Accepted"[^>]*>.*QE Accepted \(void\)<\/span>$/);
  assert.match(qeLabel(ps[0]).value, /QE Accepted \(void\)/);
  assert.match(qeLabel(ps[2]).value, /> QE Accepted<\/span>$/);
  const app = await appFor(state);
  const body = (await app.inject(`/releasestream/${s.name}?qe=QEAccepted`)).body;
  assert.deepEqual([...body.matchAll(/<tr data-tag="([^"]+)"/g)].map((m) => m[1]), ['p1']);
  const line = (await app.inject('/')).body.match(/<p class="summary">(.*?)<\/p>/)?.[1] ?? '';
  assert.ok(line.replace(/<[^>]+>/g, '').endsWith('QE accepted p1'), line);
  await app.close();
});

test('stream page and overview: the stream’s recorded conditions as a small notice, escaped', async () => {
  const s = { ...rec({ name: 's' }), conditions: { 'periodic/upgrade-aws': 'periodic upgrade-aws: no upgrade source <b>none</b>' } };
  const plain = rec({ name: 't' });
  const app = await appFor(State.fromSnapshot(snap({ streams: [s, plain] })));
  const page = (await app.inject('/releasestream/s')).body;
  assert.ok(page.includes('<div class="box info small conditions" role="status"><strong>Condition:</strong> <ul class="plain"><li data-condition="periodic/upgrade-aws">periodic upgrade-aws: no upgrade source &lt;b&gt;none&lt;/b&gt;</li></ul></div>'), page);
  assert.ok(!(await app.inject('/releasestream/t')).body.includes('class="box info small conditions"'));
  const overview = (await app.inject('/')).body;
  assert.ok(overview.includes('<p class="small conditions">Condition: periodic upgrade-aws: no upgrade source &lt;b&gt;none&lt;/b&gt;</p>'));
  await app.close();
});

test('console script: the Waive button posts to …/jobs/{verifyName}/waive with the reason', async () => {
  const s = nightlyConfig('4.20.0-0.nightly');
  const app = await appFor(State.fromSnapshot(snap({ streams: [{ name: s.name, config: s, sourceFile: 'x', input: 'i', errors: [], warnings: [], locked: false }] })));
  const js = (await app.inject('/static/console.js')).body;
  assert.ok(js.includes("if (a === 'waive') return { url: base + '/jobs/' + enc(btn.dataset.verify || '') + '/waive'"), 'waive action');
  await app.close();
});

test('release page: a -multi stream’s payload shows its pull spec only, no installer or tools hint (upstream)', async () => {
  const multi = payload('4.18.0-0.nightly-multi', '4.18.0-0.nightly-multi-2024-05-01-000000', 'Accepted', '2024-05-01T00:00:00Z');
  const arm = payload('4.18.0-0.nightly-arm64', '4.18.0-0.nightly-arm64-2024-05-01-000000', 'Accepted', '2024-05-01T00:00:00Z');
  const state = State.fromSnapshot(snap({ streams: [rec({ name: multi.stream }), rec({ name: arm.stream })], payloads: [multi, arm] }));
  const app = await appFor(state);
  const m = (await app.inject(`/releasestream/${multi.stream}/release/${multi.tag}`)).body;
  assert.ok(m.includes(`<dt>Pull spec</dt><dd><code>${multi.pullSpec}</code></dd>`), m);
  assert.ok(!m.includes('oc adm release extract'), 'no tools hint for a manifest list');
  assert.ok(!m.includes('Download the installer'));
  const a = (await app.inject(`/releasestream/${arm.stream}/release/${arm.tag}`)).body;
  assert.ok(a.includes(`oc adm release extract --tools ${arm.pullSpec}`), 'other architectures keep the hint');
  assert.ok(a.includes(`href="https://artifacts.example.com/${arm.tag}"`));
  await app.close();
});
