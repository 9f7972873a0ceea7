import { Global, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { AppConfig, StorageConfig } from '../config/index.js';
import { DatabaseModule, sqliteFileOf } from './database.module.js';
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

  it('resolves the file against the data folder unless it is :memory:', () => {
    expect(sqliteFileOf(Object.assign(new StorageConfig(), { dataDir: '/srv/data', sqliteFile: 'c.db' }))).toBe(
      '/srv/data/c.db',
    );
    expect(sqliteFileOf(Object.assign(new StorageConfig(), { dataDir: '/srv/data', sqliteFile: ':memory:' }))).toBe(
      ':memory:',
    );
  });
});
