import type { Kysely } from 'kysely';
import { createSqliteKysely } from '../database/database.factory.js';
import type { Database } from '../database/database.types.js';
import { runMigrations } from '../database/migrations.js';
import { ClaimedNonceRepository } from './claimed-nonce.repository.js';

/** A migrated in-memory SQLite database and the nonce record over it, for the claimed-nonce specs. */
export async function claimedNonceRecord(): Promise<{ db: Kysely<Database>; repository: ClaimedNonceRepository }> {
  const db = createSqliteKysely(':memory:');
  await runMigrations(db);
  return { db, repository: new ClaimedNonceRepository(db) };
}
