import { Logger } from '@nestjs/common';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresAdapter, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg, { type CustomTypesConfig } from 'pg';
import type { StorageConfig } from '../config/index.js';
import { type DatabaseDialect, type DatabaseInfo, databaseInfoOf } from './database.info.js';
import type { Database } from './database.types.js';

/** How long opening a PostgreSQL connection may take before start-up (or a query) gives up. */
const PG_CONNECT_TIMEOUT_MS = 10_000;

export function createSqliteKysely(file: string): Kysely<Database> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
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
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
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
