// Authenticated write routes (DESIGN.md §11). Bodies are validated with zod; every accepted write
// goes through the controller, which records it in the audit trail with the user.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z, type ZodTypeAny } from 'zod';
import type { Authenticator } from '../auth.ts';
import { apiError } from '../errors.ts';
import type { RouteRegistry } from '../openapi.ts';
import { param, sendJson, tagObject, type ApiContext } from './shared.ts';

const reason = z.string({ required_error: 'is required', invalid_type_error: 'must be a string' }).trim().min(1, 'must not be empty').max(4096, 'must be at most 4096 characters');

const Bodies = {
  input: z.object({ tags: z.record(z.string({ invalid_type_error: 'must be a pull spec string' }).min(1, 'must not be empty').max(1024)).refine((t) => Object.keys(t).length > 0, 'must name at least one component') }).strict(),
  override: z.object({ phase: z.enum(['Accepted', 'Rejected'], { errorMap: () => ({ message: 'must be Accepted or Rejected' }) }), reason }).strict(),
  qe: z.object({ verdict: z.enum(['QEAccepted', 'QERejected'], { errorMap: () => ({ message: 'must be QEAccepted or QERejected' }) }), reason }).strict(),
  reason: z.object({ reason }).strict(),
};

function parseBody<T extends ZodTypeAny>(schema: T, req: FastifyRequest): z.infer<T> {
  if (req.body === undefined || req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) throw apiError(400, 'the request body must be a JSON object');
  const r = schema.safeParse(req.body);
  if (!r.success) {
    const i = r.error.issues[0];
    const path = i.path.join('.') || 'body';
    const msg = i.code === 'unrecognized_keys' ? `unknown field ${i.keys.map((k) => JSON.stringify(k)).join(', ')}` : i.message;
    throw apiError(400, `${path}: ${msg}`);
  }
  return r.data;
}

const schemaDoc = (props: Record<string, unknown>, required: string[]) => ({ type: 'object', properties: props, required, additionalProperties: false });
const reasonDoc = { type: 'string', minLength: 1 };

export function writeRoutes(app: FastifyInstance, reg: RouteRegistry, ctx: ApiContext, auth: Authenticator): void {
  const state = ctx.ops.state;
  const payloadOr404 = (req: FastifyRequest) => {
    const stream = param(req, 'release');
    const tag = param(req, 'tag');
    if (!state.stream(stream)) throw apiError(404, `unknown release stream ${stream}`);
    const p = state.payload(stream, tag);
    if (!p) throw apiError(404, `unknown release tag ${tag} in stream ${stream}`);
    return { stream, tag };
  };
  const done = (reply: Parameters<Parameters<RouteRegistry['route']>[2]>[1], stream: string, tag: string) => sendJson(reply, tagObject(ctx, state.payload(stream, tag)!));

  reg.route(
    app,
    { method: 'PUT', url: '/api/v1/inputstreams/:input/tags', summary: 'Update components of an input stream (one atomic input change)', tag: 'writes', roles: ['ci', 'admin'], body: schemaDoc({ tags: { type: 'object', additionalProperties: { type: 'string' } } }, ['tags']), produces: 'application/json', responses: { '200': 'updated', '400': 'bad body', '401': 'no token', '403': 'wrong role' } },
    async (req, reply) => {
      const input = param(req, 'input');
      const body = parseBody(Bodies.input, req);
      await ctx.ops.setInputTags(input, body.tags, req.principal!.user);
      const tags = Object.fromEntries(state.inputTags(input).map((t) => [t.component, t.pullSpec]));
      return sendJson(reply, { input, tags });
    },
    auth.require('ci', 'admin'),
  );

  reg.route(
    app,
    { method: 'POST', url: '/api/v1/releasestream/:release/release/:tag/override', summary: 'Override the phase of a payload (Accepted/Rejected)', tag: 'writes', roles: ['admin'], body: schemaDoc({ phase: { enum: ['Accepted', 'Rejected'] }, reason: reasonDoc }, ['phase', 'reason']), produces: 'application/json', responses: { '200': 'the tag', '400': 'bad body', '401': 'no token', '403': 'wrong role', '404': 'unknown stream/tag', '409': 'not allowed in this state' } },
    async (req, reply) => {
      const { stream, tag } = payloadOr404(req);
      const body = parseBody(Bodies.override, req);
      await ctx.ops.overridePhase(stream, tag, body.phase, body.reason, req.principal!.user);
      return done(reply, stream, tag);
    },
    auth.require('admin'),
  );

  reg.route(
    app,
    { method: 'POST', url: '/api/v1/releasestream/:release/release/:tag/qe', summary: 'Set the QE verdict of a payload', tag: 'writes', roles: ['qe', 'admin'], body: schemaDoc({ verdict: { enum: ['QEAccepted', 'QERejected'] }, reason: reasonDoc }, ['verdict', 'reason']), produces: 'application/json', responses: { '200': 'the tag', '400': 'bad body', '401': 'no token', '403': 'wrong role', '404': 'unknown stream/tag', '409': 'not allowed in this state' } },
    async (req, reply) => {
      const { stream, tag } = payloadOr404(req);
      const body = parseBody(Bodies.qe, req);
      await ctx.ops.qeVerdict(stream, tag, body.verdict, body.reason, req.principal!.user);
      return done(reply, stream, tag);
    },
    auth.require('qe', 'admin'),
  );

  reg.route(
    app,
    { method: 'POST', url: '/api/v1/releasestream/:release/release/:tag/qe/rerun', summary: 'Re-run every QE job of a payload (fresh time limit)', tag: 'writes', roles: ['qe', 'admin'], body: schemaDoc({ reason: reasonDoc }, ['reason']), produces: 'application/json', responses: { '200': 'the tag', '400': 'bad body', '401': 'no token', '403': 'wrong role', '404': 'unknown stream/tag', '409': 'not allowed in this state' } },
    async (req, reply) => {
      const { stream, tag } = payloadOr404(req);
      const body = parseBody(Bodies.reason, req);
      await ctx.ops.qeRerun(stream, tag, body.reason, req.principal!.user);
      return done(reply, stream, tag);
    },
    auth.require('qe', 'admin'),
  );

  reg.route(
    app,
    { method: 'POST', url: '/api/v1/releasestream/:release/release/:tag/jobs/:verifyName/retry', summary: 'Retry a verification job of a payload', tag: 'writes', roles: ['ci', 'admin'], body: schemaDoc({ reason: reasonDoc }, ['reason']), produces: 'application/json', responses: { '200': 'the tag', '400': 'bad body', '401': 'no token', '403': 'wrong role', '404': 'unknown stream/tag/job', '409': 'not allowed in this state' } },
    async (req, reply) => {
      const { stream, tag } = payloadOr404(req);
      const body = parseBody(Bodies.reason, req);
      await ctx.ops.retryJob(stream, tag, param(req, 'verifyName'), body.reason, req.principal!.user);
      return done(reply, stream, tag);
    },
    auth.require('ci', 'admin'),
  );
}
