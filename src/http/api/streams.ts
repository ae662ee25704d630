// Upstream's read routes under /api/v1 (upstream-behavior.md §6.3–§6.11, §6.18) plus the QE
// additions of DESIGN.md §6. Errors here are plain text, exactly as upstream words them.
import type { FastifyInstance } from 'fastify';
import { findCandidate } from '../../domain/candidate.ts';
import { changeLog, changeLogHtml, emptyChangeLog } from '../../domain/changelog.ts';
import { parseDuration } from '../../domain/duration.ts';
import { isStable, qeEntries, type ReleaseConfig } from '../../domain/config/schema.ts';
import type { Payload } from '../../domain/types.ts';
import { summarizeUpgrades } from '../../domain/upgrade.ts';
import { parseRange, sortTagNamesDescending } from '../../domain/version.ts';
import { payloadResults } from '../../domain/views.ts';
import { upstreamError } from '../errors.ts';
import type { RouteRegistry } from '../openapi.ts';
import { listedStreams, matchesPhase, param, queryList, queryOne, sendJson, sendText, tagObject, type ApiContext } from './shared.ts';

const FORMAT_ERROR = "error: Must specify one of '', 'json', 'pullSpec', 'name', or 'downloadURL";
const LIST_KINDS: Record<string, (p: Payload) => boolean> = {
  accepted: (p) => p.phase === 'Accepted',
  rejected: (p) => p.phase === 'Rejected',
  ready: (p) => p.phase === 'Ready',
  all: () => true,
  qeaccepted: (p) => p.qe.state === 'QEAccepted',
  qerejected: (p) => p.qe.state === 'QERejected',
};

/** The payload a release page compares against by default (upstream §6.5 rules a–c). */
export function previousPayload(ctx: ApiContext, p: Payload): Payload | undefined {
  const list = ctx.ops.state.payloads(p.stream);
  const older = list.filter((x) => x.createdAt < p.createdAt || (x.createdAt === p.createdAt && x.tag < p.tag));
  const rec = ctx.ops.state.stream(p.stream);
  for (const [, step] of Object.entries(rec?.config.publish ?? {})) {
    if (!step.tagRef || step.disabled) continue;
    const ref = ctx.ops.state.published(p.stream).find((r) => r.name === step.tagRef!.name);
    const target = ref && older.find((x) => x.tag === ref.tag);
    if (target) return target;
  }
  return older.find((x) => x.phase === 'Accepted') ?? older[0];
}

/** Config as upstream serialises it: `expires` in nanoseconds; `{}` when there are no verify entries. */
function configBody(c: ReleaseConfig, jobType: string): unknown {
  if (!c.verify || Object.keys(c.verify).length === 0) return {};
  const pick = (f: (v: NonNullable<ReleaseConfig['verify']>[string]) => boolean) =>
    Object.fromEntries(Object.entries(c.verify ?? {}).filter(([, v]) => f(v)).sort(([a], [b]) => (a < b ? -1 : 1)));
  switch (jobType) {
    case '': {
      const out: Record<string, unknown> = { ...c };
      if (typeof c.expires === 'string') {
        try {
          out.expires = Math.round(parseDuration(c.expires) * 1e6);
        } catch {
          out.expires = 0;
        }
      }
      return out;
    }
    case 'informing':
      return pick((v) => Boolean(v.optional));
    case 'blocking':
      return pick((v) => !v.optional);
    case 'disabled':
      return pick((v) => Boolean(v.disabled));
    case 'periodic':
      return c.periodic ?? {};
    default:
      return null;
  }
}

export function streamRoutes(app: FastifyInstance, reg: RouteRegistry, ctx: ApiContext): void {
  const state = ctx.ops.state;

  reg.route(
    app,
    { method: 'GET', url: '/api/v1/releasestream/:release/tags', summary: 'Tags of a stream (all phases), newest version first', tag: 'upstream', query: { phase: 'repeatable; a phase or QEAccepted/QERejected/…', format: "'' or json" }, produces: 'application/json', responses: { '200': 'tags', '400': 'bad format', '404': 'unknown stream' } },
    async (req, reply) => {
      const name = param(req, 'release');
      const rec = state.stream(name);
      if (!rec) throw upstreamError(404, `Unable to find release ${name}`);
      const format = queryOne(req, 'format') ?? '';
      if (format !== '' && format !== 'json') throw upstreamError(400, FORMAT_ERROR);
      const phases = queryList(req, 'phase').filter(Boolean);
      let list = state.payloads(name) as Payload[];
      if (phases.length) list = list.filter((p) => matchesPhase(p, phases));
      const tags = sortTagNamesDescending(list, (p) => p.tag).map((p) => tagObject(ctx, p));
      return sendJson(reply, { name, tags: tags.length ? tags : null });
    },
  );

  reg.route(
    app,
    {
      method: 'GET', url: '/api/v1/releasestream/:release/latest', summary: 'Newest payload in a phase (default Accepted; QEAccepted/QERejected allowed)', tag: 'upstream',
      query: { phase: 'Accepted (default) or another phase / QE state', prefix: 'tag name prefix', in: 'semantic version range', rel: 'skip the first n matches', format: 'json, pullSpec, name or downloadURL' },
      produces: 'application/json', responses: { '200': 'the tag', '400': 'bad parameter', '404': 'no such stream or tag' },
    },
    async (req, reply) => {
      const name = param(req, 'release');
      const rec = state.stream(name);
      if (!rec) throw upstreamError(404, 'no release configuration exists with the requested name');
      const format = queryOne(req, 'format') ?? '';
      if (!['', 'json', 'pullSpec', 'name', 'downloadURL'].includes(format)) throw upstreamError(400, FORMAT_ERROR);
      const phases = queryList(req, 'phase').filter(Boolean);
      let list = (state.payloads(name) as Payload[]).filter((p) => matchesPhase(p, phases.length ? phases : ['Accepted']));
      const prefix = queryOne(req, 'prefix');
      if (prefix) list = list.filter((p) => p.tag.startsWith(prefix));
      const range = queryOne(req, 'in');
      if (range !== undefined && range !== '') {
        let test: (v: string) => boolean;
        try {
          test = parseRange(range);
        } catch (e) {
          throw upstreamError(400, `error: ?in must be a valid semantic version range: ${(e as Error).message}`);
        }
        list = list.filter((p) => test(p.tag));
      }
      let rel = 0;
      const relStr = queryOne(req, 'rel');
      if (relStr !== undefined && relStr !== '') {
        if (!/^-?\d+$/.test(relStr)) throw upstreamError(400, `error: ?rel must be non-negative integer: strconv.Atoi: parsing ${JSON.stringify(relStr)}: invalid syntax`);
        rel = Number(relStr);
        if (rel < 0) throw upstreamError(400, 'error: ?rel must be non-negative integer');
      }
      const sorted = sortTagNamesDescending(list, (p) => p.tag);
      const p = sorted[rel];
      if (!p) throw upstreamError(404, 'no tags exist within the release that satisfy the request');
      const t = tagObject(ctx, p);
      if (format === 'pullSpec') return sendText(reply, t.pullSpec);
      if (format === 'name') return sendText(reply, t.name);
      if (format === 'downloadURL') return sendText(reply, t.downloadURL);
      return sendJson(reply, t);
    },
  );

  reg.route(
    app,
    { method: 'GET', url: '/api/v1/releasestream/:release/release/:tag', summary: 'Release info: phase, QE state, job results, upgrades, changelog', tag: 'upstream', query: { from: 'previous tag for the changelog', format: 'short: skip the changelog' }, produces: 'application/json', responses: { '200': 'release info', '404': 'unknown tag' } },
    async (req, reply) => {
      const name = param(req, 'release');
      const tag = param(req, 'tag');
      const p = state.findTag(tag);
      if (!p) throw upstreamError(404, `unable to find release tag ${tag}, it may have been deleted`);
      if (p.stream !== name) throw upstreamError(404, `release tag ${tag} does not belong to release ${name}`);
      const rec = state.stream(name)!;
      const fromName = queryOne(req, 'from');
      let prev: Payload | undefined;
      if (fromName) {
        prev = state.findTag(fromName);
        if (!prev) throw upstreamError(404, `unable to find release tag ${fromName}, it may have been deleted`);
      } else prev = previousPayload(ctx, p);
      const short = (queryOne(req, 'format') ?? '').toLowerCase() === 'short';
      const results = payloadResults(rec.config, p, state.runs(name, tag));
      const resultsOut: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(results)) if (Object.keys(v).length) resultsOut[k] = v;
      const body: Record<string, unknown> = { name: p.tag, phase: p.phase, qePhase: p.qe.state, results: resultsOut };
      if (qeEntries(rec.config).length || p.qe.state) {
        body.qe = { phase: p.qe.state, reason: p.qe.reason, startedAt: p.qe.startedAt, deadline: p.qe.deadline };
      }
      const to = summarizeUpgrades(state.upgradesInto(tag), (u) => u.from);
      const from = summarizeUpgrades(state.upgradesOutOf(tag), (u) => u.to);
      if (to.length) body.upgradesTo = to;
      if (from.length) body.upgradesFrom = from;
      if (prev && !short && prev.pullSpec && p.pullSpec) {
        const cl = changeLog(prev, p);
        body.changeLog = Buffer.from(changeLogHtml(cl)).toString('base64');
        body.changeLogJson = cl;
      } else body.changeLogJson = emptyChangeLog();
      return sendJson(reply, body);
    },
  );

  reg.route(
    app,
    { method: 'GET', url: '/api/v1/releasestream/:release/config', summary: 'The stream config (expires in ns), or a verify subset by jobType', tag: 'upstream', query: { jobType: "'', informing, blocking, disabled or periodic" }, produces: 'application/json', responses: { '200': 'config', '400': 'bad jobType', '404': 'unknown stream' } },
    async (req, reply) => {
      const name = param(req, 'release');
      const rec = state.stream(name);
      if (!rec) throw upstreamError(404, `error: unknown release stream specified: ${name}`);
      const jobType = queryOne(req, 'jobType') ?? '';
      const body = configBody(rec.config, jobType);
      if (body === null) throw upstreamError(400, "error: jobType must be one of '', 'informing', 'blocking', 'disabled' or 'periodic'");
      return sendJson(reply, body);
    },
  );

  reg.route(
    app,
    { method: 'GET', url: '/api/v1/releasestream/:release/candidate', summary: 'Promotion candidate (QE-accepted payloads only for streams with QE jobs)', tag: 'upstream', produces: 'application/json', responses: { '200': 'candidate or null', '404': 'unknown stream' } },
    async (req, reply) => {
      const name = param(req, 'release');
      if (!state.stream(name)) throw upstreamError(404, 'no release configuration exists with the requested name');
      return sendJson(reply, { candidate: findCandidate(state, name) });
    },
  );

  for (const kind of Object.keys(LIST_KINDS)) {
    const qe = kind.startsWith('qe');
    reg.route(
      app,
      { method: 'GET', url: `/api/v1/releasestreams/${kind}`, summary: `${kind} tags of every stream`, tag: qe ? 'qe' : 'upstream', produces: 'application/json' },
      async (_req, reply) => {
        const out: Record<string, string[] | null> = {};
        for (const s of listedStreams(ctx).sort((a, b) => (a.name < b.name ? -1 : 1))) {
          let list = (state.payloads(s.name) as Payload[]).filter(LIST_KINDS[kind]);
          if (isStable(s.config)) list = sortTagNamesDescending(list, (p) => p.tag);
          out[s.name] = list.length ? list.map((p) => p.tag) : null;
        }
        return sendJson(reply, out, 1);
      },
    );
  }

  reg.route(
    app,
    { method: 'GET', url: '/api/v1/releasetag/:tag/qualifiers', summary: 'Qualifier summary of a payload (null: none configured)', tag: 'upstream', produces: 'application/json', responses: { '200': 'summary or null', '404': 'no payload' } },
    async (req, reply) => {
      const tag = param(req, 'tag');
      if (!state.findTag(tag)) throw upstreamError(404, `No release payload found for tag "${tag}"`);
      return sendJson(reply, null);
    },
  );

  reg.route(
    app,
    { method: 'GET', url: '/releasestream/:release/latest', summary: 'Redirect to the newest accepted release page', tag: 'upstream', query: { in: 'range', rel: 'n', prefix: 'prefix' }, responses: { '302': 'redirect', '404': 'none' } },
    async (req, reply) => {
      const name = param(req, 'release');
      if (!state.stream(name)) throw upstreamError(404, 'no release configuration exists with the requested name');
      const r = await app.inject({ method: 'GET', url: `/api/v1/releasestream/${encodeURIComponent(name)}/latest`, query: req.query as Record<string, string> });
      if (r.statusCode !== 200) throw upstreamError(r.statusCode, r.body.trim());
      const t = JSON.parse(r.body) as { name: string };
      return reply.redirect(`/releasestream/${encodeURIComponent(name)}/release/${encodeURIComponent(t.name)}`, 302);
    },
  );
}
