import { resolve } from 'node:path';
import type { StorageConfig } from '../config/index.js';

export type DatabaseDialect = 'sqlite' | 'postgres';

/**
 * Which SQL store this instance uses, for logs, health and the CLI. `location` never holds a
 * password: the SQLite file, or the PostgreSQL URL reduced to user, host, port and database.
 */
export class DatabaseInfo {
  constructor(
    readonly dialect: DatabaseDialect,
    readonly location: string,
  ) {}

  /** "SQLite /data/connector.db" or "PostgreSQL postgresql://app@db:5432/connector". */
  get description(): string {
    return `${this.dialect === 'postgres' ? 'PostgreSQL' : 'SQLite'} ${this.location}`;
  }
}

/** Where the SQLite database lives: `:memory:` as is, otherwise a file in the data folder. */
export function sqliteFileOf(storage: StorageConfig): string {
  return storage.sqliteFile === ':memory:' ? ':memory:' : resolve(storage.dataDir, storage.sqliteFile);
}

/**
 * A PostgreSQL URL without its password and query (which may carry one too): scheme, user,
 * host, port and database. An unreadable URL becomes a fixed word, never the input.
 */
export function redactedPostgresUrl(databaseUrl: string): string {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    return '(unreadable DATABASE_URL)';
  }
  const host = url.host || url.searchParams.get('host') || 'localhost';
  const user = url.username ? `${url.username}@` : '';
  return `${url.protocol}//${user}${host}${url.pathname}`;
}

/** PostgreSQL when `storage.databaseUrl` is set, SQLite otherwise. */
export function databaseInfoOf(storage: StorageConfig): DatabaseInfo {
  return storage.databaseUrl
    ? new DatabaseInfo('postgres', redactedPostgresUrl(storage.databaseUrl))
    : new DatabaseInfo('sqlite', sqliteFileOf(storage));
}
