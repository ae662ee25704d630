// Registry notifications (DESIGN.md §15): POST /api/v1/registry/notifications takes Distribution's
// event envelope ({"events": [{action, target: {repository, tag, digest, mediaType}, request:
// {host}}]}) and imports the affected inputs at once; polling stays the safety net.
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../auth.ts';
import { apiError } from '../errors.ts';
import type { RouteRegistry } from '../openapi.ts';
import { sendJson } from './shared.ts';

export interface RegistryNotificationSink {
  /** imports the inputs bound to `host/repository` now; the names of those inputs */
  trigger(host: string | null, repository: string): string[];
  /** `host/repository` when `input` is imported from a registry, else null */
  polled(input: string): string | null;
}

const EVENTS_TYPE = 'application/vnd.docker.distribution.events.v1+json';

interface DistributionEvent {
  action?: unknown;
  target?: { repository?: unknown; tag?: unknown; mediaType?: unknown };
  request?: { host?: unknown };
}

export function registryRoutes(app: FastifyInstance, reg: RouteRegistry, sink: RegistryNotificationSink, auth: Authenticator): void {
  app.addContentTypeParser(EVENTS_TYPE, { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(apiError(400, 'body is not JSON'), undefined);
    }
  });
  reg.route(
    app,
    {
      method: 'POST', url: '/api/v1/registry/notifications', summary: 'Registry notifications (Distribution event envelope): the inputs of the pushed repositories are imported at once', tag: 'writes', roles: ['ci'],
      produces: 'application/json', responses: { '200': '{triggered: [input names]}', '400': 'not an event envelope', '401': 'no or invalid token', '403': 'token lacks the role' },
    },
    async (req, reply) => {
      const events = (req.body as { events?: unknown } | null)?.events;
      if (!Array.isArray(events)) throw apiError(400, 'expected a Distribution event envelope {"events": [...]}');
      const triggered = new Set<string>();
      for (const e of events as DistributionEvent[]) {
        if (!e || (e.action !== 'push' && e.action !== 'delete')) continue;
        const repo = e.target?.repository;
        if (typeof repo !== 'string') continue;
        // a blob push is not a new image: only manifest pushes (they carry a tag or a manifest media type)
        const mt = typeof e.target?.mediaType === 'string' ? e.target.mediaType : '';
        if (e.action === 'push' && !e.target?.tag && !/manifest|index/.test(mt)) continue;
        const host = typeof e.request?.host === 'string' ? e.request.host : null;
        let hit = sink.trigger(host, repo);
        if (hit.length === 0 && host) hit = sink.trigger(null, repo);
        for (const n of hit) triggered.add(n);
      }
      return sendJson(reply, { triggered: [...triggered].sort() });
    },
    auth.require('ci'),
  );
}
