// Types only: @nestjs/throttler is CommonJS requiring @nestjs/common, which Jest's CommonJS runtime cannot load on Node 20.
import type { ThrottlerStorage } from '@nestjs/throttler';

/** @nestjs/throttler's ThrottlerStorageRecord: hits of the window, and seconds left of it and of a block. */
export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * Counts hits per key in fixed windows: the window starts with the first hit and lasts `ttl`
 * ms. A hit over `limit` blocks the key for `blockDuration` ms; with a blockDuration of 0 the
 * key is refused until its window ends. Times in the record are whole seconds, like those of
 * @nestjs/throttler's ThrottlerStorage, whose interface this is (plus `decrement`).
 */
export abstract class RateLimitStorage implements ThrottlerStorage {
  abstract increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord>;

  /** Takes back one hit of the current window (an attempt that turned out not to count). */
  abstract decrement(key: string, throttlerName: string): Promise<void>;
}

/** The record both storages return, from the window and block times left (ms, ≤ 0: none). */
export function recordOf(totalHits: number, limit: number, blockDuration: number, windowLeftMs: number, blockLeftMs: number): ThrottlerStorageRecord {
  const blockedByKey = blockLeftMs > 0;
  const isBlocked = blockedByKey || (blockDuration <= 0 && totalHits > limit);
  const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
  return {
    totalHits,
    timeToExpire: seconds(windowLeftMs),
    isBlocked,
    timeToBlockExpire: isBlocked ? seconds(blockedByKey ? blockLeftMs : windowLeftMs) : 0,
  };
}

const MAX_ENTRIES = 100_000;
const SWEEP_INTERVAL_MS = 10_000;

interface Entry {
  hits: number;
  windowEndsAt: number;
  blockedUntil: number;
}

/** One process only: replicas need the Redis storage to share counts. */
export class MemoryRateLimitStorage extends RateLimitStorage {
  private readonly entries = new Map<string, Entry>();
  private lastSweepAt = 0;

  constructor(private readonly now: () => number = Date.now) {
    super();
  }

  // No await before the map is updated: each increment runs as one step on the event loop.
  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const now = this.now();
    this.sweep(now);
    const id = `${throttlerName}:${key}`;
    let entry = this.entries.get(id);
    if (!entry) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      entry = { hits: 0, windowEndsAt: now + ttl, blockedUntil: 0 };
      this.entries.set(id, entry);
    } else if (entry.windowEndsAt <= now) {
      entry.hits = 0;
      entry.windowEndsAt = now + ttl;
    }
    entry.hits += 1;
    if (entry.blockedUntil <= now && entry.hits > limit && blockDuration > 0) entry.blockedUntil = now + blockDuration;
    return recordOf(entry.hits, limit, blockDuration, entry.windowEndsAt - now, entry.blockedUntil - now);
  }

  async decrement(key: string, throttlerName: string): Promise<void> {
    const entry = this.entries.get(`${throttlerName}:${key}`);
    if (entry && entry.windowEndsAt > this.now() && entry.hits > 0) entry.hits -= 1;
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(now: number): void {
    if (now - this.lastSweepAt < SWEEP_INTERVAL_MS) return;
    this.lastSweepAt = now;
    for (const [id, entry] of this.entries) {
      if (entry.windowEndsAt <= now && entry.blockedUntil <= now) this.entries.delete(id);
    }
  }
}
