import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startApp, type Harness } from '../harness.js';
import { describeWith, REDIS_TEST_URL, uniqueRedisPrefix } from './services.js';

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describeWith(['redis'], 'lockouts of two replicas on one Redis: per /64, apart from traffic, expiring', () => {
  const prefix = uniqueRedisPrefix();
  let first: Harness;
  let second: Harness;
  let redis: Redis;

  beforeAll(async () => {
    const overrides = {
      redis: { keyPrefix: prefix },
      server: { trustProxy: 1 },
      metrics: { username: 'prometheus', password: 'scrape-secret-1' },
      audit: { signIn: { maxFailuresPerAddress: 2, lockoutSeconds: 120 } },
      rateLimit: { testConnection: { limit: 50, windowSeconds: 60 } },
    };
    const env = { REDIS_URL: REDIS_TEST_URL, CONNECTOR_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    first = await startApp(overrides, env);
    second = await startApp(overrides, env);
    redis = new Redis(REDIS_TEST_URL);
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    await second?.close();
    await first?.close();
  });

  const scrape = (h: Harness, from: string, pass: string) =>
    h.http.get('/metrics').set('X-Forwarded-For', from).set('Authorization', basic('prometheus', pass));

  it('counts /metrics failures of one IPv6 /64 together on both replicas, an IPv4-mapped address as its IPv4 one', async () => {
    await scrape(first, '2001:db8:5:5::1', 'guess-1').expect(401);
    await scrape(second, '2001:db8:5:5:aaaa::2', 'guess-2').expect(401);
    const locked = await scrape(first, '2001:db8:5:5:ffff::9', 'scrape-secret-1').expect(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(100);
    await scrape(second, '2001:db8:5:6::1', 'scrape-secret-1').expect(200);

    await scrape(first, '::ffff:203.0.113.4', 'guess-1').expect(401);
    await scrape(second, '203.0.113.4', 'guess-2').expect(401);
    await scrape(first, '::ffff:cb00:7104', 'scrape-secret-1').expect(429);
  });

  it('keeps failure counters under names of their own, every key expiring', async () => {
    await first.http.get('/system/v1.0/testconnection').set('X-Forwarded-For', '198.51.100.3').expect(401);
    const keys = await redis.keys(`${prefix}rl:*`);
    const failures = keys.filter((k) => k.startsWith(`${prefix}rl:failed_metrics_auth:`));
    const traffic = keys.filter((k) => k.startsWith(`${prefix}rl:test_connection:`));
    // Three /64 or IPv4 subjects (the 2001:db8:5:5 and 203.0.113.4 ones locked, so with a block key) and 2001:db8:5:6.
    expect(failures).toHaveLength(5);
    expect(traffic).toHaveLength(1);
    for (const key of keys) expect(await redis.pttl(key)).toBeGreaterThan(0);
    // (Keys hold hex HMACs, which may contain "2001"; an address would come with its separators.)
    expect(keys.join()).not.toMatch(/2001:db8|203\.0\.113|198\.51\.100/);
  });
});
