import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { createSqliteKysely } from './database.factory.js';
import type { Database } from './database.types.js';

async function pragma(db: Kysely<Database>, name: string): Promise<unknown> {
  const { rows } = await sql.raw<Record<string, unknown>>(`PRAGMA ${name}`).execute(db);
  return Object.values(rows[0])[0];
}

describe(createSqliteKysely.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'clc-db-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the parent folders and opens a file database in WAL mode with durable commits', async () => {
    const file = join(dir, 'nested', 'deeper', 'connector.db');
    const db = createSqliteKysely(file);
    try {
      expect(existsSync(file)).toBe(true);
      expect(await pragma(db, 'journal_mode')).toBe('wal');
      expect(await pragma(db, 'synchronous')).toBe(2); // FULL
      expect(await pragma(db, 'busy_timeout')).toBe(5000);
      expect(await pragma(db, 'foreign_keys')).toBe(1);
    } finally {
      await db.destroy();
    }
  });

  it('keeps data in a file across connections', async () => {
    const file = join(dir, 'connector.db');
    const first = createSqliteKysely(file);
    await sql`CREATE TABLE t (v text)`.execute(first);
    await sql`INSERT INTO t VALUES ('kept')`.execute(first);
    await first.destroy();
    const second = createSqliteKysely(file);
    try {
      const { rows } = await sql<{ v: string }>`SELECT v FROM t`.execute(second);
      expect(rows).toEqual([{ v: 'kept' }]);
    } finally {
      await second.destroy();
    }
  });

  it('opens an in-memory database without touching the file system', async () => {
    const db = createSqliteKysely(':memory:');
    try {
      expect(existsSync(':memory:')).toBe(false);
      expect(await pragma(db, 'journal_mode')).toBe('memory');
    } finally {
      await db.destroy();
    }
  });
});
