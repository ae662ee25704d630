// Routes register through `route()`, which records them for /openapi.json, so the document
// cannot drift from what the server serves.
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods, preHandlerHookHandler } from 'fastify';

export interface RouteDoc {
  method: HTTPMethods;
  url: string;
  summary: string;
  tag: 'upstream' | 'qe' | 'writes' | 'events' | 'ops' | 'console';
  query?: Record<string, string>;
  body?: Record<string, unknown>;
  roles?: string[];
  produces?: string;
  responses?: Record<string, string>;
}

export class RouteRegistry {
  readonly docs: RouteDoc[] = [];

  route(
    app: FastifyInstance,
    doc: RouteDoc,
    handler: (req: FastifyRequest, reply: FastifyReply) => unknown,
    preHandler?: preHandlerHookHandler,
  ): void {
    this.docs.push(doc);
    app.route({ method: doc.method, url: doc.url, handler: handler as never, ...(preHandler ? { preHandler } : {}) });
  }

  document(): unknown {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const d of this.docs) {
      const path = d.url.replace(/:([A-Za-z]+)/g, '{$1}');
      const params = [...d.url.matchAll(/:([A-Za-z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
      const query = Object.entries(d.query ?? {}).map(([name, description]) => ({ name, in: 'query', required: false, description, schema: { type: 'string' } }));
      const op: Record<string, unknown> = {
        summary: d.summary,
        tags: [d.tag],
        parameters: [...params, ...query],
        responses: Object.fromEntries(
          Object.entries(d.responses ?? { '200': 'OK' }).map(([code, description]) => [code, { description, ...(code.startsWith('2') && d.produces ? { content: { [d.produces]: {} } } : {}) }]),
        ),
      };
      if (d.body) op.requestBody = { required: true, content: { 'application/json': { schema: d.body } } };
      if (d.roles) {
        op.security = [{ bearer: [] }];
        op['x-roles'] = d.roles;
      }
      (paths[path] ??= {})[d.method.toLowerCase()] = op;
    }
    return {
      openapi: '3.0.3',
      info: { title: 'release-controller API', version: '1', description: 'Upstream-compatible release-controller API with QE additions.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      paths,
    };
  }
}
