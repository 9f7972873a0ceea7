import { jest } from '@jest/globals';
import { Global, Logger, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { type Kysely, sql } from 'kysely';
import { AppConfig } from '../../src/config/index.js';
import { TokenRepository } from '../../src/concur/token.repository.js';
import { createPostgresKysely } from '../../src/database/database.factory.js';
import { DatabaseInfo, DatabaseModule } from '../../src/database/database.module.js';
import { DB } from '../../src/database/database.tokens.js';
import type { Database } from '../../src/database/database.types.js';
import { migrateDatabase } from '../../src/database/migrate.js';
import { APPEND_ONLY_MESSAGE, AUDIT_FILTER_COLUMNS, pendingMigrations, runMigrations } from '../../src/database/migrations.js';
import { createTestDatabase, describeWith } from './services.js';

const ALL = ['001_initial', '002_audit_append_only', '003_audit_workbench', '004_oauth_token_geolocation', '005_claimed_nonces', '006_audit_chain_keyed_guard'];

describeWith(['postgres'], 'PostgreSQL store', () => {
  const dropped: Array<() => Promise<void>> = [];
  const opened: Array<Kysely<Database>> = [];

  afterEach(async () => {
    jest.restoreAllMocks();
    for (const db of opened.splice(0)) await db.destroy();
    for (const drop of dropped.splice(0)) await drop();
  });

  async function freshDatabase(): Promise<string> {
    const database = await createTestDatabase();
    dropped.push(() => database.drop());
    return database.url;
  }

  function open(url: string, poolSize = 5): Kysely<Database> {
    const db = createPostgresKysely(url, poolSize);
    opened.push(db);
    return db;
  }

  function configFor(url: string, storage: Partial<AppConfig['storage']> = {}): AppConfig {
    const config = new AppConfig();
    Object.assign(config.storage, { databaseUrl: url }, storage);
    return config;
  }

  async function bootModule(config: AppConfig) {
    @Global()
    @Module({ providers: [{ provide: AppConfig, useValue: config }], exports: [AppConfig] })
    class TestConfigModule {}
    const moduleRef = await Test.createTestingModule({ imports: [TestConfigModule, DatabaseModule] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return app;
  }

  const event = (seq: number) => ({
    seq, id: `id-${seq}`, occurred_at: '2026-01-01T00:00:00.000Z', event_type: 'launch.accepted', outcome: 'success',
    tenant_id: null, company_domain: null, acting_user: null, report_owner: null, item_url: null, launch_id: null,
    field: null, old_value: null, new_value: null, reason: null, correlation_id: null, client_ip: null,
    user_agent: null, prev_hash: `p${seq}`, hash: `h${seq}`,
  });

  describe('migrations', () => {
    it('apply on a fresh database, and a second run applies nothing', async () => {
      const url = await freshDatabase();
      const config = configFor(url);
      // The test URL has no password, so the reported location is the URL itself.
      expect(await migrateDatabase(config)).toEqual({ location: `PostgreSQL ${url}`, applied: ALL });
      expect(await migrateDatabase(config)).toEqual(expect.objectContaining({ applied: [] }));
      expect(await pendingMigrations(open(url))).toEqual([]);
    });

    it('run by several processes at once: one applies them, the others wait and find nothing to do', async () => {
      const url = await freshDatabase();
      const runs = await Promise.all([open(url), open(url), open(url), open(url)].map((db) => runMigrations(db)));
      expect(runs.flat().sort()).toEqual(ALL);
      expect(runs.filter((applied) => applied.length === 0)).toHaveLength(3);
      const { rows } = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(open(url));
      expect(rows.map((r) => r.name)).toEqual(ALL);
    });

    it('as concurrent migrate commands do not fail either', async () => {
      const url = await freshDatabase();
      const reports = await Promise.all([migrateDatabase(configFor(url)), migrateDatabase(configFor(url))]);
      expect(reports.flatMap((r) => r.applied).sort()).toEqual(ALL);
    });

    it('create the tables with the columns of database.types.ts', async () => {
      const db = open(await freshDatabase());
      await runMigrations(db);
      const tables = await db.introspection.getTables();
      const audit = tables.find((t) => t.name === 'audit_events');
      const tokens = tables.find((t) => t.name === 'oauth_tokens');
      expect(audit?.columns.map((c) => [c.name, c.dataType, c.isNullable])).toEqual([
        ['seq', 'int4', false],
        ['id', 'text', false],
        ['occurred_at', 'text', false],
        ['event_type', 'text', false],
        ['outcome', 'text', false],
        ['tenant_id', 'text', true],
        ['company_domain', 'text', true],
        ['acting_user', 'text', true],
        ['report_owner', 'text', true],
        ['item_url', 'text', true],
        ['launch_id', 'text', true],
        ['field', 'text', true],
        ['old_value', 'text', true],
        ['new_value', 'text', true],
        ['reason', 'text', true],
        ['correlation_id', 'text', true],
        ['client_ip', 'text', true],
        ['user_agent', 'text', true],
        ['prev_hash', 'text', false],
        ['hash', 'text', false],
        ['hash_alg', 'text', true],
      ]);
      expect(tokens?.columns.map((c) => [c.name, c.isNullable])).toEqual([
        ['tenant_id', false],
        ['refresh_token_enc', false],
        ['seed_hash', false],
        ['updated_at', false],
        ['geolocation', true],
        ['refresh_expires_at', true],
      ]);
      const { rows } = await sql<{ indexname: string }>`
        SELECT indexname FROM pg_indexes WHERE tablename = 'audit_events' AND indexname LIKE '%_idx' ORDER BY indexname`.execute(db);
      expect(rows.map((r) => r.indexname)).toEqual([...AUDIT_FILTER_COLUMNS].sort().map((column) => `audit_events_${column}_seq_idx`));
    });
  });

  describe('append-only audit_events', () => {
    let db: Kysely<Database>;

    beforeEach(async () => {
      db = open(await freshDatabase());
      await runMigrations(db);
      await db.insertInto('audit_events').values([event(1), event(2)]).execute();
    });

    it('refuses UPDATE', async () => {
      await expect(db.updateTable('audit_events').set({ new_value: 'x' }).where('seq', '=', 1).execute()).rejects.toMatchObject({
        message: `${APPEND_ONLY_MESSAGE}: UPDATE refused`,
      });
      await expect(sql`UPDATE audit_events SET hash = 'forged'`.execute(db)).rejects.toThrow(`${APPEND_ONLY_MESSAGE}: UPDATE refused`);
      expect((await db.selectFrom('audit_events').select('hash').orderBy('seq').execute()).map((r) => r.hash)).toEqual(['h1', 'h2']);
    });

    it('refuses DELETE', async () => {
      await expect(db.deleteFrom('audit_events').where('seq', '=', 2).execute()).rejects.toThrow(
        `${APPEND_ONLY_MESSAGE}: DELETE refused`,
      );
      await expect(sql`DELETE FROM audit_events`.execute(db)).rejects.toThrow(`${APPEND_ONLY_MESSAGE}: DELETE refused`);
      expect(await db.selectFrom('audit_events').select('seq').execute()).toHaveLength(2);
    });

    it('refuses TRUNCATE', async () => {
      await expect(sql`TRUNCATE audit_events`.execute(db)).rejects.toThrow(`${APPEND_ONLY_MESSAGE}: TRUNCATE refused`);
      expect(await db.selectFrom('audit_events').select('seq').execute()).toHaveLength(2);
    });

    it('accepts new events and returns seq and counts as numbers', async () => {
      await db.insertInto('audit_events').values(event(3)).execute();
      expect(await db.selectFrom('audit_events').select('seq').orderBy('seq').execute()).toEqual([{ seq: 1 }, { seq: 2 }, { seq: 3 }]);
      const { rows } = await sql<{ n: unknown; big: unknown }>`SELECT count(*) AS n, 9007199254740993::int8 AS big FROM audit_events`.execute(db);
      expect(rows).toEqual([{ n: 3, big: '9007199254740993' }]);
    });
  });

  it('token repository inserts and upserts on PostgreSQL', async () => {
    const db = open(await freshDatabase());
    await runMigrations(db);
    const repo = new TokenRepository(db);
    await repo.save({ tenant_id: 'a', refresh_token_enc: 'enc1', seed_hash: 'h1', updated_at: '2026-01-01T00:00:00.000Z' });
    await repo.save({ tenant_id: 'b', refresh_token_enc: 'encB', seed_hash: 'hB', updated_at: '2026-01-01T00:00:00.000Z' });
    await repo.save({
      tenant_id: 'a',
      refresh_token_enc: 'enc2',
      seed_hash: 'h2',
      updated_at: '2026-01-02T00:00:00.000Z',
      geolocation: 'https://eu2.api.concursolutions.com',
      refresh_expires_at: '2027-06-01T00:00:00.000Z',
    });
    expect(await repo.find('a')).toEqual({
      tenant_id: 'a',
      refresh_token_enc: 'enc2',
      seed_hash: 'h2',
      updated_at: '2026-01-02T00:00:00.000Z',
      geolocation: 'https://eu2.api.concursolutions.com',
      refresh_expires_at: '2027-06-01T00:00:00.000Z',
    });
    expect((await repo.find('b'))?.refresh_token_enc).toBe('encB');
    expect(await repo.find('nobody')).toBeUndefined();
    expect(await db.selectFrom('oauth_tokens').selectAll().execute()).toHaveLength(2);
  });

  describe(DatabaseModule.name, () => {
    it('opens PostgreSQL with migrations applied, says so, names its connections and closes on shutdown', async () => {
      const url = await freshDatabase();
      const logged = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
      const app = await bootModule(configFor(url, { poolSize: 2 }));
      const db = app.get<Kysely<Database>>(DB);
      expect(app.get(DatabaseInfo)).toEqual(new DatabaseInfo('postgres', url));
      expect(logged).toHaveBeenCalledWith(`Using PostgreSQL ${url}; applied migrations: ${ALL.join(', ')}`);
      expect(await pendingMigrations(db)).toEqual([]);
      const { rows } = await sql<{ application_name: string }>`
        SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()`.execute(db);
      expect(rows).toEqual([{ application_name: 'concur-launch-connector' }]);
      await app.close();
      await expect(sql`SELECT 1`.execute(db)).rejects.toThrow();
    });

    it('with migrateOnStart off leaves the migrations pending and warns', async () => {
      const url = await freshDatabase();
      const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const app = await bootModule(configFor(url, { migrateOnStart: false }));
      try {
        const db = app.get<Kysely<Database>>(DB);
        expect(await pendingMigrations(db)).toEqual(ALL);
        expect(await db.introspection.getTables()).toEqual([]);
        expect(warned).toHaveBeenCalledWith(expect.stringContaining(`${ALL.length} migration(s) pending: ${ALL.join(', ')}`));
      } finally {
        await app.close();
      }
      expect((await migrateDatabase(configFor(url))).applied).toEqual(ALL);
    });
  });
});
