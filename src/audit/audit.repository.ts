import { Inject, Injectable } from '@nestjs/common';
import { type Kysely, sql } from 'kysely';
import { dialectOf } from '../database/database.factory.js';
import type { DatabaseDialect } from '../database/database.info.js';
import { DB } from '../database/database.tokens.js';
import type { AuditEventTable, Database } from '../database/database.types.js';
import { pendingMigrations } from '../database/migrations.js';
import { GENESIS_HASH } from './hash-chain.js';

/** Transaction-scoped advisory lock held by whoever appends to the log, in any replica (PostgreSQL). */
const APPEND_LOCK_KEY = 7_264_001_002;

/**
 * SQL of the audit log. Append-only by design: there is deliberately no update or delete
 * method, so no code path can rewrite history.
 */
@Injectable()
export class AuditRepository {
  constructor(@Inject(DB) private readonly db: Kysely<Database>) {}

  get dialect(): DatabaseDialect {
    return dialectOf(this.db);
  }

  /**
   * Runs `work` in one transaction in which it is the only appender: on PostgreSQL the
   * transaction first takes an advisory lock every replica takes, so reading the head and
   * inserting after it cannot interleave with another process; SQLite has a single writer.
   * `work` must use the repository it is given, which is bound to the transaction.
   */
  inAppendTransaction<T>(work: (log: AuditRepository) => Promise<T>): Promise<T> {
    if (this.dialect !== 'postgres') return this.db.transaction().execute((trx) => work(new AuditRepository(trx)));
    return this.db
      .transaction()
      .setIsolationLevel('read committed')
      .execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(${sql.lit(APPEND_LOCK_KEY)})`.execute(trx);
        return work(new AuditRepository(trx));
      });
  }

  /** Migrations the database still lacks; the log cannot be used before they are applied. */
  pendingMigrations(): Promise<string[]> {
    return pendingMigrations(this.db);
  }

  async head(): Promise<{ seq: number; hash: string }> {
    const row = await this.db
      .selectFrom('audit_events')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? { seq: Number(row.seq), hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  async insert(row: AuditEventTable): Promise<void> {
    await this.db.insertInto('audit_events').values(row).execute();
  }

  findByLaunch(launchId: string): Promise<AuditEventTable[]> {
    return this.db.selectFrom('audit_events').selectAll().where('launch_id', '=', launchId).orderBy('seq').execute();
  }

  findByCorrelationId(correlationId: string): Promise<AuditEventTable[]> {
    return this.db
      .selectFrom('audit_events')
      .selectAll()
      .where('correlation_id', '=', correlationId)
      .orderBy('seq')
      .execute();
  }

  /** The newest events, newest first. */
  latest(limit: number): Promise<AuditEventTable[]> {
    return this.db.selectFrom('audit_events').selectAll().orderBy('seq', 'desc').limit(limit).execute();
  }

  /** Every event in seq order, read in batches so memory stays flat however long the log. */
  async *iterateAll(batch = 1000): AsyncIterable<AuditEventTable> {
    let after = 0;
    for (;;) {
      const rows = await this.db
        .selectFrom('audit_events')
        .selectAll()
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(batch)
        .execute();
      yield* rows;
      if (rows.length < batch) return;
      after = Number(rows[rows.length - 1].seq);
    }
  }

  /**
   * `update.requested` events with no `update.succeeded` or `update.failed` after them in the
   * same launch; with `before` (ISO time) only those that occurred earlier.
   */
  requestsWithoutOutcome(before?: string, since?: string): Promise<AuditEventTable[]> {
    return this.db
      .selectFrom('audit_events as r')
      .selectAll('r')
      .where('r.event_type', '=', 'update.requested')
      .$if(before !== undefined, (qb) => qb.where('r.occurred_at', '<', before!))
      .$if(since !== undefined, (qb) => qb.where('r.occurred_at', '>=', since!))
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('audit_events as t')
              .select('t.seq')
              .whereRef('t.launch_id', '=', 'r.launch_id')
              .whereRef('t.seq', '>', 'r.seq')
              .where('t.event_type', 'in', ['update.succeeded', 'update.failed']),
          ),
        ),
      )
      .orderBy('r.seq')
      .execute();
  }
}
