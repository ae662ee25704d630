// The NotificationStore (ports/notifications.ts) of the SQLite store: cursors and deliveries in
// the tables of migration 6, on the store's own connection. Every value is a bound parameter.
import type Database from 'better-sqlite3';
import { deliveryLimit, type Delivery, type DeliveryCount, type DeliveryQuery, type DeliveryUpdate, type NotificationStore } from '../../../ports/notifications.ts';
import { DELIVERY_COLS, deliveryFromRow, deliveryParams, type Row } from '../notification-rows.ts';

const INSERT_COLS = DELIVERY_COLS.replace('seq, ', '');

export class SqliteNotificationStore implements NotificationStore {
  private readonly s;
  private readonly enqueueTx: (webhook: string, cursor: number, deliveries: Delivery[], at: string) => void;

  constructor(
    db: Database.Database,
    private readonly open: () => void,
  ) {
    const raw = (sql: string) => db.prepare(sql).raw();
    this.s = {
      cursor: db.prepare('SELECT event_id FROM notify_cursors WHERE webhook = ?').pluck(),
      cursors: raw('SELECT webhook, event_id FROM notify_cursors ORDER BY webhook'),
      setCursor: db.prepare(
        `INSERT INTO notify_cursors (webhook, event_id, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (webhook) DO UPDATE SET event_id = max(event_id, excluded.event_id), updated_at = excluded.updated_at`,
      ),
      insert: db.prepare(`INSERT INTO notify_deliveries (${INSERT_COLS}) VALUES (${INSERT_COLS.split(', ').map(() => '?').join(', ')}) ON CONFLICT (webhook, event_id) DO NOTHING`),
      update: db.prepare(
        `UPDATE notify_deliveries SET state = @state, attempts = @attempts, last_status = @lastStatus, last_error = @lastError,
           updated_at = @updatedAt, next_attempt_at = @nextAttemptAt WHERE webhook = @webhook AND event_id = @eventId`,
      ),
      pending: raw(`SELECT ${DELIVERY_COLS} FROM notify_deliveries WHERE webhook = ? AND state = 'pending' ORDER BY event_id LIMIT ?`),
      list: raw(
        `SELECT ${DELIVERY_COLS} FROM notify_deliveries WHERE (@webhook IS NULL OR webhook = @webhook) AND (@state IS NULL OR state = @state)
           AND seq < @before ORDER BY seq DESC LIMIT @limit`,
      ),
      counts: raw('SELECT webhook, state, count(*) FROM notify_deliveries GROUP BY webhook, state ORDER BY webhook, state'),
      latestEvent: db.prepare('SELECT coalesce(max(id), 0) FROM events').pluck(),
      forget: db.prepare('DELETE FROM notify_cursors WHERE webhook = ?'),
      prune: db.prepare(`DELETE FROM notify_deliveries WHERE state <> 'pending' AND updated_at < ?`),
    };
    this.enqueueTx = db.transaction((webhook: string, cursor: number, deliveries: Delivery[], at: string) => {
      for (const d of deliveries) this.s.insert.run(...deliveryParams(d));
      this.s.setCursor.run(webhook, cursor, at);
    });
  }

  async notifyCursor(webhook: string): Promise<number | null> {
    this.open();
    const v = this.s.cursor.get(webhook) as number | undefined;
    return v === undefined ? null : Number(v);
  }

  async notifyCursors(): Promise<{ webhook: string; eventId: number }[]> {
    this.open();
    return (this.s.cursors.all() as Row[]).map((r) => ({ webhook: r[0] as string, eventId: Number(r[1]) }));
  }

  async enqueueDeliveries(webhook: string, cursor: number, deliveries: Delivery[], at: string): Promise<void> {
    this.open();
    this.enqueueTx(webhook, cursor, deliveries, at);
  }

  async updateDelivery(u: DeliveryUpdate): Promise<void> {
    this.open();
    this.s.update.run(u);
  }

  async pendingDeliveries(webhook: string, limit: number): Promise<Delivery[]> {
    this.open();
    return (this.s.pending.all(webhook, limit) as Row[]).map(deliveryFromRow);
  }

  async listDeliveries(q: DeliveryQuery): Promise<Delivery[]> {
    this.open();
    const rows = this.s.list.all({ webhook: q.webhook ?? null, state: q.state ?? null, before: q.before ?? Number.MAX_SAFE_INTEGER, limit: deliveryLimit(q.limit) }) as Row[];
    return rows.map(deliveryFromRow);
  }

  async countDeliveries(): Promise<DeliveryCount[]> {
    this.open();
    return (this.s.counts.all() as Row[]).map((r) => ({ webhook: r[0] as string, state: r[1] as DeliveryCount['state'], count: Number(r[2]) }));
  }

  async latestEventId(): Promise<number> {
    this.open();
    return Number(this.s.latestEvent.get());
  }

  async forgetWebhook(webhook: string): Promise<void> {
    this.open();
    this.s.forget.run(webhook);
  }

  async pruneDeliveries(before: string): Promise<number> {
    this.open();
    return this.s.prune.run(before).changes;
  }
}
