// GET /changelog?from=&to=&format=markdown|html|json (upstream-behavior.md §6.15): the changelog
// between two tags, from the changelog service. Never computed on the request path: while it is
// being computed the answer is 202 with Retry-After, and 429 with Retry-After when the service's
// queue is full. Errors are upstream's plain text; every answer carries CORS `*`, as upstream's.
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../errors.ts';
import type { RouteRegistry } from '../openapi.ts';
import { h, trusted } from '../pages/html.ts';
import { layout } from '../pages/layout.ts';
import type { ChangeLogJson } from '../../domain/changelog.ts';
import { goJson, queryOne, type ApiContext } from './shared.ts';

const CORS = { 'access-control-allow-origin': '*' };
const FORMATS = ['', 'markdown', 'html', 'json'];
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/** the JSON body of a changelog, encoded once (a large one is megabytes) */
const bodies = new WeakMap<ChangeLogJson, Buffer>();
function jsonBody(json: ChangeLogJson): Buffer {
  let b = bodies.get(json);
  if (!b) bodies.set(json, (b = Buffer.from(goJson(json) + '\n')));
  return b;
}

const fail = (status: number, message: string, headers: Record<string, string> = {}) => new HttpError(status, message, true, { ...CORS, ...headers });

export function changelogRoutes(app: FastifyInstance, reg: RouteRegistry, ctx: ApiContext): void {
  const state = ctx.ops.state;
  reg.route(
    app,
    {
      method: 'GET', url: '/changelog', summary: 'Changelog between two tags: images, commits, pull requests and issues (CORS *)', tag: 'upstream',
      query: { from: 'the earlier tag', to: 'the later tag', format: "markdown (default, text/plain), html or json (changeLogJson)" },
      produces: 'text/plain',
      responses: { '200': 'the changelog', '202': 'being computed: ask again after Retry-After seconds', '400': 'missing or unknown tag, bad format', '429': 'too many changelogs being computed: ask again after Retry-After seconds' },
    },
    async (req, reply) => {
      reply.headers(CORS);
      const fromName = queryOne(req, 'from') ?? '';
      const toName = queryOne(req, 'to') ?? '';
      const format = (queryOne(req, 'format') ?? '').toLowerCase();
      if (!fromName) throw fail(400, 'from must be set to a valid tag');
      if (!toName) throw fail(400, 'to must be set to a valid tag');
      if (!FORMATS.includes(format)) throw fail(400, 'unrecognized format= string: html, json, markdown, empty accepted');
      const from = state.findTag(fromName);
      if (!from) throw fail(400, `could not find tag: ${fromName}`);
      const to = state.findTag(toName);
      if (!to) throw fail(400, `could not find tag: ${toName}`);
      for (const p of [from, to]) if (!p.pullSpec) throw fail(400, `release target ${p.stream} does not have a configured registry`);
      const r = await ctx.changelog.get(from, to);
      if (r.state === 'computing') {
        return reply.code(202).header('retry-after', String(r.retryAfterSeconds)).type('text/plain; charset=utf-8').send(`the changelog from ${fromName} to ${toName} is still being computed; retry in ${r.retryAfterSeconds}s\n`);
      }
      if (r.state === 'busy') {
        return reply.code(429).header('retry-after', String(r.retryAfterSeconds)).type('text/plain; charset=utf-8').send(`too many changelogs are being computed; retry in ${r.retryAfterSeconds}s\n`);
      }
      reply.header('x-changelog-source', r.source);
      if (format === 'json') return reply.type('application/json').send(jsonBody(r.json));
      if (format === 'html') {
        const page = layout(`Change log for ${toName}`, { page: 'changelog', tag: toName }, h`<div class="crumbs"><a href="/">Back to index</a></div><h1>Change log for ${toName}</h1><section class="card changelog-body">${trusted(r.html)}</section>`);
        return reply.type('text/html;charset=UTF-8').header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').send(page);
      }
      return reply.type('text/plain; charset=utf-8').send(r.markdown);
    },
  );
}
