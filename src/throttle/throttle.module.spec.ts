import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Global, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConfigModule, validateConfig } from '../config/index.js';
import { REDIS } from '../redis/redis.module.js';
import { RateLimitKeys } from './rate-limit-keys.js';
import { MemoryRateLimitStorage, RateLimitStorage } from './rate-limit.storage.js';
import { RateLimiter } from './rate-limiter.service.js';
import { RedisRateLimitStorage } from './redis-rate-limit.storage.js';
import { ThrottleModule } from './throttle.module.js';

const loaded = validateConfig(
  {
    concur: { apiOrigins: ['https://us.api.concursolutions.com'] },
    redis: { keyPrefix: 'tenant-a:' },
    security: { encryptionKey: Buffer.alloc(32, 3).toString('base64') },
    tenants: [
      {
        id: 'acme',
        name: 'Acme',
        companyDomains: ['acme.example.com'],
        connector: { username: 'AcmeConnector', password: 'acme-password-1' },
        launch: { versions: [4] },
        oauth: { baseUrl: 'https://us.api.concursolutions.com', clientId: 'c', clientSecret: 's', refreshToken: 'r' },
        fields: { v4: { entry: ['custom9'] } },
        lookup: { type: 'file', file: join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'signature-vectors.json') },
      },
    ],
  },
  import.meta.dirname,
  {},
);

function redisModule(client: unknown) {
  @Global()
  @Module({ providers: [{ provide: REDIS, useValue: client }], exports: [REDIS] })
  class FakeRedisModule {}
  return FakeRedisModule;
}

async function moduleWith(...imports: Array<new () => unknown>) {
  const moduleRef = await Test.createTestingModule({ imports: [ConfigModule.forRoot(loaded), ...imports, ThrottleModule] }).compile();
  const storage = moduleRef.get(RateLimitStorage);
  const keys = moduleRef.get(RateLimitKeys);
  expect(moduleRef.get(RateLimiter)).toBeInstanceOf(RateLimiter);
  await moduleRef.close();
  return { storage, keys };
}
const storageWith = async (...imports: Array<new () => unknown>) => (await moduleWith(...imports)).storage;

describe(ThrottleModule.name, () => {
  it('counts in memory without a Redis client', async () => {
    expect(await storageWith()).toBeInstanceOf(MemoryRateLimitStorage);
    expect(await storageWith(redisModule(null))).toBeInstanceOf(MemoryRateLimitStorage);
  });

  it('counts in Redis, under the configured key prefix, when there is a client', async () => {
    const storage = await storageWith(redisModule({}));
    expect(storage).toBeInstanceOf(RedisRateLimitStorage);
    expect((storage as RedisRateLimitStorage).keyOf('k', 'launch')).toMatch(/^tenant-a:rl:launch:/);
  });

  it('derives the key of its HMACs from security.encryptionKey, so replicas agree', async () => {
    const [one, two] = [await moduleWith(redisModule({})), await moduleWith(redisModule({}))];
    expect(one.keys.digest('x')).toBe(two.keys.digest('x'));
    expect(one.keys.digest('x')).toBe(RateLimitKeys.fromConfig(loaded.config).digest('x'));
    expect((one.storage as RedisRateLimitStorage).keyOf('k', 'launch')).toBe((two.storage as RedisRateLimitStorage).keyOf('k', 'launch'));
  });
});
