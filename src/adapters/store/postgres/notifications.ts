// The NotificationStore (ports/notifications.ts) of the PostgreSQL store: cursors and deliveries
// in the tables of migration 5, on the store's pool. Every value is a bind parameter.
import type pg from 'pg';
import { deliveryLimit, type Delivery, type DeliveryCount, type DeliveryQuery, type DeliveryUpdate, type NotificationStore } from '../../../ports/notifications.ts';
import { DELIVERY_COLS, deliveryFromRow, deliveryParams, type Row } from '../notification-rows.ts';

const INSERT_COLS = DELIVERY_COLS.replace('seq, ', '');
const params = (n: number) => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ');

const SQL = {
  cursor: 'SELECT event_id FROM notify_cursors WHERE webhook = $1',
  cursors: 'SELECT webhook, event_id FROM notify_cursors ORDER BY webhook COLLATE "C"',
  setCursor: `INSERT INTO notify_cursors (webhook, event_id, updated_at) VALUES ($1, $2, $3)
    ON CONFLICT (webhook) DO UPDATE SET event_id = greatest(notify_cursors.event_id, excluded.event_id), updated_at = excluded.updated_at`,
  insert: `INSERT INTO notify_deliveries (${INSERT_COLS}) VALUES (${params(14)}) ON CONFLICT (webhook, event_id) DO NOTHING`,
  update: `UPDATE notify_deliveries SET state = $3, attempts = $4, last_status = $5, last_error = $6, updated_at = $7, next_attempt_at = $8
    WHERE webhook = $1 AND event_id = $2`,
  pending: `SELECT ${DELIVERY_COLS} FROM notify_deliveries WHERE webhook = $1 AND state = 'pending' ORDER BY event_id LIMIT $2`,
  list: `SELECT ${DELIVERY_COLS} FROM notify_deliveries WHERE ($1::text IS NULL OR webhook = $1) AND ($2::text IS NULL OR state = $2)
    AND seq < $3 ORDER BY seq DESC LIMIT $4`,
  counts: 'SELECT webhook, state, count(*) FROM notify_deliveries GROUP BY webhook, state ORDER BY webhook COLLATE "C", state COLLATE "C"',
  latestEvent: 'SELECT coalesce(max(id), 0) FROM events',
  forget: 'DELETE FROM notify_cursors WHERE webhook = $1',
  prune: `DELETE FROM notify_deliveries WHERE state <> 'pending' AND updated_at < $1`,
} as const;


export class PostgresNotificationStore implements NotificationStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly open: () => void,
  ) {}

  private async rows(name: keyof typeof SQL, values: unknown[] = [], c: pg.Pool | pg.PoolClient = this.pool): Promise<Row[]> {
    this.open();
    return (await c.query<Row>({ name: `rc_notify_${name}`, text: SQL[name], values, rowMode: 'array' })).rows;
  }

  async notifyCursor(webhook: string): Promise<number | null> {
    const [r] = await this.rows('cursor', [webhook]);
    return r ? Number(r[0]) : null;
  }

  async notifyCursors(): Promise<{ webhook: string; eventId: number }[]> {
    return (await this.rows('cursors')).map((r) => ({ webhook: r[0] as string, eventId: Number(r[1]) }));
  }

  async enqueueDeliveries(webhook: string, cursor: number, deliveries: Delivery[], at: string): Promise<void> {
    this.open();
    const c = await this.pool.connect();
    let broken: Error | undefined;
    const onError = (err: Error) => (broken ??= err);
    c.on('error', onError);
    try {
      await c.query('BEGIN');
      for (const d of deliveries) await this.rows('insert', deliveryParams(d), c);
      await this.rows('setCursor', [webhook, cursor, at], c);
      await c.query('COMMIT');
    } catch (err) {
      if (!broken) {
        try {
          await c.query('ROLLBACK');
        } catch (e) {
          broken = e as Error; // unusable: the pool drops it
        }
      }
      throw err;
    } finally {
      c.removeListener('error', onError);
      c.release(broken);
    }
  }

  async updateDelivery(u: DeliveryUpdate): Promise<void> {
    await this.rows('update', [u.webhook, u.eventId, u.state, u.attempts, u.lastStatus, u.lastError, u.updatedAt, u.nextAttemptAt]);
  }

  async pendingDeliveries(webhook: string, limit: number): Promise<Delivery[]> {
    return (await this.rows('pending', [webhook, limit])).map(deliveryFromRow);
  }

  async listDeliveries(q: DeliveryQuery): Promise<Delivery[]> {
    return (await this.rows('list', [q.webhook ?? null, q.state ?? null, q.before ?? Number.MAX_SAFE_INTEGER, deliveryLimit(q.limit)])).map(deliveryFromRow);
  }

  async countDeliveries(): Promise<DeliveryCount[]> {
    return (await this.rows('counts')).map((r) => ({ webhook: r[0] as string, state: r[1] as DeliveryCount['state'], count: Number(r[2]) }));
  }

  async latestEventId(): Promise<number> {
    const [r] = await this.rows('latestEvent');
    return Number(r![0]);
  }

  async forgetWebhook(webhook: string): Promise<void> {
    await this.rows('forget', [webhook]);
  }

  async pruneDeliveries(before: string): Promise<number> {
    this.open();
    const r = await this.pool.query({ name: 'rc_notify_prune', text: SQL.prune, values: [before] });
    return r.rowCount ?? 0;
  }
}
