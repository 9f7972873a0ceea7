import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { PageException } from '../common/page.exception.js';
import type { AppConfig } from '../config/index.js';
import type { RedisClient } from '../redis/redis.module.js';
import type { LaunchSession } from './launch.types.js';
import { parseSession, parseUpdate, RedisSessionStore } from './redis-session.store.js';
import { sessionOf } from './session.fixture.js';


/**
 * Enough of ioredis for the store: string keys with a PX expiry, and every call recorded. The two
 * scripts are told apart by what they call and played here; the Lua runs in the integration tests.
 */
class FakeRedis {
  readonly values = new Map<string, { value: string; px?: number }>();
  readonly calls: unknown[][] = [];
  async get(key: string) {
    this.calls.push(['get', key]);
    return this.values.get(key)?.value ?? null;
  }
  async mget(...keys: string[]) {
    this.calls.push(['mget', ...keys]);
    return keys.map((key) => this.values.get(key)?.value ?? null);
  }
  async set(key: string, value: string, _px: 'PX', ms: number, nx?: 'NX') {
    this.calls.push(nx ? ['set', key, value, _px, ms, nx] : ['set', key, value, _px, ms]);
    if (nx && this.values.has(key)) return null;
    this.values.set(key, { value, px: ms });
    return 'OK';
  }
  async del(...keys: string[]) {
    this.calls.push(['del', ...keys]);
    return keys.filter((key) => this.values.delete(key)).length;
  }
  async eval(script: string, _n: number, key: string, expected: string, next?: string) {
    this.calls.push(['eval', script.includes('PTTL') ? 'complete' : 'release', key, expected, next]);
    const current = this.values.get(key);
    if (current?.value !== expected) return 0;
    if (script.includes('PTTL')) current.value = next!;
    else this.values.delete(key);
    return 1;
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
    const closed = () => Promise.reject(new Error('Connection is closed.'));
    const broken = { get: closed, mget: closed, set: closed, del: closed, eval: closed } as unknown as RedisClient;
    const failing = new RedisSessionStore(broken, config);
    const future = Date.now() + 60_000;
    for (const attempt of [
      failing.get('abc'),
      failing.set(sessionOf('abc')),
      failing.delete('abc'),
      failing.claimUpdate('abc', future),
      failing.completeUpdate('abc', 't', { value: 'P-1', at: 1 }),
      failing.releaseUpdate('abc', 't'),
      failing.updateState('abc'),
    ]) {
      const error = await attempt.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PageException);
      expect((error as PageException).getStatus()).toBe(503);
    }
  });

  describe('update claim', () => {
    it('claims with SET NX PX = the remaining lifetime under a prefixed, hashed key of its own', async () => {
      const session = sessionOf('abc', 90_000);
      await store.set(session);
      jest.advanceTimersByTime(30_000);
      const token = await store.claimUpdate('abc', session.expiresAt);
      expect(token).toMatch(/^[0-9a-f]{32}$/);
      const claim = redis.calls.find((c) => c[0] === 'set' && c[5] === 'NX')!;
      expect(claim).toEqual(['set', store.updateKeyOf('abc'), `claimed:${token}`, 'PX', 60_000, 'NX']);
      expect(store.updateKeyOf('abc')).toMatch(/^pre:update:[0-9a-f]{64}$/);
      expect(store.updateKeyOf('abc')).not.toBe(store.keyOf('abc'));
      await expect(store.claimUpdate('abc', session.expiresAt)).resolves.toBeUndefined();
      await expect(store.updateState('abc')).resolves.toEqual({ state: 'claimed' });
    });

    it('does not claim for a session past its expiresAt', async () => {
      await expect(store.claimUpdate('abc', Date.now())).resolves.toBeUndefined();
      expect(redis.calls).toEqual([]);
    });

    it('completes and releases by compare-and-delete with the claim token', async () => {
      const session = sessionOf('abc');
      await store.set(session);
      const token = (await store.claimUpdate('abc', session.expiresAt))!;
      await expect(store.releaseUpdate('abc', 'other')).resolves.toBe(false);
      expect(redis.calls.at(-1)).toEqual(['eval', 'release', store.updateKeyOf('abc'), 'claimed:other', undefined]);
      await expect(store.completeUpdate('abc', token, { value: 'P-1', at: 7 })).resolves.toBe(true);
      expect(redis.calls.at(-1)).toEqual(['eval', 'complete', store.updateKeyOf('abc'), `claimed:${token}`, 'done:{"value":"P-1","at":7}']);
      await expect(store.updateState('abc')).resolves.toEqual({ state: 'done', done: { value: 'P-1', at: 7 } });
      await expect(store.releaseUpdate('abc', token)).resolves.toBe(false);
    });

    it('reads done from the claim: a later set() of a copy without done cannot erase it', async () => {
      const session = sessionOf('abc');
      await store.set(session);
      const token = (await store.claimUpdate('abc', session.expiresAt))!;
      await store.completeUpdate('abc', token, { value: 'P-1', at: 7 });
      await store.set({ ...session, itemView: { level: 'ENTRY', title: 'Taxi', amount: 1, currency: null, date: null, fieldValue: null, readAt: 1 } });
      await expect(store.get('abc')).resolves.toMatchObject({ done: { value: 'P-1', at: 7 }, itemView: { title: 'Taxi' } });
      expect(redis.calls.filter((c) => c[0] === 'mget').at(-1)).toEqual(['mget', store.keyOf('abc'), store.updateKeyOf('abc')]);
    });

    it('deletes the claim with the session', async () => {
      const session = sessionOf('abc');
      await store.set(session);
      await store.claimUpdate('abc', session.expiresAt);
      await store.delete('abc');
      expect(redis.values.size).toBe(0);
      await expect(store.updateState('abc')).resolves.toEqual({ state: 'free' });
    });
  });
});

describe(parseUpdate.name, () => {
  it('reads no claim as free, a token as claimed and done as done', () => {
    expect(parseUpdate(null)).toEqual({ state: 'free' });
    expect(parseUpdate('claimed:0123')).toEqual({ state: 'claimed' });
    expect(parseUpdate('done:{"value":"P-1","at":3}')).toEqual({ state: 'done', done: { value: 'P-1', at: 3 } });
  });

  it.each(['done:{', 'done:null', 'done:{"value":1,"at":3}', 'something else'])('counts the unreadable %p as claimed, never free', (raw) => {
    expect(parseUpdate(raw)).toEqual({ state: 'claimed' });
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
    expect(parseSession(JSON.stringify(sessionOf('abc', 60_000, { expenseIds: ['X1'] })), 'abc')).toMatchObject({ id: 'abc', expenseIds: ['X1'] });
  });
});
