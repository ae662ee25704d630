// The Fastify app: upstream-compatible API, our writes and live feed, metrics, health, OpenAPI,
// and (when given) the web console. Errors are mapped in one handler: upstream's routes answer
// upstream's plain text, ours answer JSON {"error": "…"}; bad input is a 4xx, never a 500.
import { createServer, type ServerOptions } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import type { PayloadBuilder } from '../ports/builder.ts';
import { ChangelogService } from '../controller/changelog.ts';
import { QualifiersConfig } from '../controller/qualifiers.ts';
import { OperationError, releaseConfigProblems, type ConfigFileProblem, type Operations } from '../controller/operations.ts';
import { describeError, isTransientStoreError } from '../controller/faults.ts';
import { changelogRoutes } from './api/changelog.ts';
import { eventRoutes, type EventRouteOptions } from './api/events.ts';
import { graphRoutes } from './api/graph.ts';
import { notificationRoutes, type NotificationsSource } from './api/notifications.ts';
import { sendJson, type ApiContext } from './api/shared.ts';
import { releaseTagRoutes } from './api/releasetag.ts';
import { streamRoutes } from './api/streams.ts';
import { leverRoutes } from './api/levers.ts';
import { writeRoutes } from './api/writes.ts';
import { Authenticator, type TokenEntry } from './auth.ts';
import { registerResponseCache, type CacheHandle } from './cache.ts';
import { HttpError } from './errors.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { RouteRegistry } from './openapi.ts';
import { applyConnectionLimit, registerJsonDepthLimit, serverLimits, serverOptions, type ServerLimits } from './server-limits.ts';
import { registryRoutes, type RegistryNotificationSink } from './api/registry.ts';
import type { PullSpecResolver } from './api/writes.ts';
import { registerWriteForwarding } from './forward.ts';

export interface AppOptions {
  ops: Operations;
  tokens?: TokenEntry[];
  /** the authenticator to use instead of one built from `tokens` (serve replaces its tokens on reload) */
  authenticator?: Authenticator;
  /** files that failed to (re)load, for /metrics (default: the release config problems of `ops`) */
  configProblems?: () => readonly ConfigFileProblem[];
  /** base URL of the artifacts server for downloadURL fields ("" → upstream's empty downloadURL) */
  artifactsUrl?: string;
  /** the payload builder, for /releasetag/{tag}/json (the manifests it wrote) */
  builder?: Pick<PayloadBuilder, 'manifests'>;
  /** the changelog service (git mirrors, cache); default: image-level changelogs only */
  changelog?: ChangelogService;
  /** outgoing notifications: GET /api/v1/notifications (role admin) */
  notifications?: NotificationsSource;
  /** Fastify logger options (the Authorization header is always redacted) */
  logger?: boolean | Record<string, unknown>;
  /** metrics shared with the controller (reconcile duration); a fresh registry when absent */
  metrics?: Metrics;
  /** the web console (src/http/pages), registered last */
  registerPages?: (app: FastifyInstance) => Promise<void>;
  /** inputs imported from a registry: POST /api/v1/registry/notifications (role ci) */
  registryInputs?: RegistryNotificationSink;
  /** with a registry: PUT …/inputstreams/{input}/tags pins each pull spec to its digest (400 when it cannot) */
  resolvePullSpec?: PullSpecResolver;
  /** what is failing outside the store (the registry: imports, builds); /readyz stays 200 and names it */
  degraded?: () => string | null;
  /** request body limit in bytes (default 1 MiB) */
  bodyLimit?: number;
  events?: EventRouteOptions;
  /** server timeouts, header size and connection limit (defaults: DEFAULT_SERVER_LIMITS) */
  server?: Partial<ServerLimits>;
  /** bytes the response cache may hold (default 64 MiB; 0 turns it off) */
  cacheBytes?: number;
  /** the qualifiers file (`serve --qualifiers`, hot-reloaded); default: no qualifiers */
  qualifiers?: QualifiersConfig;
  /** replicas (issue 17): the leader's URL while this replica follows; writes are forwarded there (http/forward.ts) */
  forwardWritesTo?: () => string | null;
  /**
   * `serve --role controller`: the replica reconciles and takes writes (clients and api replicas
   * send them to the leader) but serves no reads: every GET other than /healthz, /readyz and
   * /metrics answers 404 naming the roles that serve them.
   */
  readsRefused?: string;
}

/** what a controller-only replica still answers to GET */
const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

const OP_STATUS = { bad_request: 400, not_found: 404, conflict: 409, unavailable: 503 } as const;
const PLAIN = 'text/plain; charset=utf-8';
const jsonError = (message: string) => JSON.stringify({ error: message }) + '\n';

function loggerOption(logger: AppOptions['logger']): FastifyServerOptions['logger'] {
  if (!logger) return false;
  // tokens never reach the log, whatever serializers the caller configures
  return { ...(typeof logger === 'object' ? logger : {}), redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' } };
}

export async function buildApp(o: AppOptions): Promise<FastifyInstance> {
  const limits = serverLimits(o.server);
  // answers the response cache holds for the exact URL go out before routing and hooks (cache.ts,
  // CacheHandle.front); everything else goes to Fastify
  let front: CacheHandle['front'] = () => false;
  const app = Fastify({
    ...serverOptions(limits),
    serverFactory: (handler, opts) => {
      const server = createServer(opts.http as ServerOptions, (req, res) => {
        if (!front(req, res)) handler(req, res);
      });
      // what Fastify sets on a server it creates itself
      server.keepAliveTimeout = opts.keepAliveTimeout as number;
      server.requestTimeout = opts.requestTimeout as number;
      server.setTimeout(opts.connectionTimeout as number);
      return server;
    },
    logger: loggerOption(o.logger),
    bodyLimit: o.bodyLimit ?? 1 << 20,
    routerOptions: { maxParamLength: 500, ignoreTrailingSlash: false },
    // a malformed URL (bad percent-encoding) is the client's mistake, answered like Go's server does (plus the reason)
    frameworkErrors: (err, _req, reply) => {
      const why = err.code === 'FST_ERR_BAD_URL' ? 'malformed URL (invalid percent-encoding)' : err.message;
      void (reply as unknown as FastifyReply).code(400).type(PLAIN).send(`400 Bad Request: ${why}\n`);
    },
  });
  applyConnectionLimit(app, limits);
  registerJsonDepthLimit(app);
  const metrics = o.metrics ?? createMetrics();
  metrics.bind(o.ops.state);
  metrics.bindConfigProblems(o.configProblems ?? (() => releaseConfigProblems(o.ops)));
  const ctx: ApiContext = { ops: o.ops, artifactsUrl: o.artifactsUrl ?? '', builder: o.builder, changelog: o.changelog ?? new ChangelogService({ history: null }), qualifiers: o.qualifiers ?? new QualifiersConfig() };
  const auth = o.authenticator ?? new Authenticator(o.tokens ?? []);
  const reg = new RouteRegistry();

  app.setNotFoundHandler((_req, reply) => reply.code(404).type(PLAIN).send('404 page not found\n'));
  app.setErrorHandler((err: FastifyError | HttpError | OperationError | Error, req, reply) => {
    if (err instanceof HttpError) {
      reply.code(err.status).headers(err.headers);
      return err.plain ? reply.type(PLAIN).send(err.message + '\n') : reply.type('application/json').send(jsonError(err.message));
    }
    if (err instanceof OperationError) {
      // the store is failing: nothing was changed, the client may try again
      if (err.code === 'unavailable') reply.header('retry-after', String(err.retryAfterSeconds ?? 5));
      return reply.code(OP_STATUS[err.code] ?? 400).type('application/json').send(jsonError(err.message));
    }
    // a read the in-memory view does not hold (a settled payload's runs) failed on a failing store
    if (isTransientStoreError(err)) {
      return reply.code(503).header('retry-after', '5').type('application/json').send(jsonError(`store unavailable: ${describeError(err)}; this answer needs a read from it`));
    }
    const status = (err as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) {
      const code = (err as FastifyError).code;
      const message =
        status === 413 ? `request body too large (limit ${o.bodyLimit ?? 1 << 20} bytes)`
        : code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported content type: send application/json'
        : code === 'FST_ERR_CTP_INVALID_JSON_BODY' ? 'the request body is not valid JSON (or uses a forbidden key: __proto__, constructor.prototype)'
        : code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'the request body is empty but Content-Type is application/json'
        : `invalid request: ${err.message}`;
      return reply.code(status).type('application/json').send(jsonError(message));
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).type('application/json').send(jsonError('internal error'));
  });
  app.addHook('onResponse', async (req, reply) => {
    // the route pattern, not the URL, so label cardinality stays bounded
    metrics.httpDuration.observe({ route: req.routeOptions.url ?? 'unmatched', method: req.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  const offEvents = o.ops.subscribe((e) => {
    metrics.events.inc({ type: e.type });
    metrics.observeEvent(e);
  });
  app.addHook('onClose', async () => offEvents());

  if (o.readsRefused) {
    const message = `${o.readsRefused}\n`;
    app.addHook('onRequest', async (req, reply) => {
      if ((req.method === 'GET' || req.method === 'HEAD') && !OPS_PATHS.has(req.url.split('?')[0]!)) return reply.code(404).type(PLAIN).send(message);
    });
  }
  if (o.forwardWritesTo) registerWriteForwarding(app, o.forwardWritesTo, o.bodyLimit ?? 1 << 20);
  // a qualifiers reload changes answers without changing the state
  const cache = registerResponseCache(app, o.ops.state, reg, o.cacheBytes, () => ctx.qualifiers.generation);
  cache.onFrontServed((route, seconds) => metrics.httpDuration.observe({ route, method: 'GET', status: '200' }, seconds));
  front = (req, res) => cache.front(req, res);
  streamRoutes(app, reg, ctx);
  changelogRoutes(app, reg, ctx);
  releaseTagRoutes(app, reg, ctx);
  graphRoutes(app, reg, ctx);
  writeRoutes(app, reg, ctx, auth, o.resolvePullSpec, o.registryInputs);
  leverRoutes(app, reg, ctx, auth);
  if (o.notifications) notificationRoutes(app, reg, o.notifications, auth);
  if (o.registryInputs) registryRoutes(app, reg, o.registryInputs, auth);
  const feeds = eventRoutes(app, reg, ctx, o.events);
  metrics.bindHttp(() => ({ cacheBytes: cache.bytes, cacheEntries: cache.size, feedConnections: feeds.connections }));

  reg.route(app, { method: 'GET', url: '/healthz', summary: 'Liveness', tag: 'ops', produces: 'text/plain' }, async (_req, reply) => reply.type(PLAIN).send('ok\n'));
  reg.route(
    app,
    { method: 'GET', url: '/readyz', summary: 'Readiness: state loaded, the first reconcile of every stream done, and the store writable', tag: 'ops', produces: 'text/plain', responses: { '200': 'ready', '503': 'starting, or the store is failing (`not ready: <reason>`)' } },
    async (_req, reply) => {
      const reason = o.ops.unavailable?.() ?? null;
      if (reason) return reply.code(503).type(PLAIN).send(`not ready: ${reason}\n`);
      if (!o.ops.ready()) return reply.code(503).type(PLAIN).send('not ready\n');
      const degraded = o.degraded?.() ?? null;
      return reply.type(PLAIN).send(degraded ? `ok; degraded: ${degraded}\n` : 'ok\n');
    },
  );
  reg.route(app, { method: 'GET', url: '/metrics', summary: 'Prometheus metrics', tag: 'ops', produces: 'text/plain' }, async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  reg.route(app, { method: 'GET', url: '/openapi.json', summary: 'This document', tag: 'ops', produces: 'application/json' }, async (_req, reply) => sendJson(reply, reg.document()));

  if (o.registerPages) {
    // routes the console registers are recorded too, so /openapi.json lists every route
    app.addHook('onRoute', (r) => {
      for (const m of Array.isArray(r.method) ? r.method : [r.method]) {
        if (m !== 'HEAD') reg.record({ method: m, url: r.url, summary: 'Web console', tag: 'console', produces: 'text/html' });
      }
    });
    await o.registerPages(app);
  }
  return app;
}
