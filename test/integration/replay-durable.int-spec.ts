import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { ClaimedNonceRepository } from '../../src/auth/claimed-nonce.repository.js';
import { ClaimedNonceRetention, PURGE_BATCH } from '../../src/auth/claimed-nonce.retention.js';
import { DurableReplayStore } from '../../src/auth/durable-replay.store.js';
import { RedisReplayStore } from '../../src/auth/redis-replay.store.js';
import { nonceKey } from '../../src/auth/replay.store.js';
import { SecretBox } from '../../src/concur/secret-box.js';
import { AppConfig } from '../../src/config/index.js';
import { createPostgresKysely } from '../../src/database/database.factory.js';
import type { Database } from '../../src/database/database.types.js';
import { runMigrations } from '../../src/database/migrations.js';
import { createTestDatabase, describeWith, REDIS_TEST_URL, uniqueRedisPrefix } from './services.js';

/** Two replicas' view of one PostgreSQL database: separate pools. */
describeWith(['postgres'], 'claimed nonces on PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let one: Kysely<Database>;
  let two: Kysely<Database>;

  beforeAll(async () => {
    database = await createTestDatabase();
    one = createPostgresKysely(database.url, 10);
    two = createPostgresKysely(database.url, 10);
    await runMigrations(one);
  });

  afterAll(async () => {
    await Promise.all([one.destroy(), two.destroy()]);
    await database.drop();
  });

  it('gives exactly one winner among 50 concurrent claims of one nonce from two replicas', async () => {
    const replicas = [new ClaimedNonceRepository(one), new ClaimedNonceRepository(two)];
    const row = { nonce_hash: randomBytes(32).toString('hex'), tenant_id: 'acme', claimed_at: new Date().toISOString() };
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => replicas[i % 2].claim(row)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await one.selectFrom('claimed_nonces').selectAll().where('nonce_hash', '=', row.nonce_hash).execute()).toEqual([row]);
  });

  it('purges what is older than the retention in batches, from two replicas at once, and keeps the rest', async () => {
    const now = Date.parse('2027-06-01T00:00:00.000Z');
    const old = new Date(now - 31 * 86_400_000).toISOString();
    const recent = new Date(now - 29 * 86_400_000).toISOString();
    const rows = [
      ...Array.from({ length: PURGE_BATCH * 2 + 3 }, (_, i) => ({ nonce_hash: `old-${i}`, tenant_id: 'acme', claimed_at: old })),
      ...Array.from({ length: 4 }, (_, i) => ({ nonce_hash: `recent-${i}`, tenant_id: 'acme', claimed_at: recent })),
    ];
    for (let i = 0; i < rows.length; i += 500) await one.insertInto('claimed_nonces').values(rows.slice(i, i + 500)).execute();
    const cutoff = new Date(now - 30 * 86_400_000).toISOString();
    const { count } = await one.selectFrom('claimed_nonces').select((eb) => eb.fn.countAll<string>().as('count')).where('claimed_at', '<', cutoff).executeTakeFirstOrThrow();
    expect(Number(count)).toBeGreaterThanOrEqual(PURGE_BATCH * 2 + 3);
    const config = new AppConfig();
    config.replay.retentionDays = 30;
    const purged = await Promise.all([
      new ClaimedNonceRetention(new ClaimedNonceRepository(one), config).purge(now),
      new ClaimedNonceRetention(new ClaimedNonceRepository(two), config).purge(now),
    ]);
    expect(purged[0] + purged[1]).toBe(Number(count));
    expect(await one.selectFrom('claimed_nonces').select('nonce_hash').where('claimed_at', '<', cutoff).execute()).toEqual([]);
    const kept = await one.selectFrom('claimed_nonces').select('nonce_hash').where('claimed_at', '=', recent).execute();
    expect(kept.map((r) => r.nonce_hash).sort()).toEqual(['recent-0', 'recent-1', 'recent-2', 'recent-3']);
  });
});

/** Redis as the fast path, PostgreSQL as the record, as replicas with REDIS_URL and DATABASE_URL run it. */
describeWith(['postgres', 'redis'], 'durable replay store over Redis and PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Kysely<Database>;
  let redis: Redis;
  let prefix: string;
  let config: AppConfig;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createPostgresKysely(database.url, 10);
    await runMigrations(db);
    prefix = uniqueRedisPrefix();
    config = new AppConfig();
    config.redis.keyPrefix = prefix;
    config.security.encryptionKey = randomBytes(32).toString('base64');
    redis = new Redis(REDIS_TEST_URL, { lazyConnect: true });
    await redis.connect();
  });

  afterAll(async () => {
    await flushPrefix();
    await redis.quit();
    await db.destroy();
    await database.drop();
  });

  afterEach(() => jest.restoreAllMocks());

  /** Deletes this suite's keys only: the Redis may be shared, so never FLUSHDB. */
  async function flushPrefix(): Promise<number> {
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) deleted += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    return deleted;
  }

  const replica = () => new DurableReplayStore(new RedisReplayStore(redis, config), new ClaimedNonceRepository(db), new SecretBox(config));

  it('refuses a used nonce after its Redis key was flushed; a new nonce still passes', async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const store = replica();
    const key = nonceKey('acme', `n-${randomBytes(4).toString('hex')}`);
    await expect(store.claim(key, 60)).resolves.toBe(true);
    await expect(replica().claim(key, 60)).resolves.toBe(false);
    expect(await flushPrefix()).toBeGreaterThan(0);
    await expect(replica().claim(key, 60)).resolves.toBe(false);
    await expect(replica().claim(nonceKey('acme', 'another'), 60)).resolves.toBe(true);
  });

  it('of concurrent claims from replicas just after a flush, exactly one wins', async () => {
    const key = nonceKey('acme', `race-${randomBytes(4).toString('hex')}`);
    const replicas = [replica(), replica()];
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => replicas[i % 2].claim(key, 60)));
    expect(results.filter(Boolean)).toHaveLength(1);
    await flushPrefix();
    const after = await Promise.all(Array.from({ length: 20 }, (_, i) => replicas[i % 2].claim(key, 60)));
    expect(after.filter(Boolean)).toHaveLength(0);
  });

  it('a Redis hit refuses without asking the database', async () => {
    const store = replica();
    const key = nonceKey('acme', `fast-${randomBytes(4).toString('hex')}`);
    await store.claim(key, 60);
    const record = jest.spyOn(ClaimedNonceRepository.prototype, 'claim');
    await expect(store.claim(key, 60)).resolves.toBe(false);
    expect(record).not.toHaveBeenCalled();
  });
});
