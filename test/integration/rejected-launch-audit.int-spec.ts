import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { AuditRepository } from '../../src/audit/audit.repository.js';
import { AuditService } from '../../src/audit/audit.service.js';
import type { AuditEventInput } from '../../src/audit/audit.types.js';
import { RejectedLaunchAudit } from '../../src/audit/rejected-launch.audit.js';
import { AppConfig } from '../../src/config/index.js';
import { createSqliteKysely } from '../../src/database/database.factory.js';
import type { Database } from '../../src/database/database.types.js';
import { runMigrations } from '../../src/database/migrations.js';
import { Metrics } from '../../src/metrics/metrics.service.js';
import { RateLimitKeys } from '../../src/throttle/rate-limit-keys.js';
import { describeWith, REDIS_TEST_URL, uniqueRedisPrefix } from './services.js';

const rejected = (clientIp: string, n: number): AuditEventInput => ({
  type: 'launch.rejected',
  outcome: 'failure',
  reason: 'unknown company domain',
  companyDomain: `attempt-${n}.example`,
  clientIp,
});

describeWith(['redis'], 'rejected launches counted in Redis by two replicas', () => {
  let one: Redis;
  let two: Redis;
  let db: Kysely<Database>;
  let audit: AuditService;
  let config: AppConfig;
  let prefix: string;

  beforeAll(() => {
    one = new Redis(REDIS_TEST_URL);
    two = new Redis(REDIS_TEST_URL);
  });

  beforeEach(async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    prefix = uniqueRedisPrefix();
    config = new AppConfig();
    config.redis.keyPrefix = prefix;
    config.security.encryptionKey = randomBytes(32).toString('base64');
    db = createSqliteKysely(':memory:');
    await runMigrations(db);
    // One log both replicas write to (PostgreSQL in a deployment).
    audit = new AuditService(new AuditRepository(db), new Metrics(), config);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    const keys = await one.keys(`${prefix}*`);
    if (keys.length > 0) await one.del(...keys);
    await db.destroy();
  });

  afterAll(async () => {
    await one.quit();
    await two.quit();
  });

  const replicas = (maxAddresses?: number) => [
    new RejectedLaunchAudit(audit, config, one, RateLimitKeys.fromConfig(config), maxAddresses),
    new RejectedLaunchAudit(audit, config, two, RateLimitKeys.fromConfig(config), maxAddresses),
  ];
  const rejectedEvents = async () => (await audit.search({ type: 'launch.rejected' }, 500)).events;

  it('holds the limit across replicas, and the rest is counted once in one event', async () => {
    const [a, b] = replicas();
    for (let i = 0; i < 100; i++) await (i % 2 ? a : b).record(rejected('203.0.113.7', i));
    expect(await rejectedEvents()).toHaveLength(30);
    await a.beforeApplicationShutdown();
    await b.beforeApplicationShutdown();
    const events = await rejectedEvents();
    expect(events).toHaveLength(31);
    expect(events[0].reason).toMatch(/^70 more rejected launches from 203\.0\.113\.7 between /);
  });

  it('keeps client addresses out of Redis, and every key expires', async () => {
    const [a] = replicas();
    for (let i = 0; i < 40; i++) await a.record(rejected('203.0.113.7', i));
    const keys = await one.keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).not.toContain('203.0.113');
      expect(await one.pttl(key)).toBeGreaterThan(0);
    }
    await a.beforeApplicationShutdown();
  });

  it('caps the addresses counted per window: further ones share one bucket', async () => {
    config.audit.rejectedLaunches.limit = 1;
    const [a, b] = replicas(2);
    for (let i = 0; i < 20; i++) await (i % 2 ? a : b).record(rejected(`198.51.100.${i}`, i));
    // Two tracked addresses and one event of the shared bucket.
    expect((await rejectedEvents()).map((e) => e.clientIp).sort()).toEqual(['198.51.100.0', '198.51.100.1', '198.51.100.2']);
    expect((await one.keys(`${prefix}*`)).length).toBeLessThanOrEqual(2 * 2 + 3);
    await a.beforeApplicationShutdown();
    await b.beforeApplicationShutdown();
    expect((await rejectedEvents())[0].reason).toMatch(/^17 more rejected launches from other addresses /);
  });
});
