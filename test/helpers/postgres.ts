// The tests' PostgreSQL server (RC_TEST_PG_URL, default the local `test` database) and a fresh
// database per test for those that run real `serve` processes on it.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.RC_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** one statement on its own connection (CREATE/DROP DATABASE cannot run inside a pool's transaction) */
export async function adminSql(text: string, url = PG_URL): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

/** a new database `<prefix>_<random>`, dropped (connections and all) after the test; its URL */
export async function freshDatabase(t: { after: (fn: () => Promise<void>) => void }, prefix: string): Promise<string> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await adminSql(`CREATE DATABASE ${name}`);
  t.after(() => adminSql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return u.toString();
}
