import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { PageException } from '../common/page.exception.js';
import type { AppConfig } from '../config/index.js';
import type { RedisClient } from '../redis/redis.module.js';
import type { LaunchSession } from './launch.types.js';
import { parseSession, RedisSessionStore } from './redis-session.store.js';

function sessionOf(id: string, ttlMs = 60_000): LaunchSession {
  const now = Date.now();
  return {
    id,
    cookieHash: 'h',
    csrfToken: 'c',
    createdAt: now,
    expiresAt: now + ttlMs,
    version: 4,
    tenantId: 'sandbox',
    companyDomain: 'sandbox.example.com',
    userId: 'jane',
    reportOwnerUserId: null,
    reportOwnerEmployeeId: 'E1',
    item: { api: 'v4', level: 'ENTRY', url: 'https://x/r/1', origin: 'https://x', reportId: 'R1', expenseId: 'X1' },
    field: 'custom1',
    isMobile: false,
    languageCode: 'en',
    expenseIds: ['X1'],
  };
}

/** Enough of ioredis for the store: string keys with a PX expiry, and every call recorded. */
class FakeRedis {
  readonly values = new Map<string, { value: string; px?: number }>();
  readonly calls: unknown[][] = [];
  async get(key: string) {
    this.calls.push(['get', key]);
    return this.values.get(key)?.value ?? null;
  }
  async set(key: string, value: string, _px: 'PX', ms: number) {
    this.calls.push(['set', key, value, _px, ms]);
    this.values.set(key, { value, px: ms });
    return 'OK';
  }
  async del(key: string) {
    this.calls.push(['del', key]);
    return this.values.delete(key) ? 1 : 0;
  }
}

const config = { redis: { keyPrefix: 'pre:' } } as AppConfig;

describe(RedisSessionStore.name, () => {
  let redis: FakeRedis;
  let store: RedisSessionStore;
  let warnings: string[];

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    redis = new FakeRedis();
    store = new RedisSessionStore(redis as unknown as RedisClient, config);
    warnings = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('stores JSON under a prefixed key with PX = the remaining lifetime, and reads back an equal, separate object', async () => {
    const session = sessionOf('abc', 90_000);
    await store.set(session);
    const [, key, , px, ms] = redis.calls[0];
    expect(key).toMatch(/^pre:session:[0-9a-f]{64}$/);
    expect([px, ms]).toEqual(['PX', 90_000]);
    jest.advanceTimersByTime(30_000);
    await store.set(session);
    expect(redis.calls[1][4]).toBe(60_000);

    const read = await store.get('abc');
    expect(read).toEqual(session);
    expect(read).not.toBe(session);
    read!.done = { value: 'P-1', at: 1 };
    await expect(store.get('abc')).resolves.not.toHaveProperty('done');
  });

  it('does not store a session that has already expired, and drops an older copy', async () => {
    await store.set(sessionOf('abc', 1000));
    jest.advanceTimersByTime(1000);
    await store.set({ ...sessionOf('abc'), expiresAt: Date.now() });
    expect(redis.calls.filter((c) => c[0] === 'set')).toHaveLength(1);
    expect(redis.values.size).toBe(0);
  });

  it('returns undefined for an unknown id, and for a stored one read after its expiresAt', async () => {
    await expect(store.get('nope')).resolves.toBeUndefined();
    await store.set(sessionOf('abc', 1000));
    jest.advanceTimersByTime(1000);
    await expect(store.get('abc')).resolves.toBeUndefined();
  });

  it('deletes a session', async () => {
    await store.set(sessionOf('abc'));
    await store.delete('abc');
    await expect(store.get('abc')).resolves.toBeUndefined();
  });

  it('treats damaged stored JSON as no session, with a warning', async () => {
    await store.set(sessionOf('abc'));
    const [key] = redis.values.keys();
    redis.values.set(key, { value: '{"id":"abc",' });
    await expect(store.get('abc')).resolves.toBeUndefined();
    expect(warnings).toEqual([expect.stringContaining('not readable')]);
  });

  it('turns a Redis failure into a 503 page', async () => {
    const broken = {
      get: () => Promise.reject(new Error('Connection is closed.')),
      set: () => Promise.reject(new Error('Connection is closed.')),
      del: () => Promise.reject(new Error('Connection is closed.')),
    } as unknown as RedisClient;
    const failing = new RedisSessionStore(broken, config);
    for (const attempt of [failing.get('abc'), failing.set(sessionOf('abc')), failing.delete('abc')]) {
      const error = await attempt.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PageException);
      expect((error as PageException).getStatus()).toBe(503);
    }
  });
});

describe(parseSession.name, () => {
  it.each([
    ['not JSON', 'nope'],
    ['null', 'null'],
    ['an array', '[]'],
    ['another session', JSON.stringify({ ...sessionOf('other') })],
    ['no expiresAt', JSON.stringify({ ...sessionOf('abc'), expiresAt: 'soon' })],
  ])('refuses %s', (_, raw) => {
    expect(parseSession(raw, 'abc')).toBeUndefined();
  });

  it('accepts the session asked for', () => {
    expect(parseSession(JSON.stringify(sessionOf('abc')), 'abc')).toMatchObject({ id: 'abc', expenseIds: ['X1'] });
  });
});
