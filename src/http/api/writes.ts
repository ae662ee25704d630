// Authenticated write routes (DESIGN.md §11). Bodies are zod schemas (validated by the route
// registry, documented in /openapi.json); every accepted write goes through the controller, which
// records it in the audit trail with the token's user. Errors are JSON {"error": "…"}.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { teamNameProblem } from '../../domain/approvals.ts';
import { Authenticator } from '../auth.ts';
import { apiError } from '../errors.ts';
import type { RouteRegistry } from '../openapi.ts';
import { param, sendJson, tagObject, type ApiContext } from './shared.ts';

/**
 * Has a C0 control character or DEL, other than those `allowed`? (PostgreSQL cannot store NUL in
 * text; none belongs in a name or a pull spec; a reason may have tabs and several lines.)
 */
export function hasControl(s: string, allowed = ''): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 || c === 0x7f) && !allowed.includes(s[i])) return true;
  }
  return false;
}

export const reason = z
  .string({ required_error: 'is required', invalid_type_error: 'must be a string' })
  .trim()
  .min(1, 'must not be empty')
  .max(4096, 'must be at most 4096 characters')
  .refine((s) => !hasControl(s, '\t\n\r'), 'must not contain control characters (tab and newlines are fine)')
  .describe('why (recorded in the audit trail)');

/**
 * Components one input update may name (a payload has about 200). Counted before the entries are
 * validated: checking 20,000 of them costs ~50 ms of CPU per request.
 */
export const MAX_COMPONENTS = 1000;

const pullSpecSchema = z
  .string({ invalid_type_error: 'must be a pull spec string' })
  .min(1, 'must not be empty')
  .max(1024, 'must be at most 1024 characters')
  .refine((s) => !hasControl(s), 'must not contain control characters');

/** labels an input update may give one component (an image has a few dozen) */
export const MAX_LABELS = 100;

const componentSchema = z
  .object({
    pullSpec: pullSpecSchema,
    labels: z
      .record(z.string().max(4096, 'label values must be at most 4096 characters').refine((s) => !hasControl(s), 'label values must not contain control characters'))
      .refine((l) => Object.keys(l).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`)
      .refine((l) => Object.keys(l).every((k) => k.length > 0 && k.length <= 256 && !hasControl(k)), 'label names must be 1–256 characters without control characters')
      .optional(),
  })
  .strict();

/** A component of an input update: its pull spec and (if given) its image labels. */
export function splitInputTags(tags: Record<string, string | { pullSpec: string; labels?: Record<string, string> }>): { tags: Record<string, string>; labels: Record<string, Record<string, string>> } {
  const entries = Object.entries(tags);
  return {
    tags: Object.fromEntries(entries.map(([name, v]) => [name, typeof v === 'string' ? v : v.pullSpec])),
    labels: Object.fromEntries(entries.flatMap(([name, v]) => (typeof v !== 'string' && v.labels ? [[name, Object.fromEntries(Object.entries(v.labels))]] : []))),
  };
}

export const Bodies = {
  input: z
    .object({
      tags: z.preprocess(
        (v, ctx) => {
          if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > MAX_COMPONENTS) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must name at most ${MAX_COMPONENTS} components`, fatal: true });
          }
          return v;
        },
        z
          .record(z.union([pullSpecSchema, componentSchema], {
            errorMap: (_i, c) => ({ message: c.data && typeof c.data === 'object' ? 'must be {pullSpec: string, labels?: {name: value}}' : 'must be a pull spec string' }),
          }), {
            required_error: 'is required',
            invalid_type_error: 'must be an object of component → pull spec',
          })
          .refine((t) => Object.keys(t).length > 0, 'must name at least one component')
          .describe('component name → pull spec, or {pullSpec, labels} (image labels: io.openshift.build.commit.id, io.openshift.build.source-location, … used by changelogs)'),
      ),
    })
    .strict(),
  override: z
    .object({
      phase: z.enum(['Accepted', 'Rejected'], { errorMap: (i) => ({ message: i.code === 'invalid_type' && i.received === 'undefined' ? 'is required' : 'must be Accepted or Rejected' }) }),
      reason,
    })
    .strict(),
  qe: z
    .object({
      verdict: z.enum(['QEAccepted', 'QERejected'], { errorMap: (i) => ({ message: i.code === 'invalid_type' && i.received === 'undefined' ? 'is required' : 'must be QEAccepted or QERejected' }) }),
      reason,
    })
    .strict(),
  approval: z
    .object({
      team: z.string({ required_error: 'is required', invalid_type_error: 'must be a string' }).describe('team name (lowercase; not qe: its approval is the QE verdict)'),
      state: z.enum(['Accepted', 'Rejected'], { errorMap: (i) => ({ message: i.code === 'invalid_type' && i.received === 'undefined' ? 'is required' : 'must be Accepted or Rejected' }) }),
      reason,
    })
    .strict(),
  reason: z.object({ reason }).strict(),
};

export const PAYLOAD_RESPONSES = { '400': 'invalid body', '401': 'no or invalid token', '403': 'token lacks the role', '404': 'unknown stream, tag or job', '409': 'not allowed in the payload’s current state' };

/**
 * With a registry (issue 14): pins a pull spec to its digest (`repo@sha256:…`), or throws an Error
 * saying why it cannot (answered 400).
 */
export type PullSpecResolver = (pullSpec: string) => Promise<string>;

export function writeRoutes(app: FastifyInstance, reg: RouteRegistry, ctx: ApiContext, auth: Authenticator, resolvePullSpec?: PullSpecResolver, polled?: { polled(input: string): string | null }): void {
  const state = ctx.ops.state;
  /** 404 before anything reaches the controller (which checks again, inside its write lock) */
  const target = (req: FastifyRequest) => {
    const stream = param(req, 'release');
    const tag = param(req, 'tag');
    if (!state.stream(stream)) throw apiError(404, `unknown release stream ${stream}`);
    if (!state.payload(stream, tag)) throw apiError(404, `unknown release tag ${tag} in stream ${stream}`);
    return { stream, tag };
  };
  const user = (req: FastifyRequest) => req.principal!.user;
  /** the payload as the tags API shows it, after the write */
  const done = (reply: FastifyReply, code: number, stream: string, tag: string) => {
    const p = state.payload(stream, tag);
    if (!p) throw apiError(404, `release tag ${tag} was deleted`);
    return sendJson(reply.code(code), tagObject(ctx, p));
  };

  reg.route(
    app,
    {
      method: 'PUT', url: '/api/v1/inputstreams/:input/tags', summary: 'Update components of an input stream (one request is one atomic input change)', tag: 'writes', roles: ['ci', 'admin'],
      body: Bodies.input, produces: 'application/json', responses: { '200': 'the input stream’s components after the change', '400': 'invalid body', '401': 'no or invalid token', '403': 'token lacks the role', '409': 'the input stream is imported from a registry repository' },
    },
    async (req, reply, body) => {
      const input = param(req, 'input');
      if (hasControl(input)) throw apiError(400, 'input stream name must not contain control characters');
      const from = polled?.polled(input);
      if (from) throw apiError(409, `input stream ${input} is imported from registry repository ${from} (serve --inputs): push or delete the tag there`);
      const split = splitInputTags(body.tags);
      if (resolvePullSpec) {
        for (const [name, spec] of Object.entries(split.tags)) {
          try {
            split.tags[name] = await resolvePullSpec(spec);
          } catch (e) {
            throw apiError(400, `tags.${name}: ${(e as Error).message}`);
          }
        }
      }
      await ctx.ops.setInputTags(input, split.tags, user(req), split.labels);
      const tags = Object.fromEntries(state.inputTags(input).sort((a, b) => (a.component < b.component ? -1 : 1)).map((t) => [t.component, t.pullSpec]));
      return sendJson(reply, { input, tags });
    },
    auth.require('ci', 'admin'),
  );

  reg.route(
    app,
    {
      method: 'POST', url: '/api/v1/releasestream/:release/release/:tag/override', summary: 'Override the phase of a payload (Accepted or Rejected)', tag: 'writes', roles: ['admin'],
      body: Bodies.override, produces: 'application/json', responses: { '200': 'the tag after the override', ...PAYLOAD_RESPONSES },
    },
    async (req, reply, body) => {
      const { stream, tag } = target(req);
      await ctx.ops.overridePhase(stream, tag, body.phase, body.reason, user(req));
      return done(reply, 200, stream, tag);
    },
    auth.require('admin'),
  );

  reg.route(
    app,
    {
      method: 'POST', url: '/api/v1/releasestream/:release/release/:tag/qe', summary: 'Set the QE verdict of a payload', tag: 'writes', roles: ['qe', 'admin'],
      body: Bodies.qe, produces: 'application/json', responses: { '200': 'the tag after the verdict', ...PAYLOAD_RESPONSES },
    },
    async (req, reply, body) => {
      const { stream, tag } = target(req);
      await ctx.ops.qeVerdict(stream, tag, body.verdict, body.reason, user(req));
      return done(reply, 200, stream, tag);
    },
    auth.require('qe', 'admin'),
  );

  reg.route(
    app,
    {
      method: 'POST', url: '/api/v1/releasestream/:release/release/:tag/qe/rerun', summary: 'Re-run every QE job of a payload (fresh time limit)', tag: 'writes', roles: ['qe', 'admin'],
      body: Bodies.reason, produces: 'application/json', responses: { '202': 'the tag; QE jobs are being relaunched', ...PAYLOAD_RESPONSES },
    },
    async (req, reply, body) => {
      const { stream, tag } = target(req);
      await ctx.ops.qeRerun(stream, tag, body.reason, user(req));
      return done(reply, 202, stream, tag);
    },
    auth.require('qe', 'admin'),
  );

  reg.route(
    app,
    {
      method: 'POST', url: '/api/v1/releasestream/:release/release/:tag/jobs/:verifyName/retry', summary: 'Retry a verification job of a payload', tag: 'writes', roles: ['ci', 'admin'],
      body: Bodies.reason, produces: 'application/json', responses: { '202': 'the tag; the job is being relaunched', ...PAYLOAD_RESPONSES },
    },
    async (req, reply, body) => {
      const { stream, tag } = target(req);
      await ctx.ops.retryJob(stream, tag, param(req, 'verifyName'), body.reason, user(req));
      return done(reply, 202, stream, tag);
    },
    auth.require('ci', 'admin'),
  );

  reg.route(
    app,
    {
      method: 'POST', url: '/api/v1/releasestream/:release/release/:tag/jobs/:verifyName/waive',
      summary: 'Waive a verification job that cannot run (no upgrade source, removed from the config): it counts as passed, audited', tag: 'writes', roles: ['ci', 'admin'],
      body: Bodies.reason, produces: 'application/json', responses: { '200': 'the tag after the waiver', ...PAYLOAD_RESPONSES },
    },
    async (req, reply, body) => {
      const { stream, tag } = target(req);
      await ctx.ops.waiveJob(stream, tag, param(req, 'verifyName'), body.reason, user(req));
      return done(reply, 200, stream, tag);
    },
    auth.require('ci', 'admin'),
  );

  reg.route(
    app,
    {
      method: 'POST', url: '/api/v1/releasestream/:release/release/:tag/approval',
      summary: 'Set a team’s approval of a payload (annotation release.openshift.io/<team>_state; the phase does not change), audited', tag: 'writes', roles: ['admin', '<team>'],
      body: Bodies.approval, produces: 'application/json', responses: { '200': 'the tag after the approval', ...PAYLOAD_RESPONSES, '400': 'invalid body; team qe (use the QE verdict route)', '409': 'the team already gave that state' },
    },
    async (req, reply, body) => {
      // the team is checked before the role: a token without the role learns the route's rules first
      const problem = teamNameProblem(body.team);
      if (problem) throw apiError(400, `team: ${problem}`);
      Authenticator.check(req.principal!, ['admin', body.team]);
      const { stream, tag } = target(req);
      await ctx.ops.teamApproval(stream, tag, body.team, body.state, body.reason, user(req));
      return done(reply, 200, stream, tag);
    },
    auth.authenticated(),
  );
}
