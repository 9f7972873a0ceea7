import { beforeEach, describe, expect, it } from '@jest/globals';
import { counterKindOf, MemoryRateLimitStorage, RateLimitStoreFull, recordOf } from './rate-limit.storage.js';

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

describe(`${MemoryRateLimitStorage.name} when full`, () => {
  let now: number;
  const storageOf = (maxKeys: number) => new MemoryRateLimitStorage(() => now, maxKeys);
  /** Locks `user` (limit 3, 15 min) as the auditor sign-in does. */
  const lock = async (storage: MemoryRateLimitStorage, user = 'jane') => {
    for (let i = 0; i < 4; i++) await storage.increment(user, 900_000, 3, 900_000, 'failed_audit_sign_in');
  };
  const isLocked = async (storage: MemoryRateLimitStorage, user = 'jane') =>
    (await storage.increment(user, 900_000, 3, 900_000, 'failed_audit_sign_in')).isBlocked;
  const launchFrom = (storage: MemoryRateLimitStorage, ip: string) => storage.increment(ip, 60_000, 60, 60_000, 'launch');

  beforeEach(() => {
    now = 1_000_000;
  });

  it('keeps traffic and failure counters apart', () => {
    expect(['launch', 'test_connection'].map(counterKindOf)).toEqual(['traffic', 'traffic']);
    expect(['failed_test_connection', 'failed_audit_sign_in', 'failed_audit_sign_in_ip', 'failed_metrics_auth'].map(counterKindOf)).toEqual([
      'failures',
      'failures',
      'failures',
      'failures',
    ]);
  });

  it('keeps a lockout through more than 100,000 new client addresses (the default size): new addresses are refused instead', async () => {
    const storage = new MemoryRateLimitStorage(() => now);
    await lock(storage);
    let refused: unknown;
    for (let i = 0; i <= 100_000 && !refused; i++) {
      await launchFrom(storage, `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64`).catch((error: unknown) => (refused = error));
    }
    expect(refused).toBeInstanceOf(RateLimitStoreFull);
    expect(refused).toMatchObject({ kind: 'traffic', maxKeys: 100_000, retryAfterSeconds: 60 });
    expect(storage.sizeOf('traffic')).toBe(100_000);
    // A hundred more new addresses: every one refused, and the lock is still there.
    for (let i = 0; i < 100; i++) await expect(launchFrom(storage, `198.51.100.${i}`)).rejects.toBeInstanceOf(RateLimitStoreFull);
    await expect(isLocked(storage)).resolves.toBe(true);
    // The lock is counted apart: new failure counters still find room.
    await expect(storage.increment('bob', 900_000, 3, 900_000, 'failed_audit_sign_in')).resolves.toMatchObject({ totalHits: 1 });
  });

  it('still counts the addresses it holds while full', async () => {
    const storage = storageOf(2);
    await launchFrom(storage, '203.0.113.1');
    await launchFrom(storage, '203.0.113.2');
    await expect(launchFrom(storage, '203.0.113.3')).rejects.toBeInstanceOf(RateLimitStoreFull);
    await expect(launchFrom(storage, '203.0.113.1')).resolves.toMatchObject({ totalHits: 2, isBlocked: false });
  });

  it('refuses a new failure counter when its own table is full, never dropping a lock', async () => {
    const storage = storageOf(3);
    await lock(storage, 'jane');
    await storage.increment('t1', 900_000, 10, 0, 'failed_test_connection');
    await storage.increment('203.0.113.9', 900_000, 20, 900_000, 'failed_metrics_auth');
    now += 60_000;
    const error = (await storage.increment('eve', 900_000, 3, 900_000, 'failed_audit_sign_in').catch((e: unknown) => e)) as RateLimitStoreFull;
    expect(error).toBeInstanceOf(RateLimitStoreFull);
    expect(error.kind).toBe('failures');
    expect(error.message).toBe('rate-limit memory store full: 3 failures counters, none expired');
    // The earliest entry (jane's lock, from 15 min after its last failure) ends in 840 s.
    expect(error.retryAfterSeconds).toBe(840);
    await expect(isLocked(storage)).resolves.toBe(true);
    // Traffic has a table of its own, still with room.
    await expect(launchFrom(storage, '203.0.113.1')).resolves.toMatchObject({ totalHits: 1 });
  });

  it('makes room only when entries expire: then a new address is counted', async () => {
    const storage = storageOf(2);
    await storage.increment('203.0.113.1', 10_000, 5, 10_000, 'test_connection');
    now += 5_000;
    await storage.increment('203.0.113.2', 10_000, 5, 10_000, 'test_connection');
    await expect(storage.increment('203.0.113.3', 10_000, 5, 10_000, 'test_connection')).rejects.toMatchObject({ retryAfterSeconds: 5 });
    now += 5_000;
    // The first address's window has ended: swept, and its place taken.
    await expect(storage.increment('203.0.113.3', 10_000, 5, 10_000, 'test_connection')).resolves.toMatchObject({ totalHits: 1 });
    expect(storage.sizeOf('traffic')).toBe(2);
    await expect(storage.increment('203.0.113.4', 10_000, 5, 10_000, 'test_connection')).rejects.toBeInstanceOf(RateLimitStoreFull);
  });

  it('does not sweep on every refused request: at most once a second while full', async () => {
    const storage = storageOf(1);
    await storage.increment('a', 1_000, 5, 0, 'launch');
    now += 1_000;
    // a has expired: the sweep that finds it runs, and b takes its place (for 500 ms).
    await expect(storage.increment('b', 500, 5, 0, 'launch')).resolves.toMatchObject({ totalHits: 1 });
    now += 600;
    // b has expired too, but the last sweep was 600 ms ago: refused, try again in a second.
    await expect(storage.increment('c', 1_000, 5, 0, 'launch')).rejects.toMatchObject({ retryAfterSeconds: 1 });
    now += 400;
    await expect(storage.increment('c', 1_000, 5, 0, 'launch')).resolves.toMatchObject({ totalHits: 1 });
  });

  it('keeps an entry whose window ended while its block runs', async () => {
    const storage = storageOf(1);
    for (let i = 0; i < 3; i++) await storage.increment('a', 1_000, 1, 30_000, 'failed_audit_sign_in_ip');
    now += 20_000;
    await expect(storage.increment('b', 1_000, 1, 30_000, 'failed_audit_sign_in_ip')).rejects.toMatchObject({ retryAfterSeconds: 10 });
    await expect(storage.increment('a', 1_000, 1, 30_000, 'failed_audit_sign_in_ip')).resolves.toMatchObject({ isBlocked: true, timeToBlockExpire: 10 });
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
