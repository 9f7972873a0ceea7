import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { dialectOf } from './database.factory.js';

/** Session advisory lock that lets one replica at a time run migrations on PostgreSQL. */
const MIGRATION_LOCK_KEY = 7_264_001_001;

/** Start of the message with which the database refuses to change or remove an audit event. */
export const APPEND_ONLY_MESSAGE = 'audit_events is append-only';

/** Start of the message with which the database refuses an unkeyed event once the chain is keyed. */
export const UNKEYED_WRITER_MESSAGE = 'audit_events: this row was written by a connector version without the audit chain key';

/** hash_alg of every event this version appends: its hash is an HMAC-SHA256 under the chain key. */
export const KEYED_HASH_ALG = 'hmac-sha256';

/**
 * Schema changes, in code so the build carries them. The schema builder and portable types
 * where possible; where the dialects differ, the migration asks `dialectOf(db)`. There are no
 * `down` steps: the audit log is never rolled back by the application.
 */
const migrations: Record<string, Migration> = {
  '001_initial': {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('audit_events')
        // The service assigns seq = head + 1; the database must not invent one.
        .addColumn('seq', 'integer', (col) => col.primaryKey().notNull())
        .addColumn('id', 'text', (col) => col.notNull().unique())
        .addColumn('occurred_at', 'text', (col) => col.notNull())
        .addColumn('event_type', 'text', (col) => col.notNull())
        .addColumn('outcome', 'text', (col) => col.notNull())
        .addColumn('tenant_id', 'text')
        .addColumn('company_domain', 'text')
        .addColumn('acting_user', 'text')
        .addColumn('report_owner', 'text')
        .addColumn('item_url', 'text')
        .addColumn('launch_id', 'text')
        .addColumn('field', 'text')
        .addColumn('old_value', 'text')
        .addColumn('new_value', 'text')
        .addColumn('reason', 'text')
        .addColumn('correlation_id', 'text')
        .addColumn('client_ip', 'text')
        .addColumn('user_agent', 'text')
        .addColumn('prev_hash', 'text', (col) => col.notNull())
        .addColumn('hash', 'text', (col) => col.notNull())
        .execute();
      for (const column of ['occurred_at', 'tenant_id', 'launch_id', 'event_type', 'correlation_id']) {
        await db.schema.createIndex(`audit_events_${column}_idx`).on('audit_events').column(column).execute();
      }

      await db.schema
        .createTable('oauth_tokens')
        .addColumn('tenant_id', 'text', (col) => col.primaryKey().notNull())
        .addColumn('refresh_token_enc', 'text', (col) => col.notNull())
        .addColumn('seed_hash', 'text', (col) => col.notNull())
        .addColumn('updated_at', 'text', (col) => col.notNull())
        .execute();
    },
  },

  '002_audit_append_only': {
    async up(db: Kysely<any>): Promise<void> {
      if (dialectOf(db) === 'postgres') {
        await sql
          .raw(
            `CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION '${APPEND_ONLY_MESSAGE}: % refused', TG_OP;
            END
            $$`,
          )
          .execute(db);
        await sql`CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
          FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()`.execute(db);
        await sql`CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
          FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()`.execute(db);
        return;
      }
      // SQLite has no TRUNCATE: a DELETE without WHERE fires the delete trigger too.
      for (const op of ['UPDATE', 'DELETE']) {
        await sql
          .raw(
            `CREATE TRIGGER audit_events_no_${op.toLowerCase()} BEFORE ${op} ON audit_events
            BEGIN SELECT RAISE(ABORT, '${APPEND_ONLY_MESSAGE}: ${op} refused'); END`,
          )
          .execute(db);
      }
    },
  },

  // The auditor's workbench: an index for every filter (each ends in seq, the order of every
  // page, so a filtered page is an index range scan), and retention checkpoints. Deleting an
  // event becomes possible only up to the newest checkpoint, which the purge records first.
  '003_audit_workbench': {
    async up(db: Kysely<any>): Promise<void> {
      const postgres = dialectOf(db) === 'postgres';
      for (const column of ['occurred_at', 'tenant_id', 'launch_id', 'event_type', 'correlation_id']) {
        await db.schema.dropIndex(`audit_events_${column}_idx`).execute();
      }
      for (const column of AUDIT_FILTER_COLUMNS) {
        // An item filter also finds what lies below the item's URL, by a byte-order range (see AuditRepository).
        if (column === 'item_url' && postgres) {
          await sql`CREATE INDEX audit_events_item_url_seq_idx ON audit_events (item_url COLLATE "C", seq)`.execute(db);
          continue;
        }
        await db.schema.createIndex(`audit_events_${column}_seq_idx`).on('audit_events').columns([column, 'seq']).execute();
      }
      await db.schema
        .createTable('audit_checkpoints')
        .addColumn('checkpoint_seq', 'integer', (col) => col.primaryKey().notNull())
        .addColumn('purged_from_seq', 'integer', (col) => col.notNull())
        .addColumn('purged_through_seq', 'integer', (col) => col.notNull())
        .addColumn('purged_through_hash', 'text', (col) => col.notNull())
        .addColumn('created_at', 'text', (col) => col.notNull())
        .execute();
      if (postgres) {
        await sql
          .raw(
            `CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP = 'DELETE' AND OLD.seq <= (SELECT coalesce(max(purged_through_seq), 0) FROM audit_checkpoints) THEN
                RETURN OLD;
              END IF;
              RAISE EXCEPTION '${APPEND_ONLY_MESSAGE}: % refused', TG_OP;
            END
            $$`,
          )
          .execute(db);
        await sql.raw(`CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
          FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()`).execute(db);
        await sql.raw(`CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
          FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()`).execute(db);
        return;
      }
      await sql`DROP TRIGGER audit_events_no_delete`.execute(db);
      await sql
        .raw(
          `CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
          WHEN OLD.seq > (SELECT coalesce(max(purged_through_seq), 0) FROM audit_checkpoints)
          BEGIN SELECT RAISE(ABORT, '${APPEND_ONLY_MESSAGE}: DELETE refused'); END`,
        )
        .execute(db);
      for (const op of ['UPDATE', 'DELETE']) {
        await sql
          .raw(
            `CREATE TRIGGER audit_checkpoints_no_${op.toLowerCase()} BEFORE ${op} ON audit_checkpoints
            BEGIN SELECT RAISE(ABORT, '${APPEND_ONLY_MESSAGE}: ${op} refused'); END`,
          )
          .execute(db);
      }
    },
  },

  // Token answers carry the token's geolocation (apidoc.markdown "Base URIs": refreshes and API
  // calls go there) and when the refresh token expires; both are kept with the rotated token.
  '004_oauth_token_geolocation': {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('oauth_tokens').addColumn('geolocation', 'text').execute();
      await db.schema.alterTable('oauth_tokens').addColumn('refresh_expires_at', 'text').execute();
    },
  },

  // Launch nonces already used, kept past any TTL so a restart, a Redis flush or an expired
  // key never re-opens a signed URL. Only a keyed hash of tenant + nonce is stored; rows are
  // purged by claimed_at once replay.retentionDays have passed.
  '005_claimed_nonces': {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('claimed_nonces')
        .addColumn('nonce_hash', 'text', (col) => col.primaryKey().notNull())
        .addColumn('tenant_id', 'text', (col) => col.notNull())
        .addColumn('claimed_at', 'text', (col) => col.notNull())
        .execute();
      await db.schema.createIndex('claimed_nonces_claimed_at_idx').on('claimed_nonces').column('claimed_at').execute();
    },
  },

  // A rolling upgrade on PostgreSQL runs old and new replicas side by side. Once a new one has
  // keyed the chain, an event from an old one (a plain SHA-256 hash) would break the append-only
  // log for good; the database refuses it instead, so those launches fail until the old replicas
  // are replaced. hash_alg says which writer a row comes from (NULL: a version without the key):
  // a marker for this guard only, outside the hashed content, which verification does not trust.
  // The chain counts as keyed when it holds the seal, or when its newest event was written by
  // this version (a log that was empty at the upgrade gets no seal). The WHEN clause keeps the
  // lookups off this version's own inserts and the seal lookup is one probe of the
  // (event_type, seq) index.
  '006_audit_chain_keyed_guard': {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('audit_events').addColumn('hash_alg', 'text').execute();
      const keyed = `EXISTS (SELECT 1 FROM audit_events WHERE event_type = 'audit.chain_keyed')
        OR (SELECT hash_alg FROM audit_events ORDER BY seq DESC LIMIT 1) IS NOT NULL`;
      const message = `${UNKEYED_WRITER_MESSAGE}; upgrade every replica (issue 17)`;
      if (dialectOf(db) === 'postgres') {
        await sql
          .raw(
            `CREATE FUNCTION audit_events_refuse_unkeyed() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF ${keyed} THEN
                RAISE EXCEPTION '${message}' USING ERRCODE = 'check_violation';
              END IF;
              RETURN NEW;
            END
            $$`,
          )
          .execute(db);
        await sql`CREATE TRIGGER audit_events_keyed_only BEFORE INSERT ON audit_events
          FOR EACH ROW WHEN (NEW.hash_alg IS NULL) EXECUTE FUNCTION audit_events_refuse_unkeyed()`.execute(db);
        return;
      }
      await sql
        .raw(
          `CREATE TRIGGER audit_events_keyed_only BEFORE INSERT ON audit_events
          WHEN NEW.hash_alg IS NULL AND (${keyed})
          BEGIN SELECT RAISE(ABORT, '${message}'); END`,
        )
        .execute(db);
    },
  },
};

/** Columns an auditor filters on; each has an index (column, seq). */
export const AUDIT_FILTER_COLUMNS = [
  'occurred_at',
  'tenant_id',
  'company_domain',
  'acting_user',
  'report_owner',
  'item_url',
  'field',
  'event_type',
  'outcome',
  'launch_id',
  'correlation_id',
] as const;

/** Hands Kysely's Migrator the migrations above. */
export class CodeMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

/**
 * Applies every pending migration; returns the names applied (empty when up to date). On
 * PostgreSQL the whole run holds a session advisory lock, so replicas starting together
 * take turns and the later ones find nothing to do.
 */
export async function runMigrations(db: Kysely<any>): Promise<string[]> {
  if (dialectOf(db) !== 'postgres') return migrateToLatest(db);
  return db.connection().execute(async (conn) => {
    await sql`SELECT pg_advisory_lock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(conn);
    try {
      return await migrateToLatest(conn);
    } finally {
      // A failed unlock must not hide the migration's own error; a broken session releases the lock anyway.
      await sql`SELECT pg_advisory_unlock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(conn).catch(() => undefined);
    }
  });
}

async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new CodeMigrationProvider() });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName;
    // Not `instanceof Error`: better-sqlite3's errors may come from another realm (Jest's VM contexts).
    const message = (error as { message?: unknown } | null)?.message;
    const detail = typeof message === 'string' ? message : String(error);
    throw new Error(
      failed ? `Database migration ${failed} failed: ${detail}` : `Database migrations could not run: ${detail}`,
      { cause: error },
    );
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Names of migrations this build has that the database has not applied (empty when up to date). */
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new CodeMigrationProvider() });
  const all = await migrator.getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
