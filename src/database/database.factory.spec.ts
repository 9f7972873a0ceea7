import { jest } from '@jest/globals';
import SQLite from 'better-sqlite3';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { StorageConfig } from '../config/index.js';
import { STATEMENT_CACHE_SIZE, StatementCachingDatabase, checkConnection, createKysely, createSqliteKysely, dialectOf } from './database.factory.js';
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

  const modeOf = (path: string) => statSync(path).mode & 0o777;

  it('creates the data folders 0700 and the database, its WAL and shared memory 0600, whatever the umask', async () => {
    const file = join(dir, 'data', 'nested', 'connector.db');
    const umask = process.umask(0);
    let db: Kysely<Database> | undefined;
    try {
      db = createSqliteKysely(file);
      await sql`CREATE TABLE t (v text)`.execute(db);
      await sql`INSERT INTO t VALUES ('x')`.execute(db);
      expect(existsSync(`${file}-wal`)).toBe(true);
      expect(existsSync(`${file}-shm`)).toBe(true);
      expect([modeOf(join(dir, 'data')), modeOf(join(dir, 'data', 'nested'))]).toEqual([0o700, 0o700]);
      expect([file, `${file}-wal`, `${file}-shm`].map(modeOf)).toEqual([0o600, 0o600, 0o600]);
    } finally {
      process.umask(umask);
      await db?.destroy();
    }
    // The folder it was given (made by mkdtemp) is not the connector's to change.
    expect(modeOf(dir)).toBe(0o700);
  });

  it("leaves an existing folder's and database's mode as it is, and warns when every user can get at them", async () => {
    const logger = new Logger('test');
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const file = join(open, 'connector.db');
    writeFileSync(file, '');
    chmodSync(file, 0o644);
    const db = createSqliteKysely(file, logger);
    try {
      await sql`CREATE TABLE t (v text)`.execute(db);
      expect(modeOf(open)).toBe(0o777);
      expect(modeOf(file)).toBe(0o644);
      expect(warn.mock.calls.map(([message]) => message)).toEqual([
        `data folder ${open} (mode 0777) lets every user of the machine replace the files in it (the SQLite database, generated keys). The connector leaves a folder it did not create as it is: \`chmod 700 ${open}\``,
        `${file} (mode 0644) can be read or changed by every user of the machine, and it holds the audit log and sealed refresh tokens. Files the connector creates are 0600; this one is older: \`chmod 600 ${file}\``,
      ]);
    } finally {
      await db.destroy();
    }
    // A folder shared with a group (a backup group, Kubernetes' fsGroup) and a private file: no warning.
    warn.mockClear();
    chmodSync(open, 0o2770);
    chmodSync(file, 0o600);
    await createSqliteKysely(file, logger).destroy();
    expect(warn).not.toHaveBeenCalled();
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

describe(StatementCachingDatabase.name, () => {
  let sqlite: SQLite.Database;
  let prepared: string[];

  /** A database of three rows whose prepare() calls are counted. */
  function cachingDatabase(capacity?: number): StatementCachingDatabase {
    sqlite = new SQLite(':memory:');
    sqlite.exec('CREATE TABLE t (v integer); INSERT INTO t VALUES (1), (2), (3)');
    prepared = [];
    const prepare = sqlite.prepare.bind(sqlite);
    jest.spyOn(sqlite, 'prepare').mockImplementation((text: string) => {
      prepared.push(text);
      return prepare(text);
    });
    return new StatementCachingDatabase(sqlite, capacity);
  }

  afterEach(() => {
    if (sqlite.open) sqlite.close();
  });

  it('prepares each SQL text once and hands the same statement out again', () => {
    const db = cachingDatabase();
    const statement = db.prepare('SELECT v FROM t WHERE v > ?');
    expect(db.prepare('SELECT v FROM t WHERE v > ?')).toBe(statement);
    expect(statement.all([1])).toEqual([{ v: 2 }, { v: 3 }]);
    expect(db.prepare('SELECT v FROM t WHERE v > ?').all([2])).toEqual([{ v: 3 }]);
    expect(prepared).toEqual(['SELECT v FROM t WHERE v > ?']);
  });

  it('keeps what Kysely reads of a statement: reader, run, all', () => {
    const db = cachingDatabase();
    expect(db.prepare('SELECT v FROM t').reader).toBe(true);
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    expect(insert.reader).toBe(false);
    expect(insert.run([4])).toMatchObject({ changes: 1, lastInsertRowid: 4 });
    expect(db.prepare('INSERT INTO t VALUES (?)').run([5])).toMatchObject({ changes: 1, lastInsertRowid: 5 });
    expect(db.prepare('SELECT v FROM t').all([])).toHaveLength(5);
  });

  it('prepares a fresh statement while the kept one is being iterated, and keeps the fresh one', () => {
    const db = cachingDatabase();
    const streaming = db.prepare('SELECT v FROM t');
    const rows = streaming.iterate([]);
    expect(rows.next().value).toEqual({ v: 1 });
    expect(streaming.busy).toBe(true);
    const meanwhile = db.prepare('SELECT v FROM t');
    expect(meanwhile).not.toBe(streaming);
    expect(meanwhile.all([])).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }]);
    expect([...rows]).toEqual([{ v: 2 }, { v: 3 }]);
    expect(streaming.busy).toBe(false);
    expect(db.prepare('SELECT v FROM t')).toBe(meanwhile);
    expect(prepared).toEqual(['SELECT v FROM t', 'SELECT v FROM t']);
  });

  it(`keeps at most its capacity (${STATEMENT_CACHE_SIZE} by default), forgetting the least recently used first`, () => {
    const db = cachingDatabase(3);
    for (const v of [1, 2, 3]) db.prepare(`SELECT ${v}`);
    db.prepare('SELECT 1'); // used again: now the most recent
    db.prepare('SELECT 4'); // forgets SELECT 2
    expect(db.size).toBe(3);
    db.prepare('SELECT 1');
    db.prepare('SELECT 4');
    expect(prepared).toEqual(['SELECT 1', 'SELECT 2', 'SELECT 3', 'SELECT 4']);
    db.prepare('SELECT 2');
    expect(prepared.at(-1)).toBe('SELECT 2');
    expect(db.size).toBe(3);
  });

  it('does not keep SQL that fails to prepare', () => {
    const db = cachingDatabase();
    expect(() => db.prepare('SELECT FROM nowhere')).toThrow();
    expect(db.size).toBe(0);
  });

  it('closes the database', () => {
    const db = cachingDatabase();
    db.prepare('SELECT 1');
    db.close();
    expect(sqlite.open).toBe(false);
    expect(db.size).toBe(0);
  });

  it('serves Kysely queries of the same SQL after a stream of it, finished or left early', async () => {
    // Kysely runs one query at a time on a connection (a stream holds it to its end), so the
    // busy case above is what a statement left mid-iteration would meet.
    const db = createSqliteKysely(':memory:') as unknown as Kysely<{ t: { v: number } }>;
    try {
      await sql`CREATE TABLE t (v integer)`.execute(db);
      await db.insertInto('t').values([{ v: 1 }, { v: 2 }, { v: 3 }]).execute();
      const all = db.selectFrom('t').selectAll().orderBy('v');
      const streamed: number[] = [];
      for await (const row of all.stream()) streamed.push(row.v);
      for await (const row of all.stream()) {
        streamed.push(row.v);
        break;
      }
      expect(streamed).toEqual([1, 2, 3, 1]);
      expect(await all.execute()).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }]);
      await db.insertInto('t').values({ v: 4 }).execute();
      expect(await all.execute()).toHaveLength(4);
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
