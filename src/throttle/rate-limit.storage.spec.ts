import { beforeEach, describe, expect, it } from '@jest/globals';
import { MemoryRateLimitStorage, recordOf } from './rate-limit.storage.js';

describe(MemoryRateLimitStorage.name, () => {
  let now: number;
  let storage: MemoryRateLimitStorage;
  const hit = (key = 'ip:1', limit = 3, blockMs = 10_000, ttl = 10_000, name = 'launch') => storage.increment(key, ttl, limit, blockMs, name);

  beforeEach(() => {
    now = 1_000_000;
    storage = new MemoryRateLimitStorage(() => now);
  });

  it('counts hits and lets them through up to the limit', async () => {
    await expect(hit()).resolves.toEqual({ totalHits: 1, timeToExpire: 10, isBlocked: false, timeToBlockExpire: 0 });
    await hit();
    await expect(hit()).resolves.toMatchObject({ totalHits: 3, isBlocked: false });
  });

  it('blocks the hit over the limit for blockDuration, counted from that hit', async () => {
    for (let i = 0; i < 3; i++) await hit();
    now += 4_000;
    await expect(hit()).resolves.toEqual({ totalHits: 4, timeToExpire: 6, isBlocked: true, timeToBlockExpire: 10 });
    now += 7_000;
    // The window ended (a new one started), the block has 3 s left.
    await expect(hit()).resolves.toEqual({ totalHits: 1, timeToExpire: 10, isBlocked: true, timeToBlockExpire: 3 });
    now += 3_000;
    await expect(hit()).resolves.toMatchObject({ totalHits: 2, isBlocked: false, timeToBlockExpire: 0 });
  });

  it('with blockDuration 0 refuses until the window ends, then starts a new window', async () => {
    for (let i = 0; i < 3; i++) await hit('t', 3, 0);
    now += 2_500;
    await expect(hit('t', 3, 0)).resolves.toEqual({ totalHits: 4, timeToExpire: 8, isBlocked: true, timeToBlockExpire: 8 });
    now += 7_499;
    await expect(hit('t', 3, 0)).resolves.toMatchObject({ isBlocked: true, timeToBlockExpire: 1 });
    now += 1;
    await expect(hit('t', 3, 0)).resolves.toEqual({ totalHits: 1, timeToExpire: 10, isBlocked: false, timeToBlockExpire: 0 });
  });

  it('keeps keys and limit names apart', async () => {
    for (let i = 0; i < 4; i++) await hit('a');
    await expect(hit('a')).resolves.toMatchObject({ isBlocked: true });
    await expect(hit('b')).resolves.toMatchObject({ totalHits: 1, isBlocked: false });
    await expect(hit('a', 3, 10_000, 10_000, 'test_connection')).resolves.toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('decrement takes back one hit, never below zero, and not in a window that ended', async () => {
    await hit('t', 2, 0);
    await hit('t', 2, 0);
    await storage.decrement('t', 'launch');
    await expect(hit('t', 2, 0)).resolves.toMatchObject({ totalHits: 2, isBlocked: false });
    await storage.decrement('t', 'launch');
    await storage.decrement('t', 'launch');
    await storage.decrement('t', 'launch');
    await expect(hit('t', 2, 0)).resolves.toMatchObject({ totalHits: 1 });
    await storage.decrement('unknown', 'launch');
    expect(storage.size).toBe(1);
  });

  it('forgets entries whose window and block have ended', async () => {
    await hit('a');
    await hit('b');
    expect(storage.size).toBe(2);
    now += 60_000;
    await hit('c');
    expect(storage.size).toBe(1);
  });
});

describe('recordOf', () => {
  it('rounds times up to whole seconds, at least 1', () => {
    expect(recordOf(1, 5, 1000, 1, 0)).toEqual({ totalHits: 1, timeToExpire: 1, isBlocked: false, timeToBlockExpire: 0 });
    expect(recordOf(6, 5, 1000, 2001, 1)).toEqual({ totalHits: 6, timeToExpire: 3, isBlocked: true, timeToBlockExpire: 1 });
  });

  it('reads a negative block time (no block key) as not blocked', () => {
    expect(recordOf(9, 5, 1000, 5000, -2)).toMatchObject({ isBlocked: false, timeToBlockExpire: 0 });
  });
});
