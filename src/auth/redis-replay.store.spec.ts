import { describe, expect, it } from '@jest/globals';
import { PageException } from '../common/page.exception.js';
import type { AppConfig } from '../config/index.js';
import type { RedisClient } from '../redis/redis.module.js';
import { RedisReplayStore } from './redis-replay.store.js';

const config = { redis: { keyPrefix: 'pre:' } } as AppConfig;

describe(RedisReplayStore.name, () => {
  it('claims with SET key 1 EX ttl NX under a hashed, prefixed key', async () => {
    const calls: unknown[][] = [];
    let reply: 'OK' | null = 'OK';
    const redis = { set: async (...args: unknown[]) => (calls.push(args), reply) } as unknown as RedisClient;
    const store = new RedisReplayStore(redis, config);
    const longKey = `acme:${'n'.repeat(5000)}\u0000\n`;
    await expect(store.claim(longKey, 600)).resolves.toBe(true);
    reply = null;
    await expect(store.claim(longKey, 600)).resolves.toBe(false);
    expect(calls[0]).toEqual([expect.stringMatching(/^pre:nonce:[0-9a-f]{64}$/), '1', 'EX', 600, 'NX']);
    expect(calls[1][0]).toBe(calls[0][0]);
    expect(store.keyOf('acme:a')).not.toBe(store.keyOf('acme:b'));
  });

  it('rounds a fractional TTL up to whole seconds, at least one', async () => {
    const ttls: unknown[] = [];
    const redis = { set: async (...args: unknown[]) => (ttls.push(args[3]), 'OK') } as unknown as RedisClient;
    const store = new RedisReplayStore(redis, config);
    await store.claim('a', 0.2);
    await store.claim('b', 59.5);
    expect(ttls).toEqual([1, 60]);
  });

  it('turns a Redis failure into a 503 page, not a claim', async () => {
    const redis = { set: async () => Promise.reject(new Error("Stream isn't writeable")) } as unknown as RedisClient;
    const error = await new RedisReplayStore(redis, config).claim('a', 60).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PageException);
    expect((error as PageException).getStatus()).toBe(503);
    expect((error as PageException).page.detail).toContain("Stream isn't writeable");
    expect((error as PageException).page.message).not.toContain('Redis');
  });
});
