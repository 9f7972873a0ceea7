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

/**
 * Per-client-address traffic counters (config.rateLimit.launch, .testConnection). Every other
 * name is a failure counter (sign-in and Test Connection lockouts), kept in a table of its own.
 */
export const TRAFFIC_COUNTERS: ReadonlySet<string> = new Set(['launch', 'test_connection']);

export type CounterKind = 'traffic' | 'failures';

export const counterKindOf = (throttlerName: string): CounterKind => (TRAFFIC_COUNTERS.has(throttlerName) ? 'traffic' : 'failures');

/**
 * The memory store has no room for a new key: the request is refused (429), because making room
 * would mean forgetting a count, and a forgotten failure count is a lifted lockout.
 */
export class RateLimitStoreFull extends Error {
  constructor(
    readonly kind: CounterKind,
    readonly maxKeys: number,
    /** Whole seconds until an entry is due to expire and make room (at least 1). */
    readonly retryAfterSeconds: number,
  ) {
    super(`rate-limit memory store full: ${maxKeys} ${kind} counters, none expired`);
    this.name = RateLimitStoreFull.name;
  }
}

export const DEFAULT_MEMORY_MAX_KEYS = 100_000;
/** Expired entries are swept at most this often while there is room... */
const SWEEP_INTERVAL_MS = 10_000;
/** ...and at most this often while full, so refused requests cannot make each other walk the whole table. */
const FULL_SWEEP_INTERVAL_MS = 1_000;

interface Entry {
  hits: number;
  windowEndsAt: number;
  blockedUntil: number;
}

const expiryOf = (entry: Entry) => Math.max(entry.windowEndsAt, entry.blockedUntil);

/**
 * One kind of counters, at most `maxKeys` of them. An entry leaves only once both its window
 * and its block have ended: never to make room. A new key that finds the table full (after
 * sweeping what has expired) is refused with RateLimitStoreFull.
 */
class CounterTable {
  private readonly entries = new Map<string, Entry>();
  private lastSweepAt = Number.NEGATIVE_INFINITY;
  /**
   * No entry expires before this. A lower bound: windows and blocks are only ever pushed later,
   * and every new entry lowers it to its own expiry. While full, a sweep before this time
   * could not free anything.
   */
  private nextExpiryAt = Number.POSITIVE_INFINITY;

  constructor(
    readonly kind: CounterKind,
    readonly maxKeys: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(id: string): Entry | undefined {
    return this.entries.get(id);
  }

  /** A new entry, or RateLimitStoreFull when there is no room even after sweeping. */
  add(id: string, entry: Entry, now: number): Entry {
    if (this.entries.size >= this.maxKeys && now >= this.nextExpiryAt && now - this.lastSweepAt >= FULL_SWEEP_INTERVAL_MS) {
      this.sweep(now);
    }
    if (this.entries.size >= this.maxKeys) {
      const roomAt = Math.max(this.nextExpiryAt, this.lastSweepAt + FULL_SWEEP_INTERVAL_MS);
      throw new RateLimitStoreFull(this.kind, this.maxKeys, Math.max(1, Math.ceil((roomAt - now) / 1000)));
    }
    this.entries.set(id, entry);
    this.nextExpiryAt = Math.min(this.nextExpiryAt, expiryOf(entry));
    return entry;
  }

  /** Removes the entries whose window and block have ended, now and then. */
  sweepNowAndThen(now: number): void {
    if (now - this.lastSweepAt >= SWEEP_INTERVAL_MS) this.sweep(now);
  }

  private sweep(now: number): void {
    this.lastSweepAt = now;
    let next = Number.POSITIVE_INFINITY;
    for (const [id, entry] of this.entries) {
      const expiry = expiryOf(entry);
      if (expiry <= now) this.entries.delete(id);
      else if (expiry < next) next = expiry;
    }
    this.nextExpiryAt = next;
  }
}

/**
 * One process only: replicas need the Redis storage to share counts.
 *
 * Traffic counters (per client address) and failure counters (lockouts) live in two tables of
 * `maxKeys` entries each (rateLimit.memoryMaxKeys), so a flood of new addresses cannot take the
 * room lockouts need, and neither table ever drops a live entry to make room: a key that finds
 * its table full is refused (RateLimitStoreFull, a 429) until entries expire. Failure counters
 * are only created by sign-in attempts that already passed a per-address limit, but addresses
 * are plentiful (an IPv6 client counts per /64, and may hold many), so their table is capped
 * too, and refuses rather than forgets: a refused sign-in is safe, a lifted lockout is not.
 * An entry takes 250 to 360 bytes (measured on Node 20): two full tables of 100,000 hold about 60 MB.
 */
export class MemoryRateLimitStorage extends RateLimitStorage {
  private readonly tables: Record<CounterKind, CounterTable>;

  constructor(
    private readonly now: () => number = Date.now,
    maxKeys = DEFAULT_MEMORY_MAX_KEYS,
  ) {
    super();
    this.tables = { traffic: new CounterTable('traffic', maxKeys), failures: new CounterTable('failures', maxKeys) };
  }

  // No await before the table is updated: each increment runs as one step on the event loop.
  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const now = this.now();
    const table = this.tables[counterKindOf(throttlerName)];
    table.sweepNowAndThen(now);
    const id = `${throttlerName}:${key}`;
    let entry = table.get(id);
    if (!entry) {
      entry = table.add(id, { hits: 0, windowEndsAt: now + ttl, blockedUntil: 0 }, now);
    } else if (entry.windowEndsAt <= now) {
      entry.hits = 0;
      entry.windowEndsAt = now + ttl;
    }
    entry.hits += 1;
    if (entry.blockedUntil <= now && entry.hits > limit && blockDuration > 0) entry.blockedUntil = now + blockDuration;
    return recordOf(entry.hits, limit, blockDuration, entry.windowEndsAt - now, entry.blockedUntil - now);
  }

  async decrement(key: string, throttlerName: string): Promise<void> {
    const entry = this.tables[counterKindOf(throttlerName)].get(`${throttlerName}:${key}`);
    if (entry && entry.windowEndsAt > this.now() && entry.hits > 0) entry.hits -= 1;
  }

  /** Entries held, of both kinds. */
  get size(): number {
    return this.tables.traffic.size + this.tables.failures.size;
  }

  sizeOf(kind: CounterKind): number {
    return this.tables[kind].size;
  }
}
