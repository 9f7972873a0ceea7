import { Inject, Injectable } from '@nestjs/common';
import { type Kysely, type SelectQueryBuilder, sql } from 'kysely';
import { dialectOf } from '../database/database.factory.js';
import type { DatabaseDialect } from '../database/database.info.js';
import { DB } from '../database/database.tokens.js';
import type { AuditCheckpointTable, AuditEventTable, Database } from '../database/database.types.js';
import { pendingMigrations } from '../database/migrations.js';
import type { AuditFilter } from './audit.types.js';
import { GENESIS_HASH } from './hash-chain.js';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- nothing selected yet
type EventQuery = SelectQueryBuilder<Database, 'audit_events', {}>;

/** How far event times may run backwards along seq in rows written before times were kept in order. */
const TIME_ORDER_SLACK_MS = 10 * 60_000;

function shifted(iso: string, ms: number): string {
  return new Date(Date.parse(iso) + ms).toISOString();
}

/** Filters that are one column compared for equality. */
const EQUALITY_FILTERS = {
  tenantId: 'tenant_id',
  companyDomain: 'company_domain',
  actingUser: 'acting_user',
  reportOwner: 'report_owner',
  field: 'field',
  type: 'event_type',
  outcome: 'outcome',
  launchId: 'launch_id',
  correlationId: 'correlation_id',
} as const satisfies Partial<Record<keyof AuditFilter, keyof AuditEventTable>>;

/**
 * Rows one INSERT of several events carries: powers of two, largest first, so any batch takes a
 * few statements of at most seven different texts (each prepared once and kept, on SQLite).
 */
const INSERT_CHUNKS = [64, 32, 16, 8, 4, 2, 1];

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
    const { seq, hash } = await this.headForAppend();
    return { seq, hash };
  }

  /** The head and its time, which the next event's time must not precede. */
  async headForAppend(): Promise<{ seq: number; hash: string; occurredAt: string | null }> {
    const row = await this.db
      .selectFrom('audit_events')
      .select(['seq', 'hash', 'occurred_at'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? { seq: Number(row.seq), hash: row.hash, occurredAt: row.occurred_at } : { seq: 0, hash: GENESIS_HASH, occurredAt: null };
  }

  /**
   * Inserts one event, or several in their order in multi-row statements: one statement to
   * compile and (on PostgreSQL) one round trip for up to 64 events, while the append lock is held.
   */
  async insert(rows: AuditEventTable | AuditEventTable[]): Promise<void> {
    const all = Array.isArray(rows) ? rows : [rows];
    for (let done = 0; done < all.length; ) {
      const size = INSERT_CHUNKS.find((n) => n <= all.length - done)!;
      await this.db.insertInto('audit_events').values(all.slice(done, done + size)).execute();
      done += size;
    }
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

  /** Every event after `afterSeq` in seq order, read in batches so memory stays flat however long the log. */
  iterateAll(batch = 1000, afterSeq = 0): AsyncIterable<AuditEventTable> {
    return this.iterateFiltered({}, { afterSeq, batch });
  }

  /**
   * Events matching `filter`, oldest first, after `afterSeq` and up to `throughSeq`, read in
   * batches of `batch` (keyset pagination on seq), so memory stays flat for any number of rows.
   */
  async *iterateFiltered(
    filter: AuditFilter,
    { afterSeq = 0, throughSeq, batch = 1000 }: { afterSeq?: number; throughSeq?: number; batch?: number } = {},
  ): AsyncIterable<AuditEventTable> {
    let after = afterSeq;
    for (;;) {
      const rows = await this.filtered(filter)
        .selectAll()
        .where('seq', '>', after)
        .$if(throughSeq !== undefined, (qb) => qb.where('seq', '<=', throughSeq!))
        .orderBy('seq')
        .limit(batch)
        .execute();
      yield* rows;
      if (rows.length < batch) return;
      after = Number(rows[rows.length - 1].seq);
    }
  }

  /** Up to `limit` events matching `filter` with a seq below `beforeSeq` (any when undefined), newest first. */
  search(filter: AuditFilter, limit: number, beforeSeq?: number): Promise<AuditEventTable[]> {
    return this.filtered(filter)
      .selectAll()
      .$if(beforeSeq !== undefined, (qb) => qb.where('seq', '<', beforeSeq!))
      .orderBy('seq', 'desc')
      .limit(limit)
      .execute();
  }

  findBySeq(seq: number): Promise<AuditEventTable | undefined> {
    return this.db.selectFrom('audit_events').selectAll().where('seq', '=', seq).executeTakeFirst();
  }

  findById(id: string): Promise<AuditEventTable | undefined> {
    return this.db.selectFrom('audit_events').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The checkpoint of the newest retention purge (the highest purged seq), if any. */
  latestCheckpoint(): Promise<AuditCheckpointTable | undefined> {
    return this.db
      .selectFrom('audit_checkpoints')
      .selectAll()
      .orderBy('purged_through_seq', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /**
   * The event that keyed the chain (the first `audit.chain_keyed`), if the log holds one: one
   * lookup in the (event_type, seq) index.
   */
  findChainSeal(): Promise<AuditEventTable | undefined> {
    return this.db
      .selectFrom('audit_events')
      .selectAll()
      .where('event_type', '=', 'audit.chain_keyed')
      .orderBy('seq')
      .limit(1)
      .executeTakeFirst();
  }

  /** The lowest seq still in the log, or undefined when it is empty. */
  async firstSeq(): Promise<number | undefined> {
    const row = await this.db.selectFrom('audit_events').select('seq').orderBy('seq').limit(1).executeTakeFirst();
    return row ? Number(row.seq) : undefined;
  }

  /** The newest event that occurred before `time` (ISO), if any. */
  async lastBefore(time: string): Promise<AuditEventTable | undefined> {
    const row = await this.db
      .selectFrom('audit_events')
      .select(({ fn }) => fn.max('seq').as('seq'))
      .where('occurred_at', '<', time)
      .executeTakeFirst();
    if (row?.seq === null || row?.seq === undefined) return undefined;
    return this.findBySeq(Number(row.seq));
  }

  /** Records a purge; must run in the append transaction that wrote its checkpoint event, before purgeThrough. */
  async insertCheckpoint(row: AuditCheckpointTable): Promise<void> {
    await this.db.insertInto('audit_checkpoints').values(row).execute();
  }

  /** Deletes the events up to `seq`; the database refuses unless a checkpoint covers them. Returns how many. */
  async purgeThrough(seq: number): Promise<number> {
    const result = await this.db.deleteFrom('audit_events').where('seq', '<=', seq).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** audit_events narrowed by every filter that is set. */
  private filtered(filter: AuditFilter): EventQuery {
    let query: EventQuery = this.db.selectFrom('audit_events');
    for (const [key, column] of Object.entries(EQUALITY_FILTERS) as Array<[keyof typeof EQUALITY_FILTERS, keyof AuditEventTable]>) {
      const value = filter[key];
      if (value !== undefined) query = query.where(column, '=', value);
    }
    // A time range also bounds seq, found through the (occurred_at, seq) index in one lookup each, so
    // a page is a primary-key range instead of a sort of every match. The bounds hold as long as a
    // time is never more than the slack behind an earlier seq's: the service stamps times in seq
    // order, and the slack covers rows from before (a replica's clock a little behind). Any event
    // older than from - slack has every lower seq outside the range; any event at to + slack or
    // later, every higher seq. The time comparisons themselves stay exact.
    if (filter.from !== undefined) {
      const from = filter.from;
      query = query.where('occurred_at', '>=', from).where(({ eb, fn, lit, selectFrom }) =>
        eb(
          'seq',
          '>',
          fn.coalesce(
            selectFrom('audit_events').select('seq').where('occurred_at', '<', shifted(from, -TIME_ORDER_SLACK_MS)).orderBy('occurred_at', 'desc').orderBy('seq', 'desc').limit(1),
            lit(0),
          ),
        ),
      );
    }
    if (filter.to !== undefined) {
      const to = filter.to;
      query = query.where('occurred_at', '<', to).where(({ eb, fn, lit, selectFrom }) =>
        eb(
          'seq',
          '<',
          fn.coalesce(
            selectFrom('audit_events').select('seq').where('occurred_at', '>=', shifted(to, TIME_ORDER_SLACK_MS)).orderBy('occurred_at').orderBy('seq').limit(1),
            lit(Number.MAX_SAFE_INTEGER),
          ),
        ),
      );
    }
    if (filter.item !== undefined) {
      // The item itself, or a URL below it: [item + '/', item + '0') in byte order ('0' follows '/').
      // PostgreSQL compares in its "C" collation, which is byte order and what the index is built with.
      const url = this.dialect === 'postgres' ? sql`item_url COLLATE "C"` : sql.ref('item_url');
      const item = filter.item.replace(/\/+$/, '');
      query = query.where(sql<boolean>`(${url} = ${item} OR (${url} >= ${`${item}/`} AND ${url} < ${`${item}0`}))`);
    }
    return query;
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
