import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import request from 'supertest';
import { AuditorSessionStore } from '../../src/audit/access/auditor-session.store.js';
import { RedisAuditorSessionStore } from '../../src/audit/access/redis-auditor-session.store.js';
import { csrfOf, startApp, type Harness } from '../harness.js';
import { describeWith, REDIS_TEST_URL, uniqueRedisPrefix } from './services.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describeWith(['redis'], 'Redis auditor session store', () => {
  let one: Redis;
  let two: Redis;
  let prefix: string;

  beforeAll(async () => {
    one = new Redis(REDIS_TEST_URL);
    two = new Redis(REDIS_TEST_URL);
    prefix = uniqueRedisPrefix();
  });

  afterAll(async () => {
    const keys = await one.keys(`${prefix}*`);
    if (keys.length) await one.del(...keys);
    await Promise.all([one.quit(), two.quit()]);
  });

  const sessionOf = (ttlMs: number) => {
    const now = Date.now();
    return { username: 'jane', via: 'password' as const, csrfToken: 'csrf-1', createdAt: now, expiresAt: now + ttlMs };
  };

  it('shares sessions between two clients, under the prefix and a hash of the id, expiring with the session', async () => {
    const a = new RedisAuditorSessionStore(one, prefix);
    const b = new RedisAuditorSessionStore(two, prefix);
    const id = randomBytes(32).toString('base64url');
    const session = sessionOf(60_000);
    await a.set(id, session);
    await expect(b.get(id)).resolves.toEqual(session);
    const keys = await one.keys(`${prefix}*`);
    expect(keys).toEqual([a.keyOf(id)]);
    expect(keys[0]).toMatch(new RegExp(`^${prefix}audit-session:[0-9a-f]{64}$`));
    expect(keys[0]).not.toContain(id);
    const ttl = await one.pttl(keys[0]);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await b.delete(id);
    await expect(a.get(id)).resolves.toBeUndefined();
  });

  it('lets Redis forget a session when it expires', async () => {
    const store = new RedisAuditorSessionStore(one, prefix);
    await store.set('short', sessionOf(200));
    await expect(store.get('short')).resolves.toBeDefined();
    await sleep(300);
    expect(await one.exists(store.keyOf('short'))).toBe(0);
    await expect(store.get('short')).resolves.toBeUndefined();
  });
});

describeWith(['redis'], 'auditor sign-in on two replicas sharing one Redis', () => {
  let a: Harness;
  let b: Harness;

  beforeAll(async () => {
    const env = { REDIS_URL: REDIS_TEST_URL, CONNECTOR_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    const overrides = { redis: { keyPrefix: uniqueRedisPrefix() }, audit: { signIn: { maxFailures: 3, lockoutSeconds: 60 } } };
    a = await startApp(overrides, env);
    b = await startApp(overrides, env);
  });

  afterAll(async () => {
    const redis = new Redis(REDIS_TEST_URL);
    const keys = await redis.keys(`${a.config.redis.keyPrefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
    await Promise.all([a.close(), b.close()]);
  });

  async function signIn(h: Harness, username: string, password: string) {
    const agent = request.agent(h.origin);
    const csrf = csrfOf((await agent.get('/audit/sign-in').expect(200)).text);
    return agent.post('/audit/sign-in').type('form').send({ username, password, csrf });
  }

  it('uses the Redis store on both replicas', () => {
    expect(a.app.get(AuditorSessionStore)).toBeInstanceOf(RedisAuditorSessionStore);
  });

  it('a session opened on one replica works on the other, and a sign-out there ends it everywhere', async () => {
    const res = await signIn(a, 'auditor', 'auditor-demo');
    expect(res.status).toBe(303);
    const cookie = String(res.headers['set-cookie']).match(/clc_audit=([^;]+)/)![1];
    const me = await b.http.get('/api/audit/me').set('Cookie', `clc_audit=${cookie}`).expect(200);
    expect(me.body).toEqual({ username: 'auditor', via: 'session', groups: [] });

    const store = b.app.get(AuditorSessionStore);
    const { csrfToken } = (await store.get(cookie))!;
    await b.http.post('/audit/sign-out').set('Cookie', `clc_audit=${cookie}`).type('form').send({ csrf: csrfToken }).expect(303);
    await a.http.get('/api/audit/me').set('Cookie', `clc_audit=${cookie}`).expect(401);
  });

  it('locks a user name on every replica once the failures on both reach maxFailures', async () => {
    expect((await signIn(a, 'auditor', 'wrong-1')).status).toBe(401);
    expect((await signIn(b, 'Auditor', 'wrong-2')).status).toBe(401);
    expect((await signIn(a, 'AUDITOR', 'wrong-3')).status).toBe(401);
    expect((await signIn(b, 'auditor', 'auditor-demo')).status).toBe(429);
    await a.http.get('/api/audit/me').set('Authorization', basic('auditor', 'auditor-demo')).expect(429);
  });
});
