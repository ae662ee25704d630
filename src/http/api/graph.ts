// GET /graph (Cincinnati, upstream-behavior.md §6.14) and GET /archive/graph (§6.16). The rules
// live in src/domain/graph.ts; here: query parameters, plain-text errors as upstream words them,
// the body format (two-space indentation, no trailing newline) and the content types.
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ARCHITECTURES, archiveRecords, buildGraph, CHANNEL_ERROR, CincinnatiContentType, parseChannel } from '../../domain/graph.ts';
import { upstreamError } from '../errors.ts';
import type { RouteRegistry } from '../openapi.ts';
import { goJson, queryOne, type ApiContext } from './shared.ts';

/**
 * Upstream always answers the Cincinnati media type; a client that asks for plain
 * `application/json` only (and not the Cincinnati type or a wildcard) gets that instead.
 */
export function graphContentType(req: FastifyRequest): string {
  const accept = String(req.headers.accept ?? '').toLowerCase();
  if (!accept || accept.includes('application/vnd.redhat.cincinnati.graph+json') || accept.includes('*/*')) return CincinnatiContentType;
  return /(^|,)\s*application\/json\s*(;|,|$)/.test(accept) ? 'application/json' : CincinnatiContentType;
}

export function graphRoutes(app: FastifyInstance, reg: RouteRegistry, ctx: ApiContext): void {
  reg.route(
    app,
    {
      method: 'GET', url: '/graph', summary: 'Cincinnati upgrade graph: nodes {version, payload, metadata} and edges [from, to] (node indices) for a channel', tag: 'upstream',
      query: {
        channel: "'' / stable / next / stable-<v> / next-<v> (edges with a successful upgrade), prerelease / prerelease-<v> / nightly / nightly-<v> (every tested edge), candidate-<major.minor> / fast-<major.minor> (ours: Stable releases of that minor and the one before, tested or declared edges)",
        arch: `only streams of this architecture (${ARCHITECTURES.join(', ')}; a stream's architecture is its -<arch> name suffix, else amd64)`,
        format: "'' or cincinnati",
      },
      produces: CincinnatiContentType,
      responses: { '200': 'the graph (two-space indentation, no trailing newline)', '400': 'unsupported channel, arch or format (plain text)' },
    },
    async (req, reply) => {
      const format = queryOne(req, 'format') ?? '';
      if (format !== '' && format !== 'cincinnati') throw upstreamError(400, "Unsupported ?format, must be 'cincinnati' (default)");
      // validated up front (upstream validates while walking edges: a bad channel on an empty graph answered 200)
      const channel = parseChannel(queryOne(req, 'channel') ?? '');
      if (!channel) throw upstreamError(400, CHANNEL_ERROR);
      const arch = queryOne(req, 'arch') ?? '';
      if (arch && !(ARCHITECTURES as readonly string[]).includes(arch)) throw upstreamError(400, `Unsupported ?arch, must be one of ${ARCHITECTURES.map((a) => `'${a}'`).join(', ')}`);
      const graph = buildGraph(ctx.ops.state, channel, arch || undefined);
      return reply.type(graphContentType(req)).send(Buffer.from(goJson(graph, 2)));
    },
  );

  reg.route(
    app,
    {
      method: 'GET', url: '/archive/graph', summary: 'Every recorded upgrade edge as upstream persists its graph: gzip JSON [{from, to, results: [{state, url}]}], by to, then from', tag: 'upstream',
      produces: 'application/json', responses: { '200': 'gzip-compressed JSON (Content-Encoding: gzip)' },
    },
    async (_req, reply) => {
      const body = gzipSync(Buffer.from(goJson(archiveRecords(ctx.ops.state), 0)));
      return reply.type('application/json').header('content-encoding', 'gzip').send(body);
    },
  );
}
