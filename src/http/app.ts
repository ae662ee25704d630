// The Fastify app: upstream-compatible API, our writes and live feed, metrics, health, OpenAPI,
// and (when given) the web console. Errors are mapped in one handler.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { OperationError, type Operations } from '../controller/operations.ts';
import { eventRoutes } from './api/events.ts';
import { streamRoutes } from './api/streams.ts';
import { writeRoutes } from './api/writes.ts';
import { sendJson, type ApiContext } from './api/shared.ts';
import { Authenticator, type TokenEntry } from './auth.ts';
import { HttpError } from './errors.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { RouteRegistry } from './openapi.ts';

export interface AppOptions {
  ops: Operations;
  tokens?: TokenEntry[];
  /** base URL of the artifacts server for downloadURL fields ("" → upstream's empty downloadURL) */
  artifactsUrl?: string;
  logger?: FastifyServerOptions['logger'];
  metrics?: Metrics;
  /** the web console (src/http/pages) */
  registerPages?: (app: FastifyInstance) => Promise<void>;
  bodyLimit?: number;
}

const OP_STATUS = { bad_request: 400, not_found: 404, conflict: 409 } as const;

export async function buildApp(o: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: o.bodyLimit ?? 1 << 20,
    routerOptions: { maxParamLength: 500, ignoreTrailingSlash: false },
    // the authorization header is never logged
    ...(o.logger ? { logger: { ...(typeof o.logger === 'object' ? o.logger : {}), redact: ['req.headers.authorization'] } } : {}),
  });
  const metrics = o.metrics ?? createMetrics();
  metrics.bind(o.ops.state);
  const ctx: ApiContext = { ops: o.ops, artifactsUrl: o.artifactsUrl ?? '' };
  const auth = new Authenticator(o.tokens ?? []);
  const reg = new RouteRegistry();

  app.setNotFoundHandler((_req, reply) => reply.code(404).type('text/plain; charset=utf-8').send('404 page not found\n'));
  app.setErrorHandler((err: FastifyError | HttpError | OperationError | Error, req, reply) => {
    if (err instanceof HttpError) {
      reply.code(err.status).headers(err.headers);
      return err.plain ? reply.type('text/plain; charset=utf-8').send(err.message + '\n') : reply.type('application/json').send(JSON.stringify({ error: err.message }) + '\n');
    }
    if (err instanceof OperationError) return reply.code(OP_STATUS[err.code]).type('application/json').send(JSON.stringify({ error: err.message }) + '\n');
    const status = (err as FastifyError).statusCode;
    if (status && status >= 400 && status < 500) {
      const message = status === 413 ? 'request body too large' : (err as FastifyError).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported content type: send application/json' : `invalid request: ${err.message}`;
      return reply.code(status).type('application/json').send(JSON.stringify({ error: message }) + '\n');
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).type('application/json').send(JSON.stringify({ error: 'internal error' }) + '\n');
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.httpDuration.observe({ route: req.routeOptions.url ?? 'unmatched', method: req.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  o.ops.subscribe((e) => metrics.events.inc({ type: e.type }));

  streamRoutes(app, reg, ctx);
  writeRoutes(app, reg, ctx, auth);
  eventRoutes(app, reg, ctx);

  reg.route(app, { method: 'GET', url: '/healthz', summary: 'Liveness', tag: 'ops', produces: 'text/plain' }, async (_req, reply) => reply.type('text/plain; charset=utf-8').send('ok\n'));
  reg.route(app, { method: 'GET', url: '/readyz', summary: 'Readiness: state loaded and first reconcile done', tag: 'ops', produces: 'text/plain', responses: { '200': 'ready', '503': 'starting' } }, async (_req, reply) =>
    o.ops.ready() ? reply.type('text/plain; charset=utf-8').send('ok\n') : reply.code(503).type('text/plain; charset=utf-8').send('not ready\n'),
  );
  reg.route(app, { method: 'GET', url: '/metrics', summary: 'Prometheus metrics', tag: 'ops', produces: 'text/plain' }, async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  reg.route(app, { method: 'GET', url: '/openapi.json', summary: 'This document', tag: 'ops', produces: 'application/json' }, async (_req, reply) => sendJson(reply, reg.document()));

  if (o.registerPages) {
    const before = new Set<string>();
    app.addHook('onRoute', (r) => {
      const methods = Array.isArray(r.method) ? r.method : [r.method];
      for (const m of methods) {
        if (m === 'HEAD' || before.has(`${m} ${r.url}`) || reg.docs.some((d) => d.url === r.url && d.method === m)) continue;
        before.add(`${m} ${r.url}`);
        reg.docs.push({ method: m, url: r.url, summary: 'Web console page', tag: 'console', produces: 'text/html' });
      }
    });
    await o.registerPages(app);
  }
  return app;
}
