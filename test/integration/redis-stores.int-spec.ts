import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RedisReplayStore } from '../../src/auth/redis-replay.store.js';
import { RedisSessionStore } from '../../src/auth/redis-session.store.js';
import type { LaunchSession } from '../../src/auth/launch.types.js';
import { AppConfig } from '../../src/config/index.js';
import { describeWith, REDIS_TEST_URL, uniqueRedisPrefix } from './services.js';
import { sessionOf as baseSessionOf } from '../../src/auth/session.fixture.js';

/** With the item as read, so the round trip covers nested objects. */
function sessionOf(id: string, ttlMs = 60_000): LaunchSession {
  const itemView = { level: 'ENTRY' as const, title: 'Taxi', amount: 12.5, currency: 'EUR', date: '2026-01-02', fieldValue: null, readAt: Date.now() };
  return baseSessionOf(id, ttlMs, { itemView });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two replicas' stores: separate ioredis clients against the same Redis and prefix. */
describeWith(['redis'], 'Redis replay and session stores', () => {
  let prefix: string;
  let one: Redis;
  let two: Redis;
  let config: AppConfig;

  beforeAll(async () => {
    prefix = uniqueRedisPrefix();
    config = new AppConfig();
    config.redis.keyPrefix = prefix;
    one = new Redis(REDIS_TEST_URL, { lazyConnect: true });
    two = new Redis(REDIS_TEST_URL, { lazyConnect: true });
    await Promise.all([one.connect(), two.connect()]);
  });

  afterAll(async () => {
    const keys = await keysOf(`${prefix}*`);
    if (keys.length) await one.del(...keys);
    await Promise.all([one.quit(), two.quit()]);
  });

  async function keysOf(pattern: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await one.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      found.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    return found;
  }

  describe('replay store', () => {
    it('claims a key once, then refuses it', async () => {
      const a = new RedisReplayStore(one, config);
      const b = new RedisReplayStore(two, config);
      await expect(a.claim('acme:nonce-1', 60)).resolves.toBe(true);
      await expect(a.claim('acme:nonce-1', 60)).resolves.toBe(false);
      await expect(b.claim('acme:nonce-1', 60)).resolves.toBe(false);
      await expect(b.claim('other:nonce-1', 60)).resolves.toBe(true);
    });

    it('gives exactly one winner among 50 concurrent claims from two clients', async () => {
      const stores = [new RedisReplayStore(one, config), new RedisReplayStore(two, config)];
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => stores[i % 2].claim('acme:race', 60)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('accepts a key again once its TTL has passed', async () => {
      const store = new RedisReplayStore(one, config);
      await expect(store.claim('acme:short', 1)).resolves.toBe(true);
      await expect(store.claim('acme:short', 1)).resolves.toBe(false);
      expect(await one.ttl(store.keyOf('acme:short'))).toBeGreaterThan(0);
      await sleep(1100);
      await expect(store.claim('acme:short', 1)).resolves.toBe(true);
    });

    it('keeps long and odd keys to a bounded hashed key', async () => {
      const store = new RedisReplayStore(one, config);
      const odd = `acme:${'x'.repeat(10_000)} \n*?[]`;
      await expect(store.claim(odd, 60)).resolves.toBe(true);
      await expect(store.claim(odd, 60)).resolves.toBe(false);
      expect(store.keyOf(odd).length).toBeLessThan(prefix.length + 80);
    });
  });

  describe('session store', () => {
    it('one client writes, the other reads, updates and deletes', async () => {
      const writer = new RedisSessionStore(one, config);
      const reader = new RedisSessionStore(two, config);
      const session = sessionOf('s-round-trip');
      await writer.set(session);
      const read = await reader.get('s-round-trip');
      expect(read).toEqual(session);
      read!.done = { value: 'PRJ-1', at: Date.now() };
      await expect(writer.get('s-round-trip')).resolves.not.toHaveProperty('done');
      await reader.set(read!);
      await expect(writer.get('s-round-trip')).resolves.toMatchObject({ done: { value: 'PRJ-1' } });
      await writer.delete('s-round-trip');
      await expect(reader.get('s-round-trip')).resolves.toBeUndefined();
    });

    it('lets Redis expire a session at its expiresAt', async () => {
      const store = new RedisSessionStore(one, config);
      await store.set(sessionOf('s-short', 300));
      const ttl = await one.pttl(store.keyOf('s-short'));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(300);
      await expect(new RedisSessionStore(two, config).get('s-short')).resolves.toBeDefined();
      await sleep(400);
      expect(await one.exists(store.keyOf('s-short'))).toBe(0);
      await expect(store.get('s-short')).resolves.toBeUndefined();
    });

    it('does not store an already expired session', async () => {
      const store = new RedisSessionStore(one, config);
      await store.set(sessionOf('s-expired', -1));
      expect(await one.exists(store.keyOf('s-expired'))).toBe(0);
    });

    it('reads damaged JSON as no session', async () => {
      jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const store = new RedisSessionStore(one, config);
      await one.set(store.keyOf('s-damaged'), '{"id":', 'PX', 60_000);
      await expect(store.get('s-damaged')).resolves.toBeUndefined();
      jest.restoreAllMocks();
    });
  });

  it('writes no key without the prefix', async () => {
    // A database of its own, so keys that other suites write meanwhile cannot blur the picture.
    const url = new URL(REDIS_TEST_URL);
    url.pathname = '/15';
    const isolated = new Redis(url.toString(), { lazyConnect: true });
    await isolated.connect();
    try {
      const all = async () => {
        const found: string[] = [];
        let cursor = '0';
        do {
          const [next, keys] = await isolated.scan(cursor, 'COUNT', 1000);
          found.push(...keys);
          cursor = next;
        } while (cursor !== '0');
        return found;
      };
      const before = new Set(await all());
      const probe = `probe-${prefix}`;
      const replay = new RedisReplayStore(isolated, config);
      const sessions = new RedisSessionStore(isolated, config);
      await replay.claim(`acme:${probe}`, 60);
      await replay.claim(`acme:${probe}`, 60);
      await sessions.set(sessionOf(probe));
      await sessions.get(probe);
      await sessions.set(sessionOf(`${probe}-2`));
      await sessions.delete(`${probe}-2`);
      const written = (await all()).filter((k) => !before.has(k));
      expect(written.sort()).toEqual([replay.keyOf(`acme:${probe}`), sessions.keyOf(probe)].sort());
      expect(written.every((k) => k.startsWith(prefix))).toBe(true);
      // Neither the raw nonce nor the session id shows in a key.
      expect(written.some((k) => k.includes(probe))).toBe(false);
      await isolated.del(...written);
    } finally {
      await isolated.quit();
    }
  });
});
