// Every route registers through `RouteRegistry.route()`, which records it for /openapi.json and,
// for routes with a body, validates the body with the same zod schema the document is generated
// from — so the document cannot drift from what the server serves and accepts.
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods, onRequestHookHandler } from 'fastify';
import { z, type ZodTypeAny } from 'zod';
import { apiError } from './errors.ts';

export interface RouteDoc<B extends ZodTypeAny = ZodTypeAny> {
  method: HTTPMethods;
  url: string;
  summary: string;
  tag: 'upstream' | 'qe' | 'writes' | 'events' | 'ops' | 'console';
  query?: Record<string, string>;
  /** JSON body schema: validated before the handler runs, and documented */
  body?: B;
  roles?: string[];
  produces?: string;
  responses?: Record<string, string>;
}

/** A JSON Schema (OpenAPI 3.0 dialect) for the zod types our bodies use. */
export function jsonSchemaOf(t: ZodTypeAny): Record<string, unknown> {
  const d = t._def as { typeName: string; description?: string };
  const described = (s: Record<string, unknown>) => (t.description ? { ...s, description: t.description } : s);
  switch (d.typeName) {
    case 'ZodObject': {
      const o = t as z.ZodObject<z.ZodRawShape>;
      const properties: Record<string, unknown> = {};
      const required: string[] = [];
      for (const [k, v] of Object.entries(o.shape)) {
        properties[k] = jsonSchemaOf(v);
        if (!v.isOptional()) required.push(k);
      }
      return described({ type: 'object', properties, ...(required.length ? { required } : {}), ...(o._def.unknownKeys === 'strict' ? { additionalProperties: false } : {}) });
    }
    case 'ZodString': {
      const out: Record<string, unknown> = { type: 'string' };
      for (const c of (t as z.ZodString)._def.checks) {
        if (c.kind === 'min') out.minLength = c.value;
        if (c.kind === 'max') out.maxLength = c.value;
      }
      return described(out);
    }
    case 'ZodEnum':
      return described({ type: 'string', enum: [...(t as z.ZodEnum<[string, ...string[]]>).options] });
    case 'ZodRecord':
      return described({ type: 'object', additionalProperties: jsonSchemaOf((t as z.ZodRecord).valueSchema) });
    case 'ZodArray':
      return described({ type: 'array', items: jsonSchemaOf((t as z.ZodArray<ZodTypeAny>).element) });
    case 'ZodBoolean':
      return described({ type: 'boolean' });
    case 'ZodNumber':
      return described({ type: 'number' });
    case 'ZodEffects':
      return described(jsonSchemaOf((t as z.ZodEffects<ZodTypeAny>).innerType()));
    case 'ZodOptional':
      return described(jsonSchemaOf((t as z.ZodOptional<ZodTypeAny>).unwrap()));
    case 'ZodNullable':
      return described({ ...jsonSchemaOf((t as z.ZodNullable<ZodTypeAny>).unwrap()), nullable: true });
    case 'ZodUnion':
      return described({ oneOf: (t as z.ZodUnion<[ZodTypeAny, ...ZodTypeAny[]]>).options.map(jsonSchemaOf) });
    default:
      return described({});
  }
}

/** Parses a JSON body with a zod schema; 400 `{"error": "<field>: <reason>"}` naming the first bad field. */
export function parseBody<T extends ZodTypeAny>(schema: T, body: unknown): z.infer<T> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) throw apiError(400, 'the request body must be a JSON object (Content-Type: application/json)');
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  const path = i.path.join('.') || 'body';
  const msg = i.code === 'unrecognized_keys' ? `unknown field ${i.keys.map((k) => JSON.stringify(k)).join(', ')}` : i.message;
  throw apiError(400, `${path}: ${msg}`);
}

export type RouteHandler<B> = (req: FastifyRequest, reply: FastifyReply, body: B) => unknown;

export class RouteRegistry {
  readonly docs: RouteDoc[] = [];

  /**
   * `authenticate` runs as an onRequest hook: before the body is read or parsed, so a caller
   * without a valid token gets 401/403 and learns nothing from validation.
   */
  route<B extends ZodTypeAny = z.ZodUndefined>(app: FastifyInstance, doc: RouteDoc<B>, handler: RouteHandler<z.infer<B>>, authenticate?: onRequestHookHandler): void {
    this.docs.push(doc);
    const schema = doc.body;
    app.route({
      method: doc.method,
      url: doc.url,
      handler: (req, reply) => handler(req, reply, schema ? parseBody(schema, req.body) : (undefined as z.infer<B>)),
      ...(authenticate ? { onRequest: authenticate } : {}),
    });
  }

  /** Records a route someone else registered (the console pages), so the document lists it too. */
  record(doc: RouteDoc): void {
    if (!this.docs.some((d) => d.url === doc.url && d.method === doc.method)) this.docs.push(doc);
  }

  document(): unknown {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const d of this.docs) {
      const path = d.url.replace(/:([A-Za-z]+)/g, '{$1}').replace(/\*$/, '{path}');
      const params = [...d.url.matchAll(/:([A-Za-z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
      const query = Object.entries(d.query ?? {}).map(([name, description]) => ({ name, in: 'query', required: false, description, schema: { type: 'string' } }));
      const responses = Object.fromEntries(
        Object.entries(d.responses ?? { '200': 'OK' }).map(([code, description]) => [code, { description, ...(code.startsWith('2') && d.produces ? { content: { [d.produces]: {} } } : {}) }]),
      );
      const op: Record<string, unknown> = { summary: d.summary, tags: [d.tag], parameters: [...params, ...query], responses };
      if (d.body) op.requestBody = { required: true, content: { 'application/json': { schema: jsonSchemaOf(d.body) } } };
      if (d.roles) {
        op.security = [{ bearer: [] }];
        op['x-roles'] = d.roles;
      }
      (paths[path] ??= {})[d.method.toLowerCase()] = op;
    }
    return {
      openapi: '3.0.3',
      info: { title: 'release-controller API', version: '1', description: 'Upstream-compatible release-controller API with QE additions (DESIGN.md §9, §11).' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      paths,
    };
  }
}
