import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { StorageConfig } from '../config/index.js';
import { checkConnection, createKysely, createSqliteKysely, dialectOf } from './database.factory.js';
import { DatabaseInfo, databaseInfoOf, redactedPostgresUrl } from './database.info.js';
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

describe(createKysely.name, () => {
  const storage = (extra: Partial<StorageConfig>) => Object.assign(new StorageConfig(), extra);

  it('uses SQLite without a database URL', async () => {
    const { db, info } = createKysely(storage({ sqliteFile: ':memory:' }));
    try {
      expect(info).toEqual(new DatabaseInfo('sqlite', ':memory:'));
      expect(dialectOf(db)).toBe('sqlite');
      await expect(checkConnection(db, info)).resolves.toBeUndefined();
    } finally {
      await db.destroy();
    }
  });

  it('uses PostgreSQL with a database URL, connecting only when first used', async () => {
    const { db, info } = createKysely(storage({ databaseUrl: 'postgres://app:pw@db.internal:6543/clc', poolSize: 3 }));
    try {
      expect(info).toEqual(new DatabaseInfo('postgres', 'postgres://app@db.internal:6543/clc'));
      expect(info.description).toBe('PostgreSQL postgres://app@db.internal:6543/clc');
      expect(dialectOf(db)).toBe('postgres');
    } finally {
      await db.destroy();
    }
  });

  it('names the unreachable PostgreSQL host without the password', async () => {
    const { db, info } = createKysely(storage({ databaseUrl: 'postgresql://app:s3cret@127.0.0.1:1/clc' }));
    try {
      const failure = checkConnection(db, info);
      await expect(failure).rejects.toThrow(/^PostgreSQL at postgresql:\/\/app@127\.0\.0\.1:1\/clc cannot be reached: .*ECONNREFUSED/);
      await expect(failure).rejects.not.toThrow(/s3cret/);
    } finally {
      await db.destroy();
    }
  });
});

describe(databaseInfoOf.name, () => {
  it('keeps only scheme, user, host, port and database of a PostgreSQL URL', () => {
    expect(redactedPostgresUrl('postgresql://u:p%40ss@h:5432/d?sslmode=require&password=x')).toBe('postgresql://u@h:5432/d');
    expect(redactedPostgresUrl('postgres://h/d')).toBe('postgres://h/d');
    expect(redactedPostgresUrl('postgresql:///d?host=/var/run/postgresql')).toBe('postgresql:///var/run/postgresql/d');
    expect(redactedPostgresUrl('postgres://u:p@[bad')).toBe('(unreadable DATABASE_URL)');
  });

  it('resolves the SQLite file against the data folder', () => {
    expect(databaseInfoOf(Object.assign(new StorageConfig(), { dataDir: '/srv', sqliteFile: 'c.db' }))).toEqual(
      new DatabaseInfo('sqlite', '/srv/c.db'),
    );
  });
});
