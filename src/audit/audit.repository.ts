import { Inject, Injectable } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { DB } from '../database/database.tokens.js';
import type { AuditEventTable, Database } from '../database/database.types.js';
import { GENESIS_HASH } from './hash-chain.js';

/**
 * SQL of the audit log. Append-only by design: there is deliberately no update or delete
 * method, so no code path can rewrite history.
 */
@Injectable()
export class AuditRepository {
  constructor(@Inject(DB) private readonly db: Kysely<Database>) {}

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

  /** `update.requested` events with no `update.succeeded` or `update.failed` after them in the same launch. */
  requestsWithoutOutcome(): Promise<AuditEventTable[]> {
    return this.db
      .selectFrom('audit_events as r')
      .selectAll('r')
      .where('r.event_type', '=', 'update.requested')
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
