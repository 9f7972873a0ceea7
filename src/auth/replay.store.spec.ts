import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { AppConfig } from '../config/index.js';
import { MemoryReplayStore } from './replay.store.js';

const storeOf = (maxEntries: number) => new MemoryReplayStore({ replay: { ttlSeconds: 86400, maxEntries } } as AppConfig);

describe(MemoryReplayStore.name, () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
  });

  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('accepts a key the first time and refuses it the second time', async () => {
    const store = storeOf(100);
    await expect(store.claim('t:a', 60)).resolves.toBe(true);
    await expect(store.claim('t:a', 60)).resolves.toBe(false);
    await expect(store.claim('t:b', 60)).resolves.toBe(true);
  });

  it('keeps tenants apart by key', async () => {
    const store = storeOf(100);
    await expect(store.claim('one:n', 60)).resolves.toBe(true);
    await expect(store.claim('two:n', 60)).resolves.toBe(true);
  });

  it('refuses a key until its TTL has passed, then accepts it again', async () => {
    const store = storeOf(100);
    await store.claim('t:a', 60);
    jest.advanceTimersByTime(59_999);
    await expect(store.claim('t:a', 60)).resolves.toBe(false);
    jest.advanceTimersByTime(1);
    await expect(store.claim('t:a', 60)).resolves.toBe(true);
    await expect(store.claim('t:a', 60)).resolves.toBe(false);
  });

  it('gives exactly one winner among concurrent claims of one key', async () => {
    const store = storeOf(100);
    const results = await Promise.all(Array.from({ length: 20 }, () => store.claim('t:race', 60)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('sweeps expired entries so they do not count against the bound', async () => {
    const store = storeOf(3);
    await store.claim('a', 10);
    await store.claim('b', 10);
    jest.advanceTimersByTime(10_000);
    await store.claim('c', 10);
    expect(store.size).toBe(1);
  });

  it('forgets the oldest entry when full, and warns at most once a minute', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const store = storeOf(3);
    for (const key of ['a', 'b', 'c']) await store.claim(key, 600);
    await expect(store.claim('d', 600)).resolves.toBe(true);
    expect(store.size).toBe(3);
    await expect(store.claim('a', 600)).resolves.toBe(true);
    await expect(store.claim('d', 600)).resolves.toBe(false);
    await expect(store.claim('c', 600)).resolves.toBe(false);
    expect(warn).toHaveBeenCalledTimes(1);
    await store.claim('e', 600);
    expect(warn).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(60_000);
    await store.claim('f', 600);
    expect(warn).toHaveBeenCalledTimes(2);
  });
});
