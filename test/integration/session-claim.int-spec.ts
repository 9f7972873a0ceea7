import { Redis } from 'ioredis';
import type { LaunchSession } from '../../src/auth/launch.types.js';
import { RedisSessionStore } from '../../src/auth/redis-session.store.js';
import { AppConfig } from '../../src/config/index.js';
import { describeWith, REDIS_TEST_URL, uniqueRedisPrefix } from './services.js';
import { sessionOf } from '../../src/auth/session.fixture.js';


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The update claim of launch sessions in a real Redis, from two clients as two replicas would. */
describeWith(['redis'], 'Redis session store: the update claim', () => {
  let prefix: string;
  let one: Redis;
  let two: Redis;
  let a: RedisSessionStore;
  let b: RedisSessionStore;

  beforeAll(async () => {
    prefix = uniqueRedisPrefix();
    const config = new AppConfig();
    config.redis.keyPrefix = prefix;
    one = new Redis(REDIS_TEST_URL, { lazyConnect: true });
    two = new Redis(REDIS_TEST_URL, { lazyConnect: true });
    await Promise.all([one.connect(), two.connect()]);
    a = new RedisSessionStore(one, config);
    b = new RedisSessionStore(two, config);
  });

  afterAll(async () => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await one.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      keys.push(...found);
      cursor = next;
    } while (cursor !== '0');
    if (keys.length) await one.del(...keys);
    await Promise.all([one.quit(), two.quit()]);
  });

  it('gives exactly one winner among 50 concurrent claims from two clients, for the session lifetime', async () => {
    const session = sessionOf('race', 30_000);
    await a.set(session);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).claimUpdate('race', session.expiresAt)));
    expect(results.filter((t) => t !== undefined)).toHaveLength(1);
    const key = a.updateKeyOf('race');
    expect(key.startsWith(`${prefix}update:`)).toBe(true);
    expect(key).not.toContain('race');
    const ttl = await one.pttl(key);
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
    await expect(b.updateState('race')).resolves.toEqual({ state: 'claimed' });
  });

  it("releases only with the holder's token; then another client can claim", async () => {
    const session = sessionOf('release');
    await a.set(session);
    const token = (await a.claimUpdate('release', session.expiresAt))!;
    await expect(b.releaseUpdate('release', 'f'.repeat(32))).resolves.toBe(false);
    await expect(b.claimUpdate('release', session.expiresAt)).resolves.toBeUndefined();
    await expect(b.releaseUpdate('release', token)).resolves.toBe(true);
    await expect(a.updateState('release')).resolves.toEqual({ state: 'free' });
    await expect(b.claimUpdate('release', session.expiresAt)).resolves.toMatch(/^[0-9a-f]{32}$/);
  });

  it('completes with the token, keeps the TTL, and done survives a later set() of a stale copy', async () => {
    const session = sessionOf('done', 30_000);
    await a.set(session);
    const stale = (await b.get('done'))!;
    const token = (await a.claimUpdate('done', session.expiresAt))!;
    await expect(b.completeUpdate('done', 'f'.repeat(32), { value: 'PRJ-9', at: 1 })).resolves.toBe(false);
    await expect(a.completeUpdate('done', token, { value: 'PRJ-1', at: 2 })).resolves.toBe(true);
    const ttl = await one.pttl(a.updateKeyOf('done'));
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);

    stale.itemView = { level: 'ENTRY', title: 'Taxi', amount: 12.5, currency: 'EUR', date: null, fieldValue: null, readAt: Date.now() };
    await b.set(stale);
    await expect(a.get('done')).resolves.toMatchObject({ done: { value: 'PRJ-1', at: 2 }, itemView: { title: 'Taxi' } });
    await expect(b.updateState('done')).resolves.toEqual({ state: 'done', done: { value: 'PRJ-1', at: 2 } });
    // Done is final: no new claim, and the old token neither releases nor rewrites it.
    await expect(b.claimUpdate('done', session.expiresAt)).resolves.toBeUndefined();
    await expect(a.releaseUpdate('done', token)).resolves.toBe(false);
    await expect(a.completeUpdate('done', token, { value: 'PRJ-2', at: 3 })).resolves.toBe(false);
    await expect(b.get('done')).resolves.toMatchObject({ done: { value: 'PRJ-1' } });
  });

  it('expires the claim with the session, and deletes it with the session', async () => {
    const short = sessionOf('short', 300);
    await a.set(short);
    await a.claimUpdate('short', short.expiresAt);
    await sleep(400);
    expect(await one.exists(a.updateKeyOf('short'))).toBe(0);

    const session = sessionOf('deleted');
    await a.set(session);
    await a.claimUpdate('deleted', session.expiresAt);
    await b.delete('deleted');
    expect(await one.exists(a.keyOf('deleted'), a.updateKeyOf('deleted'))).toBe(0);
  });
});
