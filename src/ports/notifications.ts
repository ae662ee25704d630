// Durable state of outgoing notifications (issue 19): the deliverer (adapters/notify) keeps, per
// webhook, a cursor into the events table (the outbox: every event is committed in the same
// transaction as the change it records) and one delivery row per notification it decided to send.
// Implemented by both store adapters (tables of SQLite migration 6 / PostgreSQL migration 5).

export const DELIVERY_STATES = ['pending', 'delivered', 'failed', 'dropped'] as const;
/**
 * pending: not delivered yet (waiting for its turn or its next attempt); delivered: a 2xx answer;
 * failed: a permanent refusal (4xx other than 408/429, a redirect) or retries ran out;
 * dropped: not queued because the webhook's queue was full (recorded, never silent).
 */
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export interface Delivery {
  /** order of creation (pagination key of listDeliveries) */
  seq?: number;
  webhook: string;
  /** the event it announces (the outbox row) */
  eventId: number;
  /** notification type: PayloadAccepted, QERejected, … */
  type: string;
  stream: string;
  tag: string;
  /** cloudevents | slack: how `body` was rendered */
  format: string;
  state: DeliveryState;
  attempts: number;
  /** HTTP status of the last attempt (null: none yet, or no answer) */
  lastStatus: number | null;
  lastError: string;
  createdAt: string;
  updatedAt: string;
  /** when a pending delivery may be tried again (null: now) */
  nextAttemptAt: string | null;
  /** the exact bytes sent on every attempt (the signature is computed over them) */
  body: string;
}

/** What an attempt changes. */
export type DeliveryUpdate = Pick<Delivery, 'webhook' | 'eventId' | 'state' | 'attempts' | 'lastStatus' | 'lastError' | 'updatedAt' | 'nextAttemptAt'>;

export interface DeliveryQuery {
  webhook?: string;
  state?: DeliveryState;
  /** only deliveries with seq < before (the next page of a newest-first listing) */
  before?: number;
  /** 1…1000, default 100 */
  limit?: number;
}

export interface DeliveryCount {
  webhook: string;
  state: DeliveryState;
  count: number;
}

export interface NotificationStore {
  /** the id of the last event a webhook has handled, or null for a webhook never seen */
  notifyCursor(webhook: string): Promise<number | null>;
  /** every webhook with a cursor */
  notifyCursors(): Promise<{ webhook: string; eventId: number }[]>;
  /**
   * In one transaction: records the deliveries (one already recorded for the same webhook and
   * event is left as it is) and moves the webhook's cursor to `cursor` (never backwards).
   */
  enqueueDeliveries(webhook: string, cursor: number, deliveries: Delivery[], at: string): Promise<void>;
  updateDelivery(u: DeliveryUpdate): Promise<void>;
  /** the oldest pending deliveries of a webhook, in event order */
  pendingDeliveries(webhook: string, limit: number): Promise<Delivery[]>;
  /** newest first */
  listDeliveries(q: DeliveryQuery): Promise<Delivery[]>;
  countDeliveries(): Promise<DeliveryCount[]>;
  /** the id of the newest event (0 when there is none): where a new webhook starts */
  latestEventId(): Promise<number>;
  /** removes a webhook's cursor (it left the notify file); its deliveries stay as history */
  forgetWebhook(webhook: string): Promise<void>;
  /** deletes delivered, failed and dropped deliveries last updated before `before` (RFC 3339) */
  pruneDeliveries(before: string): Promise<number>;
}

export const DEFAULT_DELIVERY_LIMIT = 100;
export const MAX_DELIVERY_LIMIT = 1000;

export function deliveryLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_DELIVERY_LIMIT;
  return Math.max(1, Math.min(Math.trunc(limit), MAX_DELIVERY_LIMIT));
}
