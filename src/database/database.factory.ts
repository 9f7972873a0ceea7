import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from './database.types.js';

/** The only dialect-specific place: everything else speaks portable Kysely. */
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
