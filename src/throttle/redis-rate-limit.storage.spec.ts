import { describe, expect, it } from '@jest/globals';
import type { RedisClient } from '../redis/redis.module.js';
import { RedisRateLimitStorage } from './redis-rate-limit.storage.js';

/** Records the script calls; answers NOSCRIPT to EVALSHA until EVAL has loaded the script. */
class FakeRedis {
  readonly calls: Array<{ command: string; args: unknown[] }> = [];
  private loaded = false;
  constructor(private readonly reply: unknown) {}

  async evalsha(...args: unknown[]) {
    this.calls.push({ command: 'evalsha', args });
    if (!this.loaded) throw new Error('NOSCRIPT No matching script. Please use EVAL.');
    return this.reply;
  }

  async eval(...args: unknown[]) {
    this.calls.push({ command: 'eval', args });
    this.loaded = true;
    return this.reply;
  }
}

const storageOn = (redis: FakeRedis) => new RedisRateLimitStorage(redis as unknown as RedisClient, 'clc:');

describe(RedisRateLimitStorage.name, () => {
  it('prefixes keys and hashes the key material, in one hash slot for hits and block', async () => {
    const redis = new FakeRedis([1, 60000, -2]);
    await storageOn(redis).increment('203.0.113.7', 60_000, 5, 60_000, 'launch');
    const [, numKeys, hitsKey, blockKey, ...argv] = redis.calls[0].args as [string, number, string, string, ...number[]];
    expect(numKeys).toBe(2);
    expect(hitsKey).toMatch(/^clc:rl:launch:\{[0-9a-f]{32}\}$/);
    expect(blockKey).toBe(`${hitsKey}:block`);
    expect(hitsKey).not.toContain('203.0.113.7');
    expect(argv).toEqual([60000, 5, 60000]);
  });

  it('gives different keys to different subjects and limits', () => {
    const storage = storageOn(new FakeRedis(null));
    const keys = new Set([
      storage.keyOf('a', 'launch'),
      storage.keyOf('b', 'launch'),
      storage.keyOf('a', 'test_connection'),
    ]);
    expect(keys.size).toBe(3);
    expect(storage.keyOf('a', 'launch')).toBe(storage.keyOf('a', 'launch'));
  });

  it('loads the script with EVAL when Redis does not know it, then uses EVALSHA', async () => {
    const redis = new FakeRedis([1, 60000, -2]);
    const storage = storageOn(redis);
    await storage.increment('k', 60_000, 5, 60_000, 'launch');
    await storage.increment('k', 60_000, 5, 60_000, 'launch');
    expect(redis.calls.map((c) => c.command)).toEqual(['evalsha', 'eval', 'evalsha']);
    expect(redis.calls[0].args[0]).toMatch(/^[0-9a-f]{40}$/);
    expect(redis.calls[1].args[0]).toContain("redis.call('INCR', KEYS[1])");
  });

  it('turns the reply into a throttler record', async () => {
    await expect(storageOn(new FakeRedis([6, 41_200, 59_001])).increment('k', 60_000, 5, 60_000, 'launch')).resolves.toEqual({
      totalHits: 6,
      timeToExpire: 42,
      isBlocked: true,
      timeToBlockExpire: 60,
    });
    await expect(storageOn(new FakeRedis([3, 1000, -2])).increment('k', 60_000, 5, 60_000, 'launch')).resolves.toMatchObject({
      isBlocked: false,
      timeToBlockExpire: 0,
    });
  });

  it('passes other Redis errors on', async () => {
    const redis = { evalsha: async () => Promise.reject(new Error('Connection is closed.')) } as unknown as RedisClient;
    await expect(new RedisRateLimitStorage(redis, 'clc:').decrement('k', 'launch')).rejects.toThrow('Connection is closed.');
  });
});
