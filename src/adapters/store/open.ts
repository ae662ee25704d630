// Picks the store adapter from a URL: postgres://… → PostgreSQL; sqlite:PATH, file:PATH or a path → SQLite.
import type { Store } from '../../ports/store.ts';
import { openSqliteStore } from './sqlite/index.ts';

export async function openStore(url: string): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { openPostgresStore } = await import('./postgres/index.ts');
    return openPostgresStore(url);
  }
  const path = url.replace(/^(sqlite|file):(\/\/)?/, '');
  return openSqliteStore(path);
}
