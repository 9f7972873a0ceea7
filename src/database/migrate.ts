import type { AppConfig } from '../config/index.js';
import { checkConnection, createKysely } from './database.factory.js';
import { runMigrations } from './migrations.js';

export interface MigrationReport {
  /** Where the database is, with no password in it. */
  location: string;
  applied: string[];
}

/**
 * Opens the configured database (SQLite or PostgreSQL), applies every pending migration and
 * closes it (the `migrate` CLI command, the Helm migration Job). Safe to run while replicas start.
 */
export async function migrateDatabase(config: AppConfig): Promise<MigrationReport> {
  const { db, info } = createKysely(config.storage);
  try {
    await checkConnection(db, info);
    return { location: info.description, applied: await runMigrations(db) };
  } finally {
    await db.destroy();
  }
}
