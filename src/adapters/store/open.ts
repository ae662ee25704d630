// Picks the store adapter from a URL: postgres://… or postgresql://… → PostgreSQL;
// sqlite:PATH, sqlite://PATH, file:PATH, file:///PATH or a plain path → SQLite.
import { fileURLToPath } from 'node:url';
import type { Store } from '../../ports/store.ts';
import { openSqliteStore } from './sqlite/index.ts';

export async function openStore(url: string): Promise<Store> {
  if (/^postgres(ql)?:\/\//i.test(url)) {
    // loaded on demand: an embedded deployment never needs the pg driver
    const { openPostgresStore } = await import('./postgres/index.ts');
    return openPostgresStore(url);
  }
  return openSqliteStore(sqlitePath(url));
}

/** the file path (or `:memory:`) a SQLite store URL names */
export function sqlitePath(url: string): string {
  if (/^file:\/\//i.test(url)) return fileURLToPath(url);
  return url.replace(/^(sqlite|file):(\/\/)?/i, '');
}
