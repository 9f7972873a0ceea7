import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from '../database/database.types.js';
import { TokenRepository } from './token.repository.js';

describe(TokenRepository.name, () => {
  let db: Kysely<Database>;

  beforeEach(async () => {
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }) });
    await db.schema
      .createTable('oauth_tokens')
      .addColumn('tenant_id', 'text', (col) => col.primaryKey())
      .addColumn('refresh_token_enc', 'text', (col) => col.notNull())
      .addColumn('seed_hash', 'text', (col) => col.notNull())
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .addColumn('geolocation', 'text')
      .addColumn('refresh_expires_at', 'text')
      .execute();
  });

  afterEach(() => db.destroy());

  it('finds nothing for an unknown tenant', async () => {
    await expect(new TokenRepository(db).find('nobody')).resolves.toBeUndefined();
  });

  it('inserts, then replaces the row of the same tenant', async () => {
    const repo = new TokenRepository(db);
    const none = { geolocation: null, refresh_expires_at: null };
    await repo.save({ tenant_id: 'a', refresh_token_enc: 'enc1', seed_hash: 'h1', updated_at: '2026-01-01T00:00:00.000Z', ...none });
    await repo.save({ tenant_id: 'b', refresh_token_enc: 'encB', seed_hash: 'hB', updated_at: '2026-01-01T00:00:00.000Z', ...none });
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
    expect(await db.selectFrom('oauth_tokens').selectAll().execute()).toHaveLength(2);
  });
});
