import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig } from '../config/index.js';
import { migrateDatabase } from './migrate.js';

describe(migrateDatabase.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'clc-migrate-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('migrates the configured SQLite file and reports where, then finds nothing to do', async () => {
    const config = new AppConfig();
    Object.assign(config.storage, { dataDir: dir, sqliteFile: 'c.db' });
    expect(await migrateDatabase(config)).toEqual({
      location: `SQLite ${join(dir, 'c.db')}`,
      applied: ['001_initial', '002_audit_append_only', '003_audit_workbench', '004_oauth_token_geolocation', '005_claimed_nonces', '006_audit_chain_keyed_guard'],
    });
    expect(await migrateDatabase(config)).toEqual({ location: `SQLite ${join(dir, 'c.db')}`, applied: [] });
  });

  it('fails with the host when PostgreSQL cannot be reached', async () => {
    const config = new AppConfig();
    config.storage.databaseUrl = 'postgresql://app:s3cret@127.0.0.1:1/clc';
    await expect(migrateDatabase(config)).rejects.toThrow(/^PostgreSQL at postgresql:\/\/app@127\.0\.0\.1:1\/clc cannot be reached/);
  });
});
