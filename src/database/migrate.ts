import type { AppConfig } from '../config/index.js';
import { createSqliteKysely } from './database.factory.js';
import { sqliteFileOf } from './database.module.js';
import { runMigrations } from './migrations.js';

export interface MigrationReport {
  /** Where the database is, with no password in it. */
  location: string;
  applied: string[];
}

/** Opens the configured database, applies every pending migration and closes it (the `migrate` CLI command). */
export async function migrateDatabase(config: AppConfig): Promise<MigrationReport> {
  const location = sqliteFileOf(config.storage);
  const db = createSqliteKysely(location);
  try {
    return { location: `SQLite ${location}`, applied: await runMigrations(db) };
  } finally {
    await db.destroy();
  }
}
