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
    const result = await this.db
      .insertInto('claimed_nonces')
      .values(row)
      .onConflict((oc) => oc.column('nonce_hash').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
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
