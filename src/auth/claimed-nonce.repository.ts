import { Inject, Injectable } from '@nestjs/common';
import type { Insertable, Kysely } from 'kysely';
import { DB } from '../database/database.tokens.js';
import type { ClaimedNonceTable, Database } from '../database/database.types.js';
import { pendingMigrations } from '../database/migrations.js';

export type ClaimedNonceRow = Insertable<ClaimedNonceTable>;

/** SQL of the durable nonce record: which launch nonces (by keyed hash) were already used. */
@Injectable()
export class ClaimedNonceRepository {
  constructor(@Inject(DB) private readonly db: Kysely<Database>) {}

  /**
   * Records the nonce hash: true if this call inserted it, false if it was already there. One
   * statement (INSERT ... ON CONFLICT DO NOTHING), so of concurrent claims, on any replica,
   * exactly one inserts.
   */
  async claim(row: ClaimedNonceRow): Promise<boolean> {
    return (await this.claimAll([row])).has(row.nonce_hash);
  }

  /**
   * Records several nonce hashes in one statement (one transaction, so one fsync on SQLite);
   * returns those this statement inserted. Each row is still decided by the insert's conflict.
   */
  async claimAll(rows: ClaimedNonceRow[]): Promise<Set<string>> {
    if (rows.length === 0) return new Set();
    const inserted = await this.db
      .insertInto('claimed_nonces')
      .values(rows)
      .onConflict((oc) => oc.column('nonce_hash').doNothing())
      .returning('nonce_hash')
      .execute();
    return new Set(inserted.map((r) => r.nonce_hash));
  }

  /**
   * Deletes at most `limit` rows claimed before `cutoff` (ISO time); returns how many. Bounded so
   * a large purge never holds SQLite's single writer (or PostgreSQL row locks) for long.
   */
  async purgeClaimedBefore(cutoff: string, limit: number): Promise<number> {
    const result = await this.db
      .deleteFrom('claimed_nonces')
      .where('nonce_hash', 'in', (qb) =>
        qb.selectFrom('claimed_nonces').select('nonce_hash').where('claimed_at', '<', cutoff).limit(limit),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  pendingMigrations(): Promise<string[]> {
    return pendingMigrations(this.db);
  }
}
