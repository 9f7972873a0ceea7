import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { AppConfig } from '../config/index.js';
import type { RedisClient } from '../redis/redis.module.js';
import { ConcurError } from './concur.types.js';
import { SecretBox } from './secret-box.js';
import { type FreshToken, MemoryTokenCache, parseStoredToken, RedisTokenCache, redisTokenCacheTiming } from './token-cache.js';
import { sha256Hex } from '../common/secret-compare.js';

const later = () => Date.now() + 60_000;

describe(MemoryTokenCache.name, () => {
  it('serves the cached token until its refreshAt, then refreshes', async () => {
    const start = Date.now();
    let now = start;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const cache = new MemoryTokenCache();
    const refresh = jest.fn(async (): Promise<FreshToken> => ({ accessToken: `t${refresh.mock.calls.length}`, refreshAt: now + 1000 }));
    expect(await cache.get('acme', refresh)).toEqual({ accessToken: 't1' });
    now = start + 999;
    expect(await cache.get('acme', refresh)).toEqual({ accessToken: 't1' });
    now = start + 1000;
    expect(await cache.get('acme', refresh)).toEqual({ accessToken: 't2' });
    expect(refresh).toHaveBeenCalledTimes(2);
    jest.restoreAllMocks();
  });

  it('shares one refresh among concurrent callers, and tries again after a failure', async () => {
    const cache = new MemoryTokenCache();
    let calls = 0;
    const failing = async (): Promise<FreshToken> => {
      calls++;
      throw new ConcurError('unavailable', 'down');
    };
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => cache.get('acme', failing)));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(calls).toBe(1);
    await expect(cache.get('acme', async () => ({ accessToken: 'ok', refreshAt: later() }))).resolves.toEqual({ accessToken: 'ok' });
  });

  it('invalidates only the rejected token when one is named', async () => {
    const cache = new MemoryTokenCache();
    await cache.get('acme', async () => ({ accessToken: 'a1', refreshAt: later() }));
    await cache.invalidate('acme', 'older');
    await expect(cache.get('acme', async () => ({ accessToken: 'a2', refreshAt: later() }))).resolves.toEqual({ accessToken: 'a1' });
    await cache.invalidate('acme', 'a1');
    await expect(cache.get('acme', async () => ({ accessToken: 'a2', refreshAt: later() }))).resolves.toEqual({ accessToken: 'a2' });
    await cache.invalidate('acme');
    await expect(cache.get('acme', async () => ({ accessToken: 'a3', refreshAt: later() }))).resolves.toEqual({ accessToken: 'a3' });
  });
});

describe(redisTokenCacheTiming.name, () => {
  it('holds the lock for every attempt the timeouts allow plus a margin, and waits longer than the lock', () => {
    const config = new AppConfig();
    config.concur.timeoutMs = 2000;
    config.concur.maxRetries = 2;
    const timing = redisTokenCacheTiming(config);
    expect(timing.lockMs).toBeGreaterThan(6000);
    expect(timing.maxWaitMs).toBeGreaterThan(timing.lockMs);
    expect(timing.pollMs).toBeGreaterThanOrEqual(50);
    expect(timing.pollMs).toBeLessThanOrEqual(100);
  });
});

describe(parseStoredToken.name, () => {
  it('reads a stored entry and refuses damaged ones', () => {
    expect(parseStoredToken(JSON.stringify({ sealed: 's', sha256: 'h', refreshAt: 5, extra: 1 }))).toEqual({ sealed: 's', sha256: 'h', refreshAt: 5 });
    for (const raw of ['', '{', 'null', '"x"', JSON.stringify({ sealed: 's', sha256: 'h' }), JSON.stringify({ sealed: 1, sha256: 'h', refreshAt: 5 })]) {
      expect(parseStoredToken(raw)).toBeUndefined();
    }
  });
});

/** The ioredis calls the Redis cache makes, over a map; the two Lua scripts are recognised by their text. */
class FakeRedis {
  readonly values = new Map<string, string>();
  failing = false;
  private check() {
    if (this.failing) throw new Error('Connection is closed.');
  }
  async get(key: string) {
    this.check();
    return this.values.get(key) ?? null;
  }
  async mget(...keys: string[]) {
    this.check();
    return keys.map((k) => this.values.get(k) ?? null);
  }
  async set(key: string, value: string, ...options: unknown[]) {
    this.check();
    if (options.includes('NX') && this.values.has(key)) return null;
    this.values.set(key, value);
    return 'OK';
  }
  async del(key: string) {
    this.check();
    return this.values.delete(key) ? 1 : 0;
  }
  async eval(script: string, _n: number, key: string, arg: string) {
    this.check();
    const current = this.values.get(key);
    if (current === undefined) return 0;
    const matches = script.includes('cjson') ? (JSON.parse(current) as { sha256: string }).sha256 === arg : current === arg;
    return matches ? Number(this.values.delete(key)) : 0;
  }
}

describe(RedisTokenCache.name, () => {
  let redis: FakeRedis;
  let config: AppConfig;
  let box: SecretBox;

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    redis = new FakeRedis();
    config = new AppConfig();
    config.redis.keyPrefix = 'pre:';
    config.security.encryptionKey = randomBytes(32).toString('base64');
    box = new SecretBox(config);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  const cacheOf = () => new RedisTokenCache(redis as unknown as RedisClient, config, box, { pollMs: 5, maxWaitMs: 200 });

  it('stores the token sealed with its sha256 under the prefix, and releases the lock', async () => {
    const cache = cacheOf();
    await expect(cache.get('acme', async () => ({ accessToken: 'plain-token', refreshAt: later() }))).resolves.toEqual({ accessToken: 'plain-token' });
    expect([...redis.values.keys()]).toEqual(['pre:concur-token:acme']);
    const raw = redis.values.get('pre:concur-token:acme')!;
    expect(raw).not.toContain('plain-token');
    const stored = parseStoredToken(raw)!;
    expect(box.open(stored.sealed)).toBe('plain-token');
    expect(stored.sha256).toBe(sha256Hex('plain-token'));
  });

  it("keeps the token's geolocation with it, for every replica", async () => {
    const cache = cacheOf();
    const fresh = { accessToken: 'geo-token', refreshAt: later(), geolocation: 'https://eu2.api.concursolutions.com' };
    await expect(cache.get('acme', async () => fresh)).resolves.toEqual({ accessToken: 'geo-token', geolocation: 'https://eu2.api.concursolutions.com' });
    await expect(cacheOf().get('acme', async () => ({ accessToken: 'other', refreshAt: later() }))).resolves.toEqual({
      accessToken: 'geo-token',
      geolocation: 'https://eu2.api.concursolutions.com',
    });
  });

  it('releases the lock when the refresh fails', async () => {
    const cache = cacheOf();
    await expect(cache.get('acme', async () => Promise.reject(new ConcurError('auth', 'refused')))).rejects.toMatchObject({ kind: 'auth' });
    expect(redis.values.size).toBe(0);
  });

  it('waits while another holder has the lock, then gives up with unavailable', async () => {
    redis.values.set('pre:concur-token-lock:acme', 'someone-else');
    const refresh = jest.fn(async (): Promise<FreshToken> => ({ accessToken: 't', refreshAt: later() }));
    await expect(cacheOf().get('acme', refresh)).rejects.toMatchObject({ kind: 'unavailable' });
    expect(refresh).not.toHaveBeenCalled();
  });

  it('takes the token another holder stored while it waited', async () => {
    redis.values.set('pre:concur-token-lock:acme', 'someone-else');
    const other = cacheOf();
    const waiting = cacheOf().get('acme', async () => ({ accessToken: 'mine', refreshAt: later() }));
    setTimeout(() => {
      const stored = { sealed: box.seal('theirs'), sha256: sha256Hex('theirs'), refreshAt: later() };
      redis.values.set(other.tokenKey('acme'), JSON.stringify(stored));
    }, 20);
    await expect(waiting).resolves.toEqual({ accessToken: 'theirs' });
  });

  it('does not cache a token already due', async () => {
    await cacheOf().get('acme', async () => ({ accessToken: 't', refreshAt: Date.now() }));
    expect(redis.values.size).toBe(0);
  });

  it('turns Redis failures into unavailable ConcurErrors without calling Concur', async () => {
    redis.failing = true;
    const refresh = jest.fn(async (): Promise<FreshToken> => ({ accessToken: 't', refreshAt: later() }));
    const error = await cacheOf().get('acme', refresh).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurError);
    expect(error).toMatchObject({ kind: 'unavailable', source: 'shared-store', message: expect.stringContaining('Redis') });
    expect(refresh).not.toHaveBeenCalled();
    await expect(cacheOf().invalidate('acme', 't')).rejects.toMatchObject({ kind: 'unavailable' });
  });
});
