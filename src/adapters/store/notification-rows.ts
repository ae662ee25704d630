// Delivery record ↔ row mapping shared by the store adapters (the same columns in both).
import type { Delivery } from '../../ports/notifications.ts';

export type Row = unknown[];

export const DELIVERY_COLS =
  'seq, webhook, event_id, type, stream, tag, format, state, attempts, last_status, last_error, created_at, updated_at, next_attempt_at, body';

export function deliveryFromRow(r: Row): Delivery {
  return {
    seq: Number(r[0]),
    webhook: r[1] as string,
    eventId: Number(r[2]),
    type: r[3] as string,
    stream: r[4] as string,
    tag: r[5] as string,
    format: r[6] as string,
    state: r[7] as Delivery['state'],
    attempts: Number(r[8]),
    lastStatus: r[9] === null || r[9] === undefined ? null : Number(r[9]),
    lastError: r[10] as string,
    createdAt: r[11] as string,
    updatedAt: r[12] as string,
    nextAttemptAt: (r[13] as string | null) ?? null,
    body: r[14] as string,
  };
}

/** the insert's values, in column order without seq */
export function deliveryParams(d: Delivery): (string | number | null)[] {
  return [d.webhook, d.eventId, d.type, d.stream, d.tag, d.format, d.state, d.attempts, d.lastStatus, d.lastError, d.createdAt, d.updatedAt, d.nextAttemptAt, d.body];
}
