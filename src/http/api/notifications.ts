// GET /api/v1/notifications (role admin, ours: JSON errors): the deliveries of outgoing
// notifications, newest first, a bounded page at a time, with the configured webhooks (names,
// formats and filters; never URLs or secrets, which may be credentials).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { notificationId } from '../../domain/notifications.ts';
import { DELIVERY_STATES, DEFAULT_DELIVERY_LIMIT, MAX_DELIVERY_LIMIT, type Delivery, type DeliveryQuery, type DeliveryState, type NotificationStore } from '../../ports/notifications.ts';
import type { Authenticator } from '../auth.ts';
import { apiError } from '../errors.ts';
import type { RouteRegistry } from '../openapi.ts';
import { queryOne, sendJson } from './shared.ts';

export interface NotificationsSource {
  store: Pick<NotificationStore, 'listDeliveries'>;
  /** the webhooks of the running notify file */
  webhooks(): readonly { name: string; format: string; events: string[]; streams: string[]; signed: boolean; cursor: number | null }[];
}

/** A delivery as the API and console show it (without the body). */
export function deliveryView(d: Delivery) {
  return {
    seq: d.seq ?? 0,
    id: notificationId(d.webhook, d.eventId),
    webhook: d.webhook,
    eventId: d.eventId,
    type: d.type,
    stream: d.stream,
    tag: d.tag,
    format: d.format,
    state: d.state,
    attempts: d.attempts,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    nextAttemptAt: d.nextAttemptAt,
  };
}

/** The query of a listing request, or a 400 naming what is wrong. */
export function parseDeliveryQuery(req: FastifyRequest): DeliveryQuery {
  const q: DeliveryQuery = {};
  const webhook = queryOne(req, 'webhook');
  if (webhook) q.webhook = webhook;
  const state = queryOne(req, 'state');
  if (state) {
    if (!(DELIVERY_STATES as readonly string[]).includes(state)) throw apiError(400, `state must be one of ${DELIVERY_STATES.join(', ')} (got ${JSON.stringify(state)})`);
    q.state = state as DeliveryState;
  }
  const before = queryOne(req, 'before');
  if (before) {
    if (!/^\d{1,15}$/.test(before) || Number(before) < 1) throw apiError(400, 'before must be a positive integer (the seq of the last delivery of the previous page)');
    q.before = Number(before);
  }
  const limit = queryOne(req, 'limit');
  if (limit) {
    if (!/^\d{1,6}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_DELIVERY_LIMIT) throw apiError(400, `limit must be an integer from 1 to ${MAX_DELIVERY_LIMIT}`);
    q.limit = Number(limit);
  }
  return q;
}

export function notificationRoutes(app: FastifyInstance, reg: RouteRegistry, source: NotificationsSource, auth: Authenticator): void {
  reg.route(
    app,
    {
      method: 'GET', url: '/api/v1/notifications', summary: 'Deliveries of outgoing notifications (webhooks), newest first, with their state, attempts and last error', tag: 'ops', roles: ['admin'],
      query: {
        webhook: 'only this webhook', state: `only this state: ${DELIVERY_STATES.join(', ')}`,
        before: 'the next page: deliveries with a seq below this (the response’s `next`)', limit: `page size, 1…${MAX_DELIVERY_LIMIT} (default ${DEFAULT_DELIVERY_LIMIT})`,
      },
      produces: 'application/json', responses: { '200': '{webhooks, deliveries, next}', '400': 'invalid query', '401': 'no or invalid token', '403': 'token lacks the role' },
    },
    async (req, reply) => {
      const q = parseDeliveryQuery(req);
      const limit = q.limit ?? DEFAULT_DELIVERY_LIMIT;
      const rows = await source.store.listDeliveries({ ...q, limit });
      const next = rows.length === limit ? (rows[rows.length - 1]!.seq ?? null) : null;
      return sendJson(reply, { webhooks: source.webhooks(), deliveries: rows.map(deliveryView), next });
    },
    auth.require('admin'),
  );
}
