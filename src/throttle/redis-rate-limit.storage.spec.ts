import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { PageException } from '../common/page.exception.js';
import type { AppConfig } from '../config/index.js';
import type { RedisClient } from '../redis/redis.module.js';
import { RateLimitKeys } from './rate-limit-keys.js';
import { RedisRateLimitStorage } from './redis-rate-limit.storage.js';

const KEY = Buffer.alloc(32, 7).toString('base64');
const keys = RateLimitKeys.fromConfig({ security: { encryptionKey: KEY } } as AppConfig);

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

const storageOn = (redis: unknown) => new RedisRateLimitStorage(redis as RedisClient, 'clc:', keys);

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

  it('names keys by an HMAC keyed from security.encryptionKey, not by a plain hash of the IP', () => {
    const derived = createHmac('sha256', Buffer.from(KEY, 'base64')).update('rate-limit-keys').digest();
    const hmac = createHmac('sha256', derived).update('launch\n203.0.113.7').digest('hex').slice(0, 32);
    const plain = createHash('sha256').update('launch\n203.0.113.7').digest('hex').slice(0, 32);
    const key = storageOn(null).keyOf('203.0.113.7', 'launch');
    expect(key).toBe(`clc:rl:launch:{${hmac}}`);
    expect(key).not.toContain(plain);
    // Same key on every replica with the same encryption key; another key, other names.
    const other = RateLimitKeys.fromConfig({ security: { encryptionKey: Buffer.alloc(32, 8).toString('base64') } } as AppConfig);
    expect(new RedisRateLimitStorage(null as never, 'clc:', other).keyOf('203.0.113.7', 'launch')).not.toBe(key);
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

  it('turns a Redis failure into the 503 of an unavailable shared store, the Redis error for the log only', async () => {
    const redis = { evalsha: async () => Promise.reject(new Error('Connection is closed.')) };
    for (const [work, operation] of [
      [() => storageOn(redis).increment('k', 60_000, 5, 60_000, 'launch'), 'rate limit count'],
      [() => storageOn(redis).decrement('k', 'launch'), 'rate limit take-back'],
    ] as const) {
      const error = (await (work as () => Promise<unknown>)().catch((e: unknown) => e)) as PageException;
      expect(error).toBeInstanceOf(PageException);
      expect(error.getStatus()).toBe(503);
      expect(error.page.title).toBe('The connector is briefly unavailable');
      expect(error.page.message).not.toContain('Connection is closed');
      expect(error.page.detail).toBe(`Redis ${operation} failed: Connection is closed.`);
    }
  });

  it('also when loading the script fails', async () => {
    const redis = {
      evalsha: async () => Promise.reject(new Error('NOSCRIPT No matching script.')),
      eval: async () => Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false")),
    };
    const error = (await storageOn(redis).increment('k', 60_000, 5, 60_000, 'launch').catch((e: unknown) => e)) as PageException;
    expect(error).toBeInstanceOf(PageException);
    expect(error.getStatus()).toBe(503);
    expect(error.page.detail).toMatch(/^Redis rate limit count failed: Stream isn't writeable/);
  });
});
