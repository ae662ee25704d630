// The web console (DESIGN.md §9): server-rendered pages, static assets and job logs, registered
// on the HTTP app as one plugin. Reads come from the in-memory state only (plus the event log for
// a release page); derived per-stream facts are cached until State.version changes.
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ChangelogService, type ChangelogOutcome } from '../../controller/changelog.ts';
import { releaseConfigProblems, type ConfigFileProblem, type Operations } from '../../controller/operations.ts';
import type { QualifiersConfig } from '../../controller/qualifiers.ts';
import type { State } from '../../controller/state.ts';
import type { EventRecord, Payload, StreamRecord } from '../../domain/types.ts';
import { summarizeStream, type StreamSummary } from './cells.ts';
import { renderDashboardOverview, renderInconsistency } from './dashboards.ts';
import { layout, notFoundPage } from './layout.ts';
import { parseDeliveryQuery, type NotificationsSource } from '../api/notifications.ts';
import type { Principal } from '../auth.ts';
import { HttpError } from '../errors.ts';
import { h } from './html.ts';
import { renderNotificationsPage } from './notifications.ts';
import { serveLog, type LogOptions } from './logs.ts';
import { candidatesJson, renderCandidatesPage } from './candidates.ts';
import { COMPARE_PATH, compareStreams, renderComparePage, resolveCompare } from './compare.ts';
import { overviewPayloads, renderOverview, type SummaryCache } from './overview.ts';
import { previousPayload, renderReleasePage } from './release.ts';
import { filterPayloads, paginate, parseStreamQuery, renderStreamPage, type InputImportStatus, type StreamQuery } from './stream.ts';
import { CONSOLE_CSS } from './styles.ts';

export const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const CONSOLE_JS = readFileSync(new URL('./static/console.js', import.meta.url), 'utf8');

export interface PagesOptions {
  /** base URL of installer downloads (`<url>/<tag>`); no download links without it */
  artifactsUrl?: string;
  /** poll interval while following a running job's log (ms) */
  logPollMs?: number;
  /** clock for relative times (tests) */
  now?: () => number;
  /** files that failed to (re)load, shown as a banner (default: the release config problems of `ops`) */
  configProblems?: () => readonly ConfigFileProblem[];
  /** the qualifiers file (serve --qualifiers): badges on the stream and release pages */
  qualifiers?: QualifiersConfig;
  /** the /notifications page (role admin, Bearer or the browser's Basic prompt with the token as password) */
  notifications?: { source: NotificationsSource; auth: { identifyAny(header: string | undefined): Principal | null } };
  /** serve --private-logs: /logs/* requires a valid token of any role (logs.ts) */
  logsAuth?: LogOptions['auth'];
  /** the changelog service: the release page lists commits (waiting at most --changelog-wait) */
  changelog?: ChangelogService;
  /** registry imports of inputs (serve --inputs): a failing one is shown on its streams' pages */
  imports?: () => readonly InputImportStatus[];
  /** replicas (issue 17): which replica answers and who leads, shown in every page's footer */
  replica?: () => { self: string; leads: boolean; leader: string };
}

/** the end of every page (layout.ts): the replica line goes before it, when there are replicas */
const FOOTER_END = '</footer>\n</body></html>\n';

/** Per-version memo: everything cached here is dropped as soon as the state changes. */
export class VersionCache {
  private version = -1;
  private readonly map = new Map<string, unknown>();
  constructor(private readonly state: State) {}
  get<T>(key: string, make: () => T): T {
    if (this.state.version !== this.version) {
      this.map.clear();
      this.version = this.state.version;
    }
    if (this.map.has(key)) return this.map.get(key) as T;
    const v = make();
    if (this.map.size > 2000) this.map.clear();
    this.map.set(key, v);
    return v;
  }
}

/** The first value of a query parameter ('' when absent; a repeated one counts once, as Go's Get). */
function firstQuery(query: Record<string, unknown> | undefined, name: string): string {
  const v = query && Object.hasOwn(query, name) ? query[name] : undefined;
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : '';
}

function sendHtml(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'same-origin')
    .header('cache-control', 'no-cache')
    .send(html);
}

export function createPages(ops: Operations, opts: PagesOptions = {}): (app: FastifyInstance) => Promise<void> {
  const state = ops.state;
  const now = opts.now ?? Date.now;
  const cache = new VersionCache(state);
  const imagesOnly = new ChangelogService({ history: null });
  const problems = opts.configProblems ?? (() => releaseConfigProblems(ops));
  const summaries: SummaryCache = { summary: (rec: StreamRecord) => cache.get<StreamSummary>(`summary\u0000${rec.name}`, () => summarizeStream(state, rec)) };
  const filtered = (rec: StreamRecord, q: StreamQuery): readonly Payload[] =>
    q.phase || q.qe ? cache.get(`filter\u0000${rec.name}\u0000${q.phase}\u0000${q.qe}`, () => filterPayloads(state.payloads(rec.name), q)) : state.payloads(rec.name);

  const releasePage = async (reply: FastifyReply, rec: StreamRecord, payload: Payload, from: string | undefined) => {
    // a comparison with a release that does not exist is not a page (as the API answers 404)
    if (from && !state.payload(payload.stream, from) && !state.findTag(from)) {
      return sendHtml(reply, 404, notFoundPage(`Unable to find release tag ${from} (to compare with ${payload.tag}), it may have been deleted.`));
    }
    let events: EventRecord[] = [];
    try {
      events = await ops.listEvents({ stream: payload.stream, tag: payload.tag, limit: 1000 });
    } catch {
      events = [];
    }
    // a settled payload's runs may still be in the store (lazy loading with async reads)
    await state.ensureRuns(payload.stream, payload.tag);
    // the payload may have changed while the events were read: render the current one
    const cur = state.payload(payload.stream, payload.tag) ?? payload;
    const prev = previousPayload(state, cur, from);
    let changelog: ChangelogOutcome | undefined;
    if (opts.changelog && prev && prev !== cur && prev.pullSpec && cur.pullSpec) changelog = await opts.changelog.get(prev, cur);
    return sendHtml(reply, 200, renderReleasePage({ state, rec, payload: cur, events, now: now(), from, artifactsUrl: opts.artifactsUrl, changelog, qualifiers: opts.qualifiers?.summary(state, cur) }));
  };

  return async (app: FastifyInstance) => {
    // added at send time: rendered pages are cached by view version, and who leads is not part of the view
    const replica = opts.replica;
    if (replica) {
      app.addHook('onSend', async (_req, reply, payload) => {
        if (typeof payload !== 'string' || !String(reply.getHeader('content-type') ?? '').startsWith('text/html') || !payload.endsWith(FOOTER_END)) return payload;
        const r = replica();
        const line = h` · answered by replica ${r.self}${r.leads ? ' (the leader)' : h` · leader: ${r.leader}`}`.value;
        return payload.slice(0, -FOOTER_END.length) + `<span class="replica">${line}</span>${FOOTER_END}`;
      });
    }
    app.get('/static/console.css', (_req, reply) =>
      reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=300').header('x-content-type-options', 'nosniff').send(CONSOLE_CSS),
    );
    app.get('/static/console.js', (_req, reply) =>
      reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'public, max-age=300').header('x-content-type-options', 'nosniff').send(CONSOLE_JS),
    );

    app.get('/', async (_req, reply) => {
      await state.ensureRunsOf(overviewPayloads(state));
      return sendHtml(reply, 200, renderOverview(state, now(), summaries, problems(), ops.unavailable?.() ?? null));
    });

    app.get('/dashboards/overview', (_req, reply) => sendHtml(reply, 200, renderDashboardOverview(state, now())));

    app.get<{ Querystring: Record<string, unknown> }>(COMPARE_PATH, async (req, reply) => {
      const q = { from: firstQuery(req.query, 'from'), to: firstQuery(req.query, 'to'), format: firstQuery(req.query, 'format') };
      const r = resolveCompare(compareStreams(state), q);
      let outcome: ChangelogOutcome | null = null;
      // without a changelog service the changelog lists images only (as /changelog does)
      if (r.kind === 'compare' && r.from.pullSpec && r.to.pullSpec) outcome = await (opts.changelog ?? imagesOnly).get(r.from, r.to);
      const page = renderComparePage(state, q, r, outcome);
      return sendHtml(reply, page.status, page.html);
    });

    app.get<{ Params: { release: string; tag: string } }>('/releasestream/:release/inconsistency/:tag', (req, reply) => {
      const rec = state.stream(req.params.release);
      if (!rec) return sendHtml(reply, 404, notFoundPage(`Release stream ${req.params.release} does not exist.`));
      const p = state.payload(rec.name, req.params.tag);
      if (!p) return sendHtml(reply, 404, notFoundPage(`Unable to find release tag ${req.params.tag}, it may have been deleted.`));
      return sendHtml(reply, 200, renderInconsistency(rec, p));
    });

    app.get<{ Params: { release: string }; Querystring: Record<string, unknown> }>('/releasestream/:release', async (req, reply) => {
      const rec = state.stream(req.params.release);
      if (!rec || rec.config.endOfLife) return sendHtml(reply, 404, notFoundPage(`Release stream ${req.params.release} does not exist${rec ? ' (end of life)' : ''}.`));
      const q = parseStreamQuery(req.query ?? {});
      // the rows of the page shown: their runs make the failures column and the qualifier badges
      await state.ensureRunsOf(paginate(filtered(rec, q), q.page).rows);
      return sendHtml(reply, 200, renderStreamPage({ state, summaries, filtered, artifactsUrl: opts.artifactsUrl, configProblems: problems(), qualifiers: opts.qualifiers && ((p) => opts.qualifiers!.summary(state, p)), imports: opts.imports?.() }, rec, q, now()));
    });

    // upstream §6.7: ?format=json is upstream's candidate list (no Content-Type set upstream: Go sniffs text/plain)
    app.get<{ Params: { release: string }; Querystring: Record<string, unknown> }>('/releasestream/:release/candidates', (req, reply) => {
      const rec = state.stream(req.params.release);
      const json = req.query?.format === 'json';
      if (!rec) {
        if (json) return reply.code(404).type('text/plain; charset=utf-8').send('no release configuration exists with the requested name\n');
        return sendHtml(reply, 404, notFoundPage(`Release stream ${req.params.release} does not exist.`));
      }
      if (json) return reply.type('text/plain; charset=utf-8').header('x-content-type-options', 'nosniff').send(candidatesJson(state, rec.name));
      return sendHtml(reply, 200, renderCandidatesPage(state, rec));
    });

    app.get<{ Params: { release: string; tag: string }; Querystring: Record<string, unknown> }>('/releasestream/:release/release/:tag', async (req, reply) => {
      const rec = state.stream(req.params.release);
      if (!rec) return sendHtml(reply, 404, notFoundPage(`Release stream ${req.params.release} does not exist.`));
      const p = state.payload(rec.name, req.params.tag);
      if (!p) return sendHtml(reply, 404, notFoundPage(`Unable to find release tag ${req.params.tag}, it may have been deleted.`));
      return releasePage(reply, rec, p, typeof req.query?.from === 'string' ? req.query.from : undefined);
    });

    app.get<{ Params: { tag: string }; Querystring: Record<string, unknown> }>('/releasetag/:tag', async (req, reply) => {
      const p = state.findTag(req.params.tag);
      const rec = p && state.stream(p.stream);
      if (!p || !rec) return sendHtml(reply, 404, notFoundPage(`Unable to find release tag ${req.params.tag}, it may have been deleted.`));
      return releasePage(reply, rec, p, typeof req.query?.from === 'string' ? req.query.from : undefined);
    });

    app.get('/notifications', async (req, reply) => {
      const n = opts.notifications;
      if (!n) return sendHtml(reply, 404, notFoundPage('Notifications are not available on this server.'));
      const challenge = ['Basic realm="release-controller notifications", charset="UTF-8"', 'Bearer realm="release-controller notifications"'];
      const p = req.headers.authorization ? n.auth.identifyAny(req.headers.authorization) : null;
      if (!p) {
        reply.header('www-authenticate', challenge);
        const why = req.headers.authorization ? 'That token is not valid.' : 'This page needs a token with role admin.';
        return sendHtml(reply, 401, layout('Sign in', { page: 'notfound' }, h`<div class="card notfound"><h1>401 — sign in</h1><p>${why} Send <code>Authorization: Bearer &lt;token&gt;</code>, or enter any user name and the token as the password when the browser asks.</p></div>`));
      }
      if (!p.roles.includes('admin')) return sendHtml(reply, 403, layout('Forbidden', { page: 'notfound' }, h`<div class="card notfound"><h1>403 — forbidden</h1><p>User ${p.user} lacks the role admin, which this page needs.</p></div>`));
      let q;
      try {
        q = parseDeliveryQuery(req);
      } catch (e) {
        if (e instanceof HttpError) return sendHtml(reply, 400, layout('Bad request', { page: 'notfound' }, h`<div class="card notfound"><h1>400 — bad request</h1><p>${e.message}</p><p><a href="/notifications">All notifications</a></p></div>`));
        throw e;
      }
      return sendHtml(reply, 200, await renderNotificationsPage(n.source, q, now()));
    });

    app.get<{ Params: { runId: string } }>('/logs/:runId', (req, reply) => serveLog(state, req.params.runId, reply, { pollMs: opts.logPollMs, auth: opts.logsAuth, authorization: req.headers.authorization }));
  };
}
