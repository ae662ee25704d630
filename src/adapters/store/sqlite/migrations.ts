// Applies the shared schema migrations (../migrations.ts) to a SQLite file at start-up.
import type Database from 'better-sqlite3';
import { SQLITE, migrationsFor } from '../migrations.ts';

/** the shared list as SQLite runs it, in version order */
export const MIGRATIONS: { version: number; sql: string }[] = migrationsFor(SQLITE);

/**
 * Applies the migrations not yet recorded in `schema_migrations`, each in its own IMMEDIATE
 * transaction (so two processes starting on one file never both apply the same number).
 */
export function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').pluck();
  const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
  for (const m of MIGRATIONS) {
    db.transaction(() => {
      if (isApplied.get(m.version)) return;
      if (m.sql.trim()) db.exec(m.sql);
      record.run(m.version, new Date().toISOString());
    }).immediate();
  }
}
