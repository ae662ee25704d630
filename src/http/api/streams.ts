// Upstream's read routes under /api/v1 and the redirects (upstream-behavior.md §6.3–§6.11, §6.18)
// plus the QE additions of DESIGN.md §6. Errors here are plain text, worded exactly as upstream's.
// The response cache (cache.ts) keys a GET answer on the query parameters its route documents
// (`query:` below): a handler must document every parameter it reads.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isTeamApproved, sortApprovalTags } from '../../domain/approvals.ts';
import { findCandidate } from '../../domain/candidate.ts';
import { isStable } from '../../domain/config/schema.ts';
import { configBody } from '../../domain/config/wire.ts';
import { isQEAccepted } from '../../domain/judging.ts';
import { previousPayload, releaseInfo, type ReleaseInfoChangelog } from '../../domain/releaseinfo.ts';
import type { Payload } from '../../domain/types.ts';
import { parseRange, sortTagNamesDescending } from '../../domain/version.ts';
import { upstreamError } from '../errors.ts';
import type { RouteRegistry } from '../openapi.ts';
import { downloadURL, goAtoi, listedStreams, matchesPhase, param, queryList, queryOne, sendJson, sendPlain, tagObject, type ApiContext } from './shared.ts';

const FORMAT_ERROR = "error: Must specify one of '', 'json', 'pullSpec', 'name', or 'downloadURL";
const NO_STREAM = 'no release configuration exists with the requested name';
const NO_TAGS = 'no tags exist within the release that satisfy the request';
const NO_ARTIFACTS = 'No artifacts download URL is configured, cannot show download link';

/** The lists of /api/v1/releasestreams/{kind}: upstream's four plus our two QE verdicts. */
const LIST_KINDS: Record<string, { match: (p: Payload) => boolean; summary: string }> = {
  accepted: { match: (p) => p.phase === 'Accepted', summary: 'Accepted tags of every stream' },
  rejected: { match: (p) => p.phase === 'Rejected', summary: 'Rejected tags of every stream' },
  ready: { match: (p) => p.phase === 'Ready', summary: 'Ready tags of every stream' },
  all: { match: () => true, summary: 'All tags of every stream' },
  // QE accepted only while CI Accepted (DESIGN §14)
  qeaccepted: { match: isQEAccepted, summary: 'QE-accepted tags of every stream (ours; only payloads that are also Accepted)' },
  qerejected: { match: (p) => p.qe.state === 'QERejected', summary: 'QE-rejected tags of every stream (ours)' },
};

/**
 * The tag /latest selects (§6.4), checking parameters in upstream's order: `in`, `rel`, then the
 * stream, then the matches. `phase` (ours, repeatable) defaults to Accepted; QE states filter on
 * the QE phase.
 */
function selectLatest(ctx: ApiContext, req: FastifyRequest): Payload {
  const name = param(req, 'release');
  let inRange: ((v: string) => boolean) | undefined;
  const range = queryOne(req, 'in') ?? '';
  if (range) {
    try {
      inRange = parseRange(range);
    } catch (e) {
      throw upstreamError(400, `error: ?in must be a valid semantic version range: ${(e as Error).message}`);
    }
  }
  let rel = 0;
  const relStr = queryOne(req, 'rel') ?? '';
  if (relStr) {
    const r = goAtoi(relStr);
    if (typeof r === 'string') throw upstreamError(400, `error: ?rel must be non-negative integer: ${r}`);
    if (r < 0) throw upstreamError(400, 'error: ?rel must be non-negative integer');
    rel = r;
  }
  if (!ctx.ops.state.stream(name)) throw upstreamError(404, NO_STREAM);
  const phases = queryList(req, 'phase').filter(Boolean);
  const prefix = queryOne(req, 'prefix') ?? '';
  const matches = ctx.ops.state
    .payloads(name)
    .filter((p) => matchesPhase(p, phases.length ? phases : ['Accepted']) && p.tag.startsWith(prefix) && (!inRange || inRange(p.tag)));
  const p = sortTagNamesDescending(matches, (x) => x.tag)[rel];
  if (!p) throw upstreamError(404, NO_TAGS);
  return p;
}

/**
 * The changelog release info carries, from the changelog service (waiting at most its
 * --changelog-wait); undefined when release info has none (no previous release, `format=short`).
 */
async function releaseChangelog(ctx: ApiContext, prev: Payload | undefined, p: Payload, short: boolean): Promise<ReleaseInfoChangelog | undefined> {
  if (!prev || short || !prev.pullSpec || !p.pullSpec) return undefined;
  const r = await ctx.changelog.get(prev, p);
  return r.state === 'ready' ? { json: r.json, html: r.html } : 'computing';
}

export function streamRoutes(app: FastifyInstance, reg: RouteRegistry, ctx: ApiContext): void {
  const state = ctx.ops.state;

  reg.route(
    app,
    {
      method: 'GET', url: '/api/v1/releasestream/:release/tags', summary: 'Tags of a stream (all phases), newest version first', tag: 'upstream',
      query: { phase: 'repeatable: keep tags in any of these phases (QEAccepted, QERejected… filter on the QE phase; QEAccepted only while Accepted)', format: "'' or json" },
      produces: 'application/json', responses: { '200': 'the stream and its tags (null when none match)', '400': 'bad format', '404': 'unknown stream' },
    },
    async (req, reply) => {
      const name = param(req, 'release');
      if (!state.stream(name)) throw upstreamError(404, `Unable to find release ${name}`);
      const format = queryOne(req, 'format') ?? '';
      if (format !== '' && format !== 'json') throw upstreamError(400, FORMAT_ERROR);
      // as upstream: `?phase=` (empty) is a filter too, and no tag has an empty phase
      const phases = queryList(req, 'phase');
      const list = phases.length ? state.payloads(name).filter((p) => matchesPhase(p, phases)) : [...state.payloads(name)];
      const tags = sortTagNamesDescending(list, (p) => p.tag).map((p) => tagObject(ctx, p));
      return sendJson(reply, { name, tags: tags.length ? tags : null });
    },
  );

  reg.route(
    app,
    {
      method: 'GET', url: '/api/v1/releasestream/:release/latest', summary: 'Newest tag in a phase (default Accepted; QEAccepted/QERejected filter on the QE phase, QEAccepted only while Accepted)', tag: 'upstream',
      query: { phase: 'repeatable; default Accepted', prefix: 'tag name prefix', in: 'semantic version range, e.g. >4.15.0-0 <4.16.0-0', rel: 'skip the first n matches', format: "'', json, pullSpec, name or downloadURL" },
      produces: 'application/json', responses: { '200': 'the tag (JSON, or one value as text/plain)', '400': 'bad parameter', '404': 'no such stream or no matching tag' },
    },
    async (req, reply) => {
      const t = tagObject(ctx, selectLatest(ctx, req));
      switch (queryOne(req, 'format') ?? '') {
        case 'pullSpec':
          return sendPlain(reply, t.pullSpec);
        case 'downloadURL':
          return sendPlain(reply, t.downloadURL);
        case 'name':
          return sendPlain(reply, t.name);
        case '':
        case 'json':
          return sendJson(reply, t);
        default:
          throw upstreamError(400, FORMAT_ERROR);
      }
    },
  );

  reg.route(
    app,
    {
      method: 'GET', url: '/api/v1/releasestream/:release/release/:tag', summary: 'Release info: phase, QE state, job results, upgrades, changelog', tag: 'upstream',
      query: { from: 'previous tag for the changelog', format: 'short: skip the changelog' }, produces: 'application/json', responses: { '200': 'release info', '404': 'unknown tag, or a tag of another stream' },
    },
    async (req, reply) => {
      const name = param(req, 'release');
      const tag = param(req, 'tag');
      const fromName = queryOne(req, 'from') ?? '';
      const p = state.findTag(tag);
      const from = fromName ? state.findTag(fromName) : undefined;
      // upstream looks both tags up together and names the requested tag when either is missing
      if (!p || (fromName && !from)) throw upstreamError(404, `unable to find release tag ${tag}, it may have been deleted`);
      if (p.stream !== name) throw upstreamError(404, `release tag ${tag} does not belong to release ${name}`);
      const short = (queryOne(req, 'format') ?? '').toLowerCase() === 'short';
      // the job results of a settled payload may still be in the store (lazy loading with async reads)
      await state.ensureRuns(p.stream, p.tag);
      const prev = from ?? previousPayload(state, p);
      const changelog = await releaseChangelog(ctx, prev, p, short);
      // an answer without its changelog is not kept by the response cache: the next one may have it
      if (changelog === 'computing') req.cacheKey = undefined;
      return sendJson(reply, releaseInfo(state, p, prev, { short, changelog }));
    },
  );

  reg.route(
    app,
    {
      method: 'GET', url: '/api/v1/releasestream/:release/config', summary: 'The stream config as upstream encodes it (every field, zero values included; expires in ns; {} without verify entries), or a verify subset by jobType', tag: 'upstream',
      query: { jobType: "'', informing, blocking (QE entries are neither), disabled, periodic, or qe (ours: the QE entries)" }, produces: 'application/json', responses: { '200': 'config', '400': 'bad jobType', '404': 'unknown stream' },
    },
    async (req, reply) => {
      const name = param(req, 'release');
      const rec = state.stream(name);
      // DESIGN §13 item 12: upstream answers 400 here; an unknown stream is a 404 (same text)
      if (!rec) throw upstreamError(404, `error: unknown release stream specified: ${name}`);
      const body = configBody(rec.config, queryOne(req, 'jobType') ?? '');
      if (body === undefined) throw upstreamError(400, "error: jobType must be one of '', 'informing', 'blocking', 'disabled' or 'periodic'");
      return sendJson(reply, body);
    },
  );

  reg.route(
    app,
    {
      method: 'GET', url: '/api/v1/releasestream/:release/candidate', summary: 'Promotion candidate (for a stream with QE jobs: QE-accepted payloads only)', tag: 'upstream',
      produces: 'application/json', responses: { '200': '{"candidate": {...}} or {"candidate": null}', '404': 'unknown stream' },
    },
    async (req, reply) => {
      const name = param(req, 'release');
      if (!state.stream(name)) throw upstreamError(404, NO_STREAM);
      return sendJson(reply, { candidate: findCandidate(state, name) });
    },
  );

  for (const [kind, { match, summary }] of Object.entries(LIST_KINDS)) {
    reg.route(
      app,
      { method: 'GET', url: `/api/v1/releasestreams/${kind}`, summary: `${summary}: stream → tag names (null when none), one-space indentation`, tag: kind.startsWith('qe') ? 'qe' : 'upstream', produces: 'application/json' },
      async (_req, reply) => {
        const out: Record<string, string[] | null> = {};
        for (const s of listedStreams(ctx).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
          // integration streams: newest first (the view's order); Stable: semver descending
          const list = state.payloads(s.name).filter(match);
          const ordered = isStable(s.config) ? sortTagNamesDescending(list, (p) => p.tag) : list;
          out[s.name] = ordered.length ? ordered.map((p) => p.tag) : null;
        }
        return sendJson(reply, out, 1);
      },
    );
  }

  reg.route(
    app,
    {
      method: 'GET', url: '/api/v1/releasestreams/approvals',
      summary: 'Payloads a team accepted (release.openshift.io/<team>_state: Accepted; team qe: QE accepted, only while Accepted), any team without team=; tags newest version first, one-space indentation',
      tag: 'upstream',
      query: { team: 'team name (lowercased); none: any team', prefix: 'tag name prefix', index: 'only element n' }, produces: 'application/json',
      responses: { '200': 'list of tags ([] when none), or one tag with index', '400': 'bad index' },
    },
    async (req, reply) => {
      const team = queryOne(req, 'team') ?? '';
      const prefix = queryOne(req, 'prefix') ?? '';
      // every stream's payloads, as upstream lists payloads of any namespace
      const matches = state.streams().flatMap((s) => state.payloads(s.name).filter((p) => p.tag.startsWith(prefix) && isTeamApproved(p, team)));
      const approved = sortApprovalTags(matches, (p) => p.tag).map((p) => tagObject(ctx, p));
      const indexStr = queryOne(req, 'index') ?? '';
      if (indexStr) {
        const i = goAtoi(indexStr);
        if (typeof i === 'string' || i < 0) throw upstreamError(400, `error: ?index must be non-negative integer${typeof i === 'string' ? `: ${i}` : ''}`);
        if (i >= approved.length) throw upstreamError(400, `error: ?index value must be between 0-${approved.length - 1}`);
        return sendJson(reply, approved[i], 1);
      }
      return sendJson(reply, approved, 1);
    },
  );

  reg.route(
    app,
    {
      method: 'GET', url: '/api/v1/releasetag/:tag/qualifiers', tag: 'upstream', produces: 'application/json', responses: { '200': 'summary (`{}` when no qualifier applies)', '404': 'no payload' },
      summary: 'Qualifiers summary of a payload under serve --qualifiers: failureLabels, then qualifiers by id (jobs, aggregateState, badgeName, badgeEarned, badgePropagated, approval, failureLabels); empty fields omitted',
    },
    async (req, reply) => {
      const tag = param(req, 'tag');
      const p = state.findTag(tag);
      if (!p) throw upstreamError(404, `No release payload found for tag "${tag}"`);
      await state.ensureRuns(p.stream, p.tag);
      return sendJson(reply, ctx.qualifiers.summary(state, p));
    },
  );

  reg.route(
    app,
    { method: 'GET', url: '/releasestream/:release/latest', summary: 'Redirect to the release page of the newest accepted tag', tag: 'upstream', query: { in: 'range', rel: 'n', prefix: 'prefix', phase: 'phase' }, responses: { '302': 'redirect', '400': 'bad parameter', '404': 'no such stream or tag' } },
    async (req, reply) => {
      const p = selectLatest(ctx, req);
      return reply.redirect(`/releasestream/${encodeURIComponent(p.stream)}/release/${encodeURIComponent(p.tag)}`, 302);
    },
  );

  reg.route(
    app,
    { method: 'GET', url: '/releasestream/:release/latest/download', summary: 'Redirect to the artifacts of the newest accepted tag', tag: 'upstream', query: { in: 'range', rel: 'n', prefix: 'prefix', phase: 'phase' }, responses: { '302': 'redirect', '404': 'no such stream or tag, or no artifacts server' } },
    async (req, reply) => {
      const p = selectLatest(ctx, req);
      if (!ctx.artifactsUrl) throw upstreamError(404, NO_ARTIFACTS);
      return reply.redirect(downloadURL(ctx, p.tag), 302);
    },
  );

  reg.route(
    app,
    { method: 'GET', url: '/releasestream/:release/release/:tag/download', summary: 'Redirect to the artifacts of a tag', tag: 'upstream', responses: { '302': 'redirect', '404': 'unknown tag, or no artifacts server' } },
    async (req, reply) => {
      const name = param(req, 'release');
      const tag = param(req, 'tag');
      const p = state.findTag(tag);
      if (!p) throw upstreamError(404, `Unable to find release tag ${tag}, it may have been deleted`);
      if (p.stream !== name) throw upstreamError(404, `Release tag ${tag} does not belong to release ${name}`);
      if (!ctx.artifactsUrl) throw upstreamError(404, NO_ARTIFACTS);
      return reply.redirect(downloadURL(ctx, p.tag), 302);
    },
  );
}
