// Operator levers (issue 21, DESIGN.md §15): keep, lock, pins, poke, prune, and the stream status
// that says why no payload is being created. Writes take a JSON body with a required `reason`, are
// role-checked and audited by the controller (domain/operations.ts); errors are JSON {"error": "…"}.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Pin } from '../../domain/types.ts';
import { creationBlockedBy } from '../../domain/why.ts';
import type { Authenticator } from '../auth.ts';
import { apiError } from '../errors.ts';
import type { RouteRegistry } from '../openapi.ts';
import { param, sendJson, tagObject, type ApiContext } from './shared.ts';
import { hasControl, PAYLOAD_RESPONSES, reason } from './writes.ts';

const bool = (what: string) => z.boolean({ required_error: 'is required', invalid_type_error: `must be true or false (${what})` });
const text = (max: number) =>
  z
    .string({ invalid_type_error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !hasControl(s), 'must not contain control characters');

export const LeverBodies = {
  keep: z.object({ keep: bool('true keeps the payload, false stops keeping it'), reason }).strict(),
  lock: z.object({ locked: bool('true locks the stream, false unlocks it'), reason }).strict(),
  pin: z
    .object({
      component: text(253).describe('component of the input stream'),
      pullSpec: text(1024).optional().describe('the pull spec to pin it to (or fromTag)'),
      fromTag: text(253).optional().describe('a payload whose pull spec of the component to pin to (or pullSpec)'),
      reason,
    })
    .strict(),
  reason: z.object({ reason }).strict(),
  promote: z
    .object({
      from: text(507).describe('<stream>/<tag> of the payload to promote'),
      reason,
      force: z.boolean({ invalid_type_error: 'must be true or false' }).optional().describe('promote although the source is not Accepted and QE accepted (audited)'),
      previous: z.array(text(253), { invalid_type_error: 'must be a list of versions' }).max(500, 'must list at most 500 versions').optional().describe('further versions the release upgrades from'),
    })
    .strict(),
};

const STREAM_RESPONSES = { '400': 'invalid body', '401': 'no or invalid token', '403': 'token lacks the role', '404': 'unknown stream', '409': 'not allowed in the stream’s current state' };

/** A pin as the API shows it, with what the input stream has now for the component. */
function pinObject(p: Pin, inputPullSpec: string | null): Record<string, unknown> {
  return { component: p.component, pullSpec: p.pullSpec, fromTag: p.fromTag, reason: p.reason, user: p.user, at: p.at, inputPullSpec };
}

export function leverRoutes(app: FastifyInstance, reg: RouteRegistry, ctx: ApiContext, auth: Authenticator): void {
  const state = ctx.ops.state;
  const user = (req: FastifyRequest) => req.principal!.user;
  const payloadTarget = (req: FastifyRequest) => {
    const stream = param(req, 'release');
    const tag = param(req, 'tag');
    if (!state.stream(stream)) throw apiError(404, `unknown release stream ${stream}`);
    if (!state.payload(stream, tag)) throw apiError(404, `unknown release tag ${tag} in stream ${stream}`);
    return { stream, tag };
  };
  const inputParam = (req: FastifyRequest) => {
    const input = param(req, 'input');
    if (hasControl(input)) throw apiError(400, 'input stream name must not contain control characters');
    return input;
  };
  const pinsOf = (input: string) => {
    const current = new Map(state.inputTags(input).map((t) => [t.component, t.pullSpec]));
    return state.pins(input).map((p) => pinObject(p, current.get(p.component) ?? null));
  };
  const streamStatus = (name: string) => {
    const rec = state.stream(name)!;
    return {
      name,
      input: rec.input,
      locked: rec.locked,
      lock: rec.locked ? (rec.lock ?? null) : null,
      creationBlockedBy: creationBlockedBy(state, rec, new Date()),
      pins: pinsOf(rec.input),
    };
  };

  reg.route(
    app,
    {
      method: 'GET', url: '/api/v1/releasestream/:release/status', summary: 'Operator status of a stream (ours): lock, why no payload is being created now, pinned components', tag: 'writes',
      produces: 'application/json', responses: { '200': '{name, input, locked, lock, creationBlockedBy, pins}', '404': 'unknown stream' },
    },
    async (req, reply) => {
      const name = param(req, 'release');
      if (!state.stream(name)) throw apiError(404, `unknown release stream ${name}`);
      return sendJson(reply, streamStatus(name));
    },
  );

  reg.route(
    app,
    {
      method: 'POST', url: '/api/v1/releasestream/:release/release/:tag/keep', summary: 'Keep a payload (never garbage-collected) or stop keeping it', tag: 'writes', roles: ['admin'],
      body: LeverBodies.keep, produces: 'application/json', responses: { '200': 'the tag after the change', ...PAYLOAD_RESPONSES },
    },
    async (req, reply, body) => {
      const { stream, tag } = payloadTarget(req);
      await ctx.ops.keep(stream, tag, body.keep, body.reason, user(req));
      const p = state.payload(stream, tag);
      if (!p) throw apiError(404, `release tag ${tag} was deleted`);
      return sendJson(reply, { ...tagObject(ctx, p), keep: p.annotations['release.openshift.io/keep'] ?? null });
    },
    auth.require('admin'),
  );

  reg.route(
    app,
    {
      method: 'DELETE', url: '/api/v1/releasestream/:release/release/:tag', summary: 'Prune a payload that is not kept: removed with its runs, logs and manifests; its running jobs are cancelled', tag: 'writes', roles: ['admin'],
      body: LeverBodies.reason, produces: 'application/json', responses: { '200': 'the tag as it was', ...PAYLOAD_RESPONSES },
    },
    async (req, reply, body) => {
      const { stream, tag } = payloadTarget(req);
      const before = tagObject(ctx, state.payload(stream, tag)!);
      await ctx.ops.prune(stream, tag, body.reason, user(req));
      return sendJson(reply, { ...before, deleted: true });
    },
    auth.require('admin'),
  );

  reg.route(
    app,
    {
      method: 'POST', url: '/api/v1/releasestream/:release/lock', summary: 'Lock a stream (no new payloads; running verification continues) or unlock it', tag: 'writes', roles: ['admin', 'ci'],
      body: LeverBodies.lock, produces: 'application/json', responses: { '200': 'the stream status after the change', ...STREAM_RESPONSES },
    },
    async (req, reply, body) => {
      const name = param(req, 'release');
      await ctx.ops.lock(name, body.locked, body.reason, user(req));
      return sendJson(reply, streamStatus(name));
    },
    auth.require('admin', 'ci'),
  );

  reg.route(
    app,
    {
      method: 'POST', url: '/api/v1/releasestream/:release/poke', summary: 'Create a payload now, even if the input is unchanged or the creation interval has not passed (maxUnreadyReleases and locks still apply)', tag: 'writes', roles: ['admin'],
      body: LeverBodies.reason, produces: 'application/json', responses: { '201': 'the new (Pending) tag', ...STREAM_RESPONSES },
    },
    async (req, reply, body) => {
      const name = param(req, 'release');
      const tag = await ctx.ops.poke(name, body.reason, user(req));
      const p = state.payload(name, tag);
      if (!p) throw apiError(404, `release tag ${tag} was deleted`);
      return sendJson(reply.code(201), tagObject(ctx, p));
    },
    auth.require('admin'),
  );

  reg.route(
    app,
    {
      method: 'PUT', url: '/api/v1/releasestream/:release/release/:tag', summary: 'Promote a payload into a Stable stream as a named release (the tag is its semantic version): built, verified and phased like any payload', tag: 'writes', roles: ['admin'],
      body: LeverBodies.promote, produces: 'application/json', responses: { '201': 'the new (Pending) release', ...STREAM_RESPONSES, '404': 'unknown stream or source payload' },
    },
    async (req, reply, body) => {
      const name = param(req, 'release');
      const version = param(req, 'tag');
      await ctx.ops.promote({ stream: name, version, from: body.from, reason: body.reason, force: body.force ?? false, previous: body.previous ?? [] }, user(req));
      const p = state.payload(name, version);
      if (!p) throw apiError(404, `release ${version} was deleted`);
      return sendJson(reply.code(201), tagObject(ctx, p));
    },
    auth.require('admin'),
  );

  reg.route(
    app,
    {
      method: 'GET', url: '/api/v1/inputstreams/:input/pins', summary: 'Pinned components of an input stream, with the pull spec the input has now', tag: 'writes',
      produces: 'application/json', responses: { '200': '{input, pins: [...]}', '404': 'unknown input stream' },
    },
    async (req, reply) => {
      const input = inputParam(req);
      if (state.inputTags(input).length === 0 && state.pins(input).length === 0 && !state.streams().some((s) => s.input === input)) throw apiError(404, `unknown input stream ${input}`);
      return sendJson(reply, { input, pins: pinsOf(input) });
    },
  );

  const pinned = (reply: FastifyReply, code: number, input: string) => sendJson(reply.code(code), { input, pins: pinsOf(input) });

  reg.route(
    app,
    {
      method: 'POST', url: '/api/v1/inputstreams/:input/pins', summary: 'Pin ("revert") a component to a pull spec, given or taken from a payload (fromTag), until unpinned; input updates of it are recorded but not used', tag: 'writes', roles: ['admin'],
      body: LeverBodies.pin, produces: 'application/json', responses: { '200': 'the input stream’s pins after the change', '400': 'invalid body', '401': 'no or invalid token', '403': 'token lacks the role', '404': 'unknown input stream, component or tag', '409': 'already pinned there' },
    },
    async (req, reply, body) => {
      const input = inputParam(req);
      await ctx.ops.pin({ input, component: body.component, pullSpec: body.pullSpec, fromTag: body.fromTag, reason: body.reason }, user(req));
      return pinned(reply, 200, input);
    },
    auth.require('admin'),
  );

  reg.route(
    app,
    {
      method: 'DELETE', url: '/api/v1/inputstreams/:input/pins/:component', summary: 'Unpin a component: payloads follow the input stream again', tag: 'writes', roles: ['admin'],
      body: LeverBodies.reason, produces: 'application/json', responses: { '200': 'the input stream’s pins after the change', '400': 'invalid body', '401': 'no or invalid token', '403': 'token lacks the role', '404': 'the component is not pinned' },
    },
    async (req, reply, body) => {
      const input = inputParam(req);
      await ctx.ops.unpin(input, param(req, 'component'), body.reason, user(req));
      return pinned(reply, 200, input);
    },
    auth.require('admin'),
  );
}
