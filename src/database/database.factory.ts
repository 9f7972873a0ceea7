import { Logger } from '@nestjs/common';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresAdapter, PostgresDialect, SqliteDialect, type SqliteDatabase, sql } from 'kysely';
import pg, { type CustomTypesConfig } from 'pg';
import { createPrivateFile, ensurePrivateDir, fileExposure, folderExposure } from '../common/private-files.js';
import type { StorageConfig } from '../config/index.js';
import { type DatabaseDialect, type DatabaseInfo, databaseInfoOf } from './database.info.js';
import type { Database } from './database.types.js';

/** How long opening a PostgreSQL connection may take before start-up (or a query) gives up. */
const PG_CONNECT_TIMEOUT_MS = 10_000;

/** Prepared statements kept per SQLite connection: far more than the distinct queries the app runs. */
export const STATEMENT_CACHE_SIZE = 256;

/**
 * The better-sqlite3 database as Kysely's SqliteDialect sees it, with a prepared statement
 * kept for each SQL text. Kysely's SqliteDriver calls `prepare(sql)` for every query (then
 * `reader`, `all`, `run` or `iterate` on the result, and `close()` when destroyed), and
 * compiling the SQL again each time was a large share of a launch's time. Kysely binds
 * parameters at each call, so one statement serves every call with the same text.
 *
 * A statement being iterated (a streamed query) is busy and cannot run another query until
 * its iterator ends: then a fresh statement is prepared and kept in its place. Bounded, least
 * recently used first out, so SQL built with varying literals cannot grow it without end.
 */
export class StatementCachingDatabase implements SqliteDatabase {
  private readonly statements = new Map<string, SQLite.Statement>();

  constructor(
    private readonly sqlite: SQLite.Database,
    private readonly capacity = STATEMENT_CACHE_SIZE,
  ) {}

  /** How many statements are kept. */
  get size(): number {
    return this.statements.size;
  }

  prepare(sql: string): SQLite.Statement {
    const cached = this.statements.get(sql);
    // Deleted and set again, it moves to the end of the Map's order: the most recently used.
    this.statements.delete(sql);
    const statement = cached && !cached.busy ? cached : this.sqlite.prepare(sql);
    this.statements.set(sql, statement);
    this.evictBeyondCapacity();
    return statement;
  }

  close(): void {
    this.statements.clear();
    this.sqlite.close();
  }

  /** Forgets the least recently used statements (a busy one finishes its iteration; the garbage collector frees it). */
  private evictBeyondCapacity(): void {
    for (const sql of this.statements.keys()) {
      if (this.statements.size <= this.capacity) return;
      this.statements.delete(sql);
    }
  }
}

/**
 * The SQLite file holds the audit log and sealed refresh tokens: the data folder is created 0700
 * and the file 0600, whatever the umask. SQLite itself would create the file 0644 less the umask.
 * Created here first, it is what SQLite opens; SQLite's unix VFS gives the -wal and -shm files it
 * creates later the database file's own permission bits (and fchmods them to those if the umask
 * took any away), so they are 0600 too, whenever they appear. Changing process.umask around the
 * open instead would change it for the whole process while other code runs (and worker threads
 * cannot). An existing folder or file keeps its mode, with a warning when others can get at it.
 */
function prepareSqliteFile(file: string, logger: Logger): void {
  const dir = dirname(file);
  if (!ensurePrivateDir(dir)) {
    const exposed = folderExposure(dir);
    if (exposed) logger.warn(exposed);
  }
  if (createPrivateFile(file)) return;
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    const exposed = fileExposure(path, 'the audit log and sealed refresh tokens');
    if (exposed) logger.warn(exposed);
  }
}

export function createSqliteKysely(file: string, logger = new Logger('Database')): Kysely<Database> {
  if (file !== ':memory:') prepareSqliteFile(file, logger);
  const sqlite = new SQLite(file);
  try {
    sqlite.pragma('journal_mode = WAL');
    // FULL: a committed audit event survives a power cut, not only a process crash.
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
  } catch (err) {
    sqlite.close();
    throw err;
  }
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: new StatementCachingDatabase(sqlite) }) });
}

/** int8 (bigint, count(*)) as a number while it is exact; beyond 2^53 it stays a string rather than lose digits. */
function parseInt8(value: string): number | string {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
}

const pgTypes: CustomTypesConfig = {
  getTypeParser: ((id: number, format?: 'text' | 'binary') =>
    id === pg.types.builtins.INT8 && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(id, format)) as CustomTypesConfig['getTypeParser'],
};

export function createPostgresKysely(databaseUrl: string, poolSize: number): Kysely<Database> {
  const logger = new Logger('Database');
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    application_name: 'concur-launch-connector',
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    keepAlive: true,
    types: pgTypes,
  });
  // An idle connection that drops (a database restart) must not crash the process; the pool replaces it.
  pool.on('error', (err) => logger.warn(`PostgreSQL connection lost: ${err.message}`));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * The one place that picks the SQL dialect: PostgreSQL when `storage.databaseUrl` is set,
 * SQLite otherwise. Everything else speaks portable Kysely.
 */
export function createKysely(storage: StorageConfig): { db: Kysely<Database>; info: DatabaseInfo } {
  const info = databaseInfoOf(storage);
  const db =
    info.dialect === 'postgres'
      ? createPostgresKysely(storage.databaseUrl!, storage.poolSize)
      : createSqliteKysely(info.location);
  return { db, info };
}

/** The dialect of a Kysely instance (or transaction), for the few places where SQL differs. */
export function dialectOf(db: Kysely<any>): DatabaseDialect {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/** What went wrong with a connection, without the connection string: pg and Node name the host, never the password. */
function describeConnectError(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown; errors?: Array<{ message?: unknown }> } | null;
  if (typeof e?.message === 'string' && e.message) return e.message;
  // Node reports a refused connection to several addresses (localhost: ::1 and 127.0.0.1) as an AggregateError without a message.
  const inner = (e?.errors ?? []).map((x) => x?.message).filter((m) => typeof m === 'string' && m);
  if (inner.length) return inner.join('; ');
  return typeof e?.code === 'string' ? e.code : 'unknown error';
}

/** Runs one query so start-up fails at once, saying which database could not be reached. */
export async function checkConnection(db: Kysely<Database>, info: DatabaseInfo): Promise<void> {
  try {
    await sql`SELECT 1`.execute(db);
  } catch (err) {
    const store = info.dialect === 'postgres' ? 'PostgreSQL' : 'SQLite';
    throw new Error(`${store} at ${info.location} cannot be reached: ${describeConnectError(err)}`);
  }
}
