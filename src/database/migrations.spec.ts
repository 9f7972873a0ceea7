import { type Kysely, sql } from 'kysely';
import { createSqliteKysely } from './database.factory.js';
import type { Database } from './database.types.js';
import { CodeMigrationProvider, runMigrations } from './migrations.js';

describe(runMigrations.name, () => {
  let db: Kysely<Database>;

  beforeEach(() => {
    db = createSqliteKysely(':memory:');
  });

  afterEach(async () => {
    await db.destroy();
  });

  it('applies 001_initial once and nothing on a second run', async () => {
    expect(await runMigrations(db)).toEqual(['001_initial']);
    expect(await runMigrations(db)).toEqual([]);
  });

  it('provides every migration from code', async () => {
    expect(Object.keys(await new CodeMigrationProvider().getMigrations())).toEqual(['001_initial']);
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
    ]);
    expect(tokens?.columns.map((c) => [c.name, c.isNullable])).toEqual([
      ['tenant_id', false],
      ['refresh_token_enc', false],
      ['seed_hash', false],
      ['updated_at', false],
    ]);
  });

  it('indexes the columns the audit is searched by', async () => {
    await runMigrations(db);
    const { rows } = await sql<{ name: string }>`
      SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_events' AND name LIKE '%_idx'
      ORDER BY name`.execute(db);
    expect(rows.map((r) => r.name)).toEqual([
      'audit_events_correlation_id_idx',
      'audit_events_event_type_idx',
      'audit_events_launch_id_idx',
      'audit_events_occurred_at_idx',
      'audit_events_tenant_id_idx',
    ]);
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

  it('names the migration that failed', async () => {
    await sql`CREATE TABLE audit_events (x text)`.execute(db);
    await expect(runMigrations(db)).rejects.toThrow(/001_initial/);
  });
});
