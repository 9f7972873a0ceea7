import { jest } from '@jest/globals';
import { Global, Logger, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { AppConfig, StorageConfig } from '../config/index.js';
import { DatabaseInfo, DatabaseModule, sqliteFileOf } from './database.module.js';
import { DB } from './database.tokens.js';
import type { Database } from './database.types.js';

function configWith(storage: Partial<StorageConfig>): AppConfig {
  const config = new AppConfig();
  Object.assign(config.storage, storage);
  return config;
}

describe(DatabaseModule.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'clc-dbmod-'));
  });

  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  async function boot(config: AppConfig) {
    @Global()
    @Module({ providers: [{ provide: AppConfig, useValue: config }], exports: [AppConfig] })
    class TestConfigModule {}
    return Test.createTestingModule({ imports: [TestConfigModule, DatabaseModule] }).compile();
  }

  it('opens the SQLite file in the data folder with migrations applied, and closes it on shutdown', async () => {
    const moduleRef = await boot(configWith({ dataDir: join(dir, 'data'), sqliteFile: 'audit.db' }));
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const db = app.get<Kysely<Database>>(DB);
    expect(existsSync(join(dir, 'data', 'audit.db'))).toBe(true);
    expect(await db.selectFrom('audit_events').selectAll().execute()).toEqual([]);
    await app.close();
    await expect(sql`SELECT 1`.execute(db)).rejects.toThrow();
  });

  it('says which store it uses', async () => {
    const moduleRef = await boot(configWith({ dataDir: join(dir, 'data'), sqliteFile: 'audit.db' }));
    const info = moduleRef.get(DatabaseInfo);
    expect(info).toEqual(new DatabaseInfo('sqlite', join(dir, 'data', 'audit.db')));
    expect(info.description).toBe(`SQLite ${join(dir, 'data', 'audit.db')}`);
    await moduleRef.close();
  });

  it('with migrateOnStart off applies nothing and warns which migrations are pending', async () => {
    const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const moduleRef = await boot(configWith({ dataDir: dir, sqliteFile: 'late.db', migrateOnStart: false }));
    const db = moduleRef.get<Kysely<Database>>(DB);
    expect(await db.introspection.getTables()).toEqual([]);
    expect(warned).toHaveBeenCalledWith(
      expect.stringMatching(/6 migration\(s\) pending: 001_initial, 002_audit_append_only, 003_audit_workbench, 004_oauth_token_geolocation, 005_claimed_nonces, 006_audit_chain_keyed_guard\. storage\.migrateOnStart is off/),
    );
    await moduleRef.close();
  });

  it('stops the start with the host when PostgreSQL cannot be reached, never the password', async () => {
    const failure = boot(configWith({ databaseUrl: 'postgresql://app:s3cret-pw@127.0.0.1:1/connector?password=s3cret-pw' }));
    await expect(failure).rejects.toThrow(/^PostgreSQL at postgresql:\/\/app@127\.0\.0\.1:1\/connector cannot be reached: .*ECONNREFUSED/);
    await expect(failure).rejects.not.toThrow(/s3cret/);
  });

  it('resolves the file against the data folder unless it is :memory:', () => {
    expect(sqliteFileOf(Object.assign(new StorageConfig(), { dataDir: '/srv/data', sqliteFile: 'c.db' }))).toBe(
      '/srv/data/c.db',
    );
    expect(sqliteFileOf(Object.assign(new StorageConfig(), { dataDir: '/srv/data', sqliteFile: ':memory:' }))).toBe(
      ':memory:',
    );
  });
});
