import { type Kysely, Migrator, sql } from 'kysely';
import { createSqliteKysely } from './database.factory.js';
import type { Database } from './database.types.js';
import {
  APPEND_ONLY_MESSAGE,
  AUDIT_FILTER_COLUMNS,
  CodeMigrationProvider,
  KEYED_HASH_ALG,
  pendingMigrations,
  runMigrations,
  UNKEYED_WRITER_MESSAGE,
} from './migrations.js';

const ALL_MIGRATIONS = [
  '001_initial',
  '002_audit_append_only',
  '003_audit_workbench',
  '004_oauth_token_geolocation',
  '005_claimed_nonces',
  '006_audit_chain_keyed_guard',
];

describe(runMigrations.name, () => {
  let db: Kysely<Database>;

  beforeEach(() => {
    db = createSqliteKysely(':memory:');
  });

  afterEach(async () => {
    await db.destroy();
  });

  it('applies every migration once and nothing on a second run', async () => {
    expect(await runMigrations(db)).toEqual(ALL_MIGRATIONS);
    expect(await runMigrations(db)).toEqual([]);
  });

  it('provides every migration from code', async () => {
    expect(Object.keys(await new CodeMigrationProvider().getMigrations())).toEqual(ALL_MIGRATIONS);
  });

  it('lists pending migrations without applying them', async () => {
    expect(await pendingMigrations(db)).toEqual(ALL_MIGRATIONS);
    expect(await db.introspection.getTables()).toEqual([]);
    await runMigrations(db);
    expect(await pendingMigrations(db)).toEqual([]);
  });

  it('creates the audit and token tables with the columns of database.types.ts', async () => {
    await runMigrations(db);
    const tables = await db.introspection.getTables();
    const audit = tables.find((t) => t.name === 'audit_events');
    const tokens = tables.find((t) => t.name === 'oauth_tokens');
    expect(audit?.columns.map((c) => [c.name, c.isNullable])).toEqual([
      ['seq', false],
      ['id', false],
      ['occurred_at', false],
      ['event_type', false],
      ['outcome', false],
      ['tenant_id', true],
      ['company_domain', true],
      ['acting_user', true],
      ['report_owner', true],
      ['item_url', true],
      ['launch_id', true],
      ['field', true],
      ['old_value', true],
      ['new_value', true],
      ['reason', true],
      ['correlation_id', true],
      ['client_ip', true],
      ['user_agent', true],
      ['prev_hash', false],
      ['hash', false],
      ['hash_alg', true],
    ]);
    expect(tokens?.columns.map((c) => [c.name, c.isNullable])).toEqual([
      ['tenant_id', false],
      ['refresh_token_enc', false],
      ['seed_hash', false],
      ['updated_at', false],
      ['geolocation', true],
      ['refresh_expires_at', true],
    ]);
  });

  it('indexes every column an auditor filters on, with seq second (the order of every page)', async () => {
    await runMigrations(db);
    const { rows } = await sql<{ name: string }>`
      SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_events' AND name LIKE '%_idx'
      ORDER BY name`.execute(db);
    expect(rows.map((r) => r.name)).toEqual([...AUDIT_FILTER_COLUMNS].sort().map((column) => `audit_events_${column}_seq_idx`));
    for (const column of AUDIT_FILTER_COLUMNS) {
      const { rows: columns } = await sql<{ name: string }>`SELECT name FROM pragma_index_info(${`audit_events_${column}_seq_idx`}) ORDER BY seqno`.execute(db);
      expect(columns.map((c) => c.name)).toEqual([column, 'seq']);
    }
  });

  it('rejects a second event with the same seq or id', async () => {
    await runMigrations(db);
    const row = {
      seq: 1, id: 'a', occurred_at: 't', event_type: 'e', outcome: 'o', prev_hash: 'p', hash: 'h',
    };
    await db.insertInto('audit_events').values(row as never).execute();
    // toMatchObject, not toThrow: better-sqlite3's error class may belong to another test file's realm.
    await expect(db.insertInto('audit_events').values({ ...row, id: 'b' } as never).execute()).rejects.toMatchObject({
      message: expect.stringContaining('audit_events.seq'),
    });
    await expect(db.insertInto('audit_events').values({ ...row, seq: 2 } as never).execute()).rejects.toMatchObject({
      message: expect.stringContaining('audit_events.id'),
    });
  });

  describe('002_audit_append_only', () => {
    const event = { seq: 1, id: 'a', occurred_at: 't', event_type: 'e', outcome: 'o', prev_hash: 'p', hash: 'h' };

    beforeEach(async () => {
      await runMigrations(db);
      await db.insertInto('audit_events').values(event as never).execute();
      await db.insertInto('audit_events').values({ ...event, seq: 2, id: 'b' } as never).execute();
    });

    it('makes the database refuse to change an audit event', async () => {
      await expect(db.updateTable('audit_events').set({ new_value: 'x' }).where('seq', '=', 1).execute()).rejects.toMatchObject({
        message: `${APPEND_ONLY_MESSAGE}: UPDATE refused`,
      });
      await expect(sql`UPDATE audit_events SET hash = 'forged'`.execute(db)).rejects.toMatchObject({
        message: `${APPEND_ONLY_MESSAGE}: UPDATE refused`,
      });
      expect((await db.selectFrom('audit_events').select('hash').orderBy('seq').execute()).map((r) => r.hash)).toEqual(['h', 'h']);
    });

    it('makes the database refuse to remove an audit event, one or all', async () => {
      await expect(db.deleteFrom('audit_events').where('seq', '=', 2).execute()).rejects.toMatchObject({
        message: `${APPEND_ONLY_MESSAGE}: DELETE refused`,
      });
      await expect(sql`DELETE FROM audit_events`.execute(db)).rejects.toMatchObject({
        message: `${APPEND_ONLY_MESSAGE}: DELETE refused`,
      });
      expect(await db.selectFrom('audit_events').select('seq').execute()).toHaveLength(2);
    });

    it('still accepts new events and leaves the token table writable', async () => {
      await db.insertInto('audit_events').values({ ...event, seq: 3, id: 'c' } as never).execute();
      const token = { tenant_id: 't', refresh_token_enc: 'e', seed_hash: 's', updated_at: 'u' };
      await db.insertInto('oauth_tokens').values(token).execute();
      await db.updateTable('oauth_tokens').set({ refresh_token_enc: 'e2' }).execute();
      await db.deleteFrom('oauth_tokens').execute();
      expect(await db.selectFrom('audit_events').select('seq').execute()).toHaveLength(3);
      expect(await db.selectFrom('oauth_tokens').selectAll().execute()).toEqual([]);
    });
  });

  describe('003_audit_workbench', () => {
    const event = { seq: 1, id: 'a', occurred_at: 't', event_type: 'e', outcome: 'o', prev_hash: 'p', hash: 'h' };
    const checkpoint = { checkpoint_seq: 4, purged_from_seq: 1, purged_through_seq: 2, purged_through_hash: 'h', created_at: 't' };

    beforeEach(async () => {
      await runMigrations(db);
      for (const seq of [1, 2, 3, 4]) await db.insertInto('audit_events').values({ ...event, seq, id: `e${seq}` } as never).execute();
    });

    it('lets the database delete events only up to the newest checkpoint', async () => {
      await expect(db.deleteFrom('audit_events').where('seq', '<=', 2).execute()).rejects.toMatchObject({ message: `${APPEND_ONLY_MESSAGE}: DELETE refused` });
      await db.insertInto('audit_checkpoints').values(checkpoint).execute();
      await db.deleteFrom('audit_events').where('seq', '<=', 2).execute();
      await expect(db.deleteFrom('audit_events').where('seq', '=', 3).execute()).rejects.toMatchObject({ message: `${APPEND_ONLY_MESSAGE}: DELETE refused` });
      expect((await db.selectFrom('audit_events').select('seq').orderBy('seq').execute()).map((r) => Number(r.seq))).toEqual([3, 4]);
    });

    it('makes checkpoints append-only too', async () => {
      await db.insertInto('audit_checkpoints').values(checkpoint).execute();
      await expect(db.updateTable('audit_checkpoints').set({ purged_through_seq: 4 }).execute()).rejects.toMatchObject({ message: `${APPEND_ONLY_MESSAGE}: UPDATE refused` });
      await expect(db.deleteFrom('audit_checkpoints').execute()).rejects.toMatchObject({ message: `${APPEND_ONLY_MESSAGE}: DELETE refused` });
    });
  });

  describe('005_claimed_nonces', () => {
    it('keys claimed nonces by their hash, so a second claim of one hash conflicts', async () => {
      await runMigrations(db);
      const row = { nonce_hash: 'h1', tenant_id: 't', claimed_at: '2026-01-01T00:00:00.000Z' };
      await db.insertInto('claimed_nonces').values(row).execute();
      const again = await db.insertInto('claimed_nonces').values(row).onConflict((oc) => oc.column('nonce_hash').doNothing()).executeTakeFirst();
      expect(Number(again.numInsertedOrUpdatedRows)).toBe(0);
      const table = (await db.introspection.getTables()).find((t) => t.name === 'claimed_nonces');
      expect(table?.columns.map((c) => [c.name, c.isNullable])).toEqual([
        ['nonce_hash', false],
        ['tenant_id', false],
        ['claimed_at', false],
      ]);
      const { rows } = await sql<{ name: string }>`SELECT name FROM pragma_index_info('claimed_nonces_claimed_at_idx')`.execute(db);
      expect(rows.map((r) => r.name)).toEqual(['claimed_at']);
    });
  });

  describe('006_audit_chain_keyed_guard', () => {
    /** A full row as the previous version inserted it: every column it knew, no hash_alg. */
    const oldRow = (seq: number, extra: Record<string, unknown> = {}) => ({
      seq, id: `old-${seq}`, occurred_at: 't', event_type: 'launch.accepted', outcome: 'success', tenant_id: null, company_domain: null,
      acting_user: null, report_owner: null, item_url: null, launch_id: null, field: null, old_value: null, new_value: null, reason: null,
      correlation_id: null, client_ip: null, user_agent: null, prev_hash: 'p', hash: `h${seq}`, ...extra,
    });
    const newRow = (seq: number, extra: Record<string, unknown> = {}) => ({ ...oldRow(seq, extra), id: `new-${seq}`, hash_alg: KEYED_HASH_ALG });
    const refused = { message: `${UNKEYED_WRITER_MESSAGE}; upgrade every replica (issue 17)` };
    const seqs = async () => (await db.selectFrom('audit_events').select('seq').orderBy('seq').execute()).map((r) => Number(r.seq));

    it('adds hash_alg to the rows of the previous version as NULL and lets it append until the chain is keyed', async () => {
      // The database as the previous version left it: migrated through 005, with its events.
      const migrator = new Migrator({ db, provider: new CodeMigrationProvider() });
      expect((await migrator.migrateTo('005_claimed_nonces')).error).toBeUndefined();
      await db.insertInto('audit_events').values([oldRow(1), oldRow(2)] as never).execute();
      expect(await runMigrations(db)).toEqual(['006_audit_chain_keyed_guard']);
      expect(await db.selectFrom('audit_events').select(['seq', 'hash_alg']).orderBy('seq').execute()).toEqual([
        { seq: 1, hash_alg: null },
        { seq: 2, hash_alg: null },
      ]);
      // An old replica still running during the rolling upgrade, before any new one has written.
      await db.insertInto('audit_events').values(oldRow(3) as never).execute();
      // The new version's seal, then its events.
      await db.insertInto('audit_events').values(newRow(4, { event_type: 'audit.chain_keyed' }) as never).execute();
      await expect(db.insertInto('audit_events').values(oldRow(5) as never).execute()).rejects.toMatchObject(refused);
      await db.insertInto('audit_events').values(newRow(5) as never).execute();
      await expect(db.insertInto('audit_events').values(oldRow(6) as never).execute()).rejects.toMatchObject(refused);
      expect(await seqs()).toEqual([1, 2, 3, 4, 5]);
    });

    it('refuses an unkeyed row after a keyed one when the log had no events to seal', async () => {
      await runMigrations(db);
      await db.insertInto('audit_events').values(newRow(1) as never).execute();
      await expect(db.insertInto('audit_events').values(oldRow(2) as never).execute()).rejects.toMatchObject(refused);
      expect(await seqs()).toEqual([1]);
    });

    it('still refuses an unkeyed row once a retention purge took the seal away', async () => {
      await runMigrations(db);
      await db.insertInto('audit_events').values([oldRow(1), newRow(2, { event_type: 'audit.chain_keyed' }), newRow(3, { event_type: 'audit.purged' })] as never).execute();
      await db.insertInto('audit_checkpoints').values({ checkpoint_seq: 3, purged_from_seq: 1, purged_through_seq: 2, purged_through_hash: 'h2', created_at: 't' }).execute();
      await db.deleteFrom('audit_events').where('seq', '<=', 2).execute();
      await expect(db.insertInto('audit_events').values(oldRow(4) as never).execute()).rejects.toMatchObject(refused);
      expect(await seqs()).toEqual([3]);
    });

    it('refuses a whole multi-row statement of the previous version', async () => {
      await runMigrations(db);
      await db.insertInto('audit_events').values(newRow(1, { event_type: 'audit.chain_keyed' }) as never).execute();
      await expect(db.insertInto('audit_events').values([oldRow(2), oldRow(3)] as never).execute()).rejects.toMatchObject(refused);
      expect(await seqs()).toEqual([1]);
    });

    it('keeps the append-only triggers: a keyed row cannot be changed or removed either', async () => {
      await runMigrations(db);
      await db.insertInto('audit_events').values(newRow(1) as never).execute();
      await expect(db.updateTable('audit_events').set({ hash_alg: null }).execute()).rejects.toMatchObject({ message: `${APPEND_ONLY_MESSAGE}: UPDATE refused` });
      await expect(db.deleteFrom('audit_events').execute()).rejects.toMatchObject({ message: `${APPEND_ONLY_MESSAGE}: DELETE refused` });
    });

    it('finds the seal through the (event_type, seq) index, not by reading the log', async () => {
      await runMigrations(db);
      const { rows } = await sql<{ detail: string }>`EXPLAIN QUERY PLAN SELECT 1 FROM audit_events WHERE event_type = 'audit.chain_keyed'`.execute(db);
      expect(rows.map((r) => r.detail).join('\n')).toMatch(/SEARCH audit_events USING COVERING INDEX audit_events_event_type_seq_idx \(event_type=\?\)/);
    });
  });

  it('names the migration that failed', async () => {
    await sql`CREATE TABLE audit_events (x text)`.execute(db);
    await expect(runMigrations(db)).rejects.toThrow(/001_initial/);
  });
});
