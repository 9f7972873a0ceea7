import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { AppConfig } from '../../src/config/index.js';
import { REDIS, type RedisClient } from '../../src/redis/redis.module.js';
import { RateLimitKeys } from '../../src/throttle/rate-limit-keys.js';
import { RateLimitStorage } from '../../src/throttle/rate-limit.storage.js';
import { RedisRateLimitStorage } from '../../src/throttle/redis-rate-limit.storage.js';
import { RateLimiter } from '../../src/throttle/rate-limiter.service.js';
import { referenceOf, sandboxIds, signedUrl, startApp, v4Params, type Harness } from '../harness.js';
import { describeWith, REDIS_TEST_URL, uniqueRedisPrefix } from './services.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeWith(['redis'], 'Redis rate limit storage', () => {
  let one: Redis;
  let two: Redis;
  let prefix: string;
  let a: RedisRateLimitStorage;
  let b: RedisRateLimitStorage;

  beforeAll(async () => {
    one = new Redis(REDIS_TEST_URL);
    two = new Redis(REDIS_TEST_URL);
  });

  beforeEach(() => {
    prefix = uniqueRedisPrefix();
    // Two replicas: two key derivations from one encryption key.
    const config = { security: { encryptionKey: randomBytes(32).toString('base64') } } as AppConfig;
    a = new RedisRateLimitStorage(one, prefix, RateLimitKeys.fromConfig(config));
    b = new RedisRateLimitStorage(two, prefix, RateLimitKeys.fromConfig(config));
  });

  afterEach(async () => {
    const keys = await one.keys(`${prefix}*`);
    if (keys.length > 0) await one.del(...keys);
  });

  afterAll(async () => {
    await one.quit();
    await two.quit();
  });

  it('shares counts between two instances on two clients: the 6th hit of a limit of 5 is blocked on either', async () => {
    const hit = (s: RedisRateLimitStorage) => s.increment('203.0.113.7', 60_000, 5, 30_000, 'launch');
    for (let i = 1; i <= 5; i++) {
      await expect(hit(i % 2 ? a : b)).resolves.toMatchObject({ totalHits: i, isBlocked: false, timeToBlockExpire: 0 });
    }
    const sixth = await hit(b);
    expect(sixth).toMatchObject({ totalHits: 6, isBlocked: true });
    expect(sixth.timeToBlockExpire).toBeGreaterThanOrEqual(29);
    expect(sixth.timeToBlockExpire).toBeLessThanOrEqual(30);
    expect(sixth.timeToExpire).toBeGreaterThanOrEqual(59);
    expect(sixth.timeToExpire).toBeLessThanOrEqual(60);
    await expect(hit(a)).resolves.toMatchObject({ totalHits: 7, isBlocked: true });
    await expect(a.increment('203.0.113.8', 60_000, 5, 30_000, 'launch')).resolves.toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('keeps its keys under the prefix, with the key material hashed, and expiring', async () => {
    await a.increment('203.0.113.7', 60_000, 1, 30_000, 'launch');
    await a.increment('203.0.113.7', 60_000, 1, 30_000, 'launch');
    const keys = (await one.keys(`${prefix}*`)).sort();
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(new RegExp(`^${prefix}rl:launch:\\{[0-9a-f]{32}\\}$`));
    expect(keys[1]).toBe(`${keys[0]}:block`);
    expect(keys.join()).not.toContain('203.0.113.7');
    for (const key of keys) {
      const ttl = await one.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
  });

  it('lifts a block when it expires', async () => {
    const hit = () => a.increment('k', 300, 1, 300, 'launch');
    await expect(hit()).resolves.toMatchObject({ isBlocked: false });
    await expect(hit()).resolves.toMatchObject({ isBlocked: true, timeToBlockExpire: 1 });
    await sleep(450);
    await expect(hit()).resolves.toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('with blockDuration 0 refuses until the window ends', async () => {
    const hit = () => b.increment('k', 400, 2, 0, 'failed_test_connection');
    await hit();
    await hit();
    await expect(hit()).resolves.toMatchObject({ totalHits: 3, isBlocked: true, timeToBlockExpire: 1 });
    expect(await one.exists(`${a.keyOf('k', 'failed_test_connection')}:block`)).toBe(0);
    await sleep(550);
    await expect(hit()).resolves.toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('counts 100 concurrent increments on two clients exactly', async () => {
    const records = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).increment('burst', 60_000, 1000, 60_000, 'launch')),
    );
    const hits = records.map((r) => r.totalHits).sort((x, y) => x - y);
    expect(hits).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(records.every((r) => !r.isBlocked)).toBe(true);
    expect(Number(await one.get(a.keyOf('burst', 'launch')))).toBe(100);
  });

  it('decrement takes back a hit, keeps the window, and never goes below zero or creates a key', async () => {
    await a.increment('t', 60_000, 5, 0, 'failed_test_connection');
    await a.increment('t', 60_000, 5, 0, 'failed_test_connection');
    const key = a.keyOf('t', 'failed_test_connection');
    await b.decrement('t', 'failed_test_connection');
    expect(await one.get(key)).toBe('1');
    expect(await one.pttl(key)).toBeGreaterThan(0);
    await b.decrement('t', 'failed_test_connection');
    await b.decrement('t', 'failed_test_connection');
    expect(await one.get(key)).toBe('0');
    await a.decrement('never-seen', 'failed_test_connection');
    expect(await one.exists(a.keyOf('never-seen', 'failed_test_connection'))).toBe(0);
  });

  it('lets no more than the limit of concurrent failed-login attempts through, across replicas', async () => {
    const config = {
      rateLimit: {
        enabled: true,
        launch: { limit: 60, windowSeconds: 60 },
        testConnection: { limit: 30, windowSeconds: 60 },
        failedTestConnection: { limit: 3, windowSeconds: 60 },
      },
    } as AppConfig;
    const limiters = [new RateLimiter(a, config), new RateLimiter(b, config)];
    const verdicts = await Promise.all(Array.from({ length: 40 }, (_, i) => limiters[i % 2].hit('failed_test_connection', 'acme')));
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(3);
    for (const v of verdicts.filter((v) => !v.allowed)) {
      expect(v.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(v.retryAfterSeconds).toBeLessThanOrEqual(60);
    }
  });
});

describeWith(['redis'], 'rate limits of two replicas on one Redis', () => {
  let first: Harness;
  let second: Harness;
  const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

  beforeAll(async () => {
    const overrides = {
      redis: { keyPrefix: uniqueRedisPrefix() },
      rateLimit: { testConnection: { limit: 3, windowSeconds: 60 }, failedTestConnection: { limit: 2, windowSeconds: 60 } },
    };
    const env = { REDIS_URL: REDIS_TEST_URL, CONNECTOR_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    first = await startApp(overrides, env);
    second = await startApp(overrides, env);
  });

  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('count failed logins and calls per IP together', async () => {
    const { username, password } = first.config.tenants[0].connector;
    const testConnection = (h: Harness, pass: string) => h.http.get('/system/v1.0/testconnection').set('Authorization', basic(username, pass));
    await testConnection(first, 'wrong').expect(401);
    await testConnection(second, 'wrong').expect(401);
    const refused = await testConnection(first, password).expect(429);
    expect(refused.body.message).toMatch(/^Too many failed Test Connection logins/);
    const perIp = await testConnection(second, password).expect(429);
    expect(perIp.body.message).toMatch(/^Too many Test Connection calls from your network/);
    expect(Number(perIp.headers['retry-after'])).toBeGreaterThanOrEqual(59);
  });
});

describeWith(['redis'], 'rate limits when Redis fails', () => {
  let h: Harness;
  let redis: RedisClient;
  let prefix: string;
  const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  const TEST_CONNECTION = '/system/v1.0/testconnection';

  beforeAll(async () => {
    prefix = uniqueRedisPrefix();
    h = await startApp(
      { redis: { keyPrefix: prefix } },
      { REDIS_URL: REDIS_TEST_URL, CONNECTOR_ENCRYPTION_KEY: randomBytes(32).toString('base64') },
    );
    redis = h.app.get<RedisClient>(REDIS);
  });

  afterAll(async () => {
    if (redis.status !== 'ready') await redis.connect().catch(() => undefined);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await h?.close();
  });

  it('keeps no client IP and no username in its keys, only HMACs', async () => {
    const { username, password } = h.config.tenants[0].connector;
    const ids = await sandboxIds(h);
    await h.http.get(signedUrl(h, 4, v4Params(h, ids, 'ENTRY'))).expect(303);
    await h.http.get(TEST_CONNECTION).set('Authorization', basic(username, 'wrong')).expect(401);
    await h.http.get(TEST_CONNECTION).set('Authorization', basic('NobodyConnector', password)).expect(401);
    await h.http.get(TEST_CONNECTION).set('Authorization', basic(username, password)).expect(200);

    const keys = (await redis.keys(`${prefix}rl:*`)).sort();
    expect(keys).toHaveLength(4);
    for (const key of keys) {
      expect(key).toMatch(new RegExp(`^${prefix}rl:(launch|test_connection|failed_test_connection):\\{[0-9a-f]{32}\\}$`));
    }
    const text = keys.join('\n').toLowerCase();
    for (const secret of ['127.0.0.1', username.toLowerCase(), 'nobodyconnector', h.config.tenants[0].id]) expect(text).not.toContain(secret);
    // The launch was counted against the client IP: keyed by the app's HMAC of it.
    const storage = h.app.get(RateLimitStorage) as RedisRateLimitStorage;
    expect(keys).toContain(storage.keyOf('127.0.0.1', 'launch'));
    expect(keys).toContain(storage.keyOf('127.0.0.1', 'test_connection'));
    expect(keys).toContain(storage.keyOf(h.config.tenants[0].id, 'failed_test_connection'));
    expect(Number(await redis.get(storage.keyOf('127.0.0.1', 'test_connection')))).toBe(3);
    expect(Number(await redis.get(storage.keyOf(h.config.tenants[0].id, 'failed_test_connection')))).toBe(1);
  });

  it('answers 503 (the "briefly unavailable" page, JSON for Test Connection) with Retry-After, and lets nothing through', async () => {
    const { username, password } = h.config.tenants[0].connector;
    const ids = await sandboxIds(h);
    const launch = signedUrl(h, 4, v4Params(h, ids, 'HEADER'));
    redis.disconnect();

    const page = await h.http.get(launch).expect(503);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['retry-after']).toBe('5');
    expect(page.text).toContain('The connector is briefly unavailable');
    expect(page.text).toContain('could not reach its shared store');
    expect(page.text).not.toContain('Something went wrong');
    expect(page.text).not.toContain('Connection is closed');
    expect(referenceOf(page.text)).toBe(page.headers['x-request-id']);

    for (const credentials of [basic(username, password), basic(username, 'wrong'), basic('NobodyConnector', 'x')]) {
      const res = await h.http.get(TEST_CONNECTION).set('Authorization', credentials).expect(503);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).toEqual({
        statusCode: 503,
        error: 'The connector is briefly unavailable',
        message: 'The connector could not reach its shared store; wait 5 seconds and try again. If it keeps happening, give the correlationId to your IT support.',
        correlationId: res.headers['x-request-id'],
      });
    }

    // Back up: the refused launch did not use up its link.
    await redis.connect();
    const accepted = await h.http.get(launch).expect(303);
    expect(accepted.headers.location).toMatch(/^\/launch\/s\//);
    await h.http.get(TEST_CONNECTION).set('Authorization', basic(username, password)).expect(200);
  });
});
