import { createHash } from 'node:crypto';
import { jest } from '@jest/globals';
import { describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { PageException } from '../../common/page.exception.js';
import type { RedisClient } from '../../redis/redis.module.js';
import { type AuditorSession, MemoryAuditorSessionStore, sessionKeyOf } from './auditor-session.store.js';
import { parseAuditorSession, RedisAuditorSessionStore } from './redis-auditor-session.store.js';

const sessionOf = (expiresAt: number, username = 'jane'): AuditorSession => ({
  username,
  via: 'password',
  csrfToken: 'csrf-1',
  createdAt: expiresAt - 60_000,
  expiresAt,
});

describe(MemoryAuditorSessionStore.name, () => {
  it('keeps a session until it expires, then forgets it', async () => {
    let now = 1_000_000;
    const store = new MemoryAuditorSessionStore(10, () => now);
    await store.set('id-1', sessionOf(now + 1000));
    await expect(store.get('id-1')).resolves.toEqual(sessionOf(now + 1000));
    await expect(store.get('id-2')).resolves.toBeUndefined();
    now += 1000;
    await expect(store.get('id-1')).resolves.toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('deletes a session', async () => {
    const store = new MemoryAuditorSessionStore();
    await store.set('id-1', sessionOf(Date.now() + 60_000));
    await store.delete('id-1');
    await expect(store.get('id-1')).resolves.toBeUndefined();
  });

  it('returns copies: changing one does not change the stored session', async () => {
    const store = new MemoryAuditorSessionStore();
    const session = sessionOf(Date.now() + 60_000);
    await store.set('id-1', session);
    session.username = 'mallory';
    (await store.get('id-1'))!.username = 'mallory';
    await expect(store.get('id-1')).resolves.toMatchObject({ username: 'jane' });
  });

  it('when full, drops expired sessions first, then the oldest', async () => {
    let now = 1_000_000;
    const store = new MemoryAuditorSessionStore(2, () => now);
    await store.set('old', sessionOf(now + 10));
    await store.set('live', sessionOf(now + 60_000));
    now += 20;
    await store.set('new', sessionOf(now + 60_000));
    await expect(store.get('live')).resolves.toBeDefined();
    await store.set('newer', sessionOf(now + 60_000));
    expect(store.size).toBe(2);
    await expect(store.get('live')).resolves.toBeUndefined();
    await expect(store.get('newer')).resolves.toBeDefined();
  });
});

/** Enough of ioredis for the store: strings with a PX expiry. */
class FakeRedis {
  readonly data = new Map<string, { value: string; px: number }>();
  failing = false;
  async get(key: string) {
    if (this.failing) throw new Error('Connection is closed.');
    return this.data.get(key)?.value ?? null;
  }
  async set(key: string, value: string, _px: 'PX', ms: number) {
    if (this.failing) throw new Error('Connection is closed.');
    this.data.set(key, { value, px: ms });
    return 'OK';
  }
  async del(...keys: string[]) {
    if (this.failing) throw new Error('Connection is closed.');
    keys.forEach((k) => this.data.delete(k));
    return keys.length;
  }
}

describe(RedisAuditorSessionStore.name, () => {
  const storeOn = (redis: FakeRedis) => new RedisAuditorSessionStore(redis as unknown as RedisClient, 'clc:');

  it('stores JSON under the prefix and the sha256 of the id, expiring with the session', async () => {
    const redis = new FakeRedis();
    const session = sessionOf(Date.now() + 60_000);
    await storeOn(redis).set('raw-session-id', session);
    const sha = createHash('sha256').update('raw-session-id').digest('hex');
    expect(sessionKeyOf('raw-session-id')).toBe(sha);
    expect([...redis.data.keys()]).toEqual([`clc:audit-session:${sha}`]);
    const stored = redis.data.get(`clc:audit-session:${sha}`)!;
    expect(stored.px).toBeGreaterThan(59_000);
    expect(stored.px).toBeLessThanOrEqual(60_000);
    expect(stored.value).not.toContain('raw-session-id');
    await expect(storeOn(redis).get('raw-session-id')).resolves.toEqual(session);
  });

  it('deletes, and does not store an expired session', async () => {
    const redis = new FakeRedis();
    const store = storeOn(redis);
    await store.set('a', sessionOf(Date.now() + 60_000));
    await store.delete('a');
    await store.set('b', sessionOf(Date.now() - 1));
    expect(redis.data.size).toBe(0);
  });

  it('reads a session past its expiresAt, or damaged JSON, as none', async () => {
    const redis = new FakeRedis();
    const store = storeOn(redis);
    redis.data.set(store.keyOf('late'), { value: JSON.stringify(sessionOf(Date.now() - 5)), px: 1 });
    await expect(store.get('late')).resolves.toBeUndefined();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    redis.data.set(store.keyOf('bad'), { value: '{"username":', px: 1000 });
    await expect(store.get('bad')).resolves.toBeUndefined();
    expect(warn).toHaveBeenCalledWith('a stored auditor session is not readable; treating it as unknown');
    warn.mockRestore();
  });

  it('turns a Redis failure into the 503 of an unavailable shared store', async () => {
    const redis = new FakeRedis();
    redis.failing = true;
    for (const work of [() => storeOn(redis).get('a'), () => storeOn(redis).set('a', sessionOf(Date.now() + 1000)), () => storeOn(redis).delete('a')]) {
      const error = (await work().catch((e: unknown) => e)) as PageException;
      expect(error).toBeInstanceOf(PageException);
      expect(error.getStatus()).toBe(503);
      expect(error.page.detail).toMatch(/^Redis auditor session (read|write|delete) failed: Connection is closed\.$/);
    }
  });
});

describe('parseAuditorSession', () => {
  it('takes only the known fields of a complete session', () => {
    const session = sessionOf(123_456);
    expect(parseAuditorSession(JSON.stringify({ ...session, extra: 'x' }))).toEqual(session);
  });

  it.each([
    ['not JSON', 'nope'],
    ['null', 'null'],
    ['another via', JSON.stringify({ ...sessionOf(1), via: 'basic' })],
    ['no csrf token', JSON.stringify({ ...sessionOf(1), csrfToken: undefined })],
    ['a string expiry', JSON.stringify({ ...sessionOf(1), expiresAt: '1' })],
  ])('refuses %s', (_label, raw) => {
    expect(parseAuditorSession(raw)).toBeUndefined();
  });
});
