import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/index.js';

/**
 * Remembers launch nonces so a signed URL works once. The port; memory and Redis adapters are
 * the fast path, DurableReplayStore adds the database record in front of which they sit.
 */
export abstract class ReplayStore {
  /**
   * Atomically records `key` (see nonceKey) for at least `ttlSeconds`: true the first time,
   * false if already seen (the fast stores: within its TTL; the durable one: within retention).
   */
  abstract claim(key: string, ttlSeconds: number): Promise<boolean>;
}

/** The replay key of a tenant's nonce: `<tenant id>:<nonce>` (tenant ids have no ':'). */
export function nonceKey(tenantId: string, nonce: string): string {
  return `${tenantId}:${nonce}`;
}

/** The tenant id of a nonceKey. */
export function tenantOfNonceKey(key: string): string {
  const at = key.indexOf(':');
  if (at <= 0) throw new Error('replay key is not <tenant id>:<nonce>');
  return key.slice(0, at);
}

const WARN_INTERVAL_MS = 60_000;

/** One process only: replicas need a shared store. */
@Injectable()
export class MemoryReplayStore extends ReplayStore {
  private readonly logger = new Logger(MemoryReplayStore.name);
  /** key -> expiry (ms). Insertion order is age, and with one TTL for all nonces also expiry order. */
  private readonly entries = new Map<string, number>();
  private readonly maxEntries: number;
  private lastWarnAt = -Infinity;

  constructor(config: AppConfig) {
    super();
    this.maxEntries = config.replay.maxEntries;
  }

  // No await before the map is updated: check-and-set runs as one step on the event loop.
  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    const now = Date.now();
    this.sweep(now);
    const expiresAt = this.entries.get(key);
    if (expiresAt !== undefined) {
      if (expiresAt > now) return false;
      this.entries.delete(key);
    }
    if (this.entries.size >= this.maxEntries) this.evictOldest(now);
    this.entries.set(key, now + ttlSeconds * 1000);
    return true;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Drops expired entries from the old end; each entry is dropped once, so this is amortised O(1). */
  private sweep(now: number): void {
    for (const [key, expiresAt] of this.entries) {
      if (expiresAt > now) return;
      this.entries.delete(key);
    }
  }

  private evictOldest(now: number): void {
    const oldest = this.entries.keys().next();
    if (!oldest.done) this.entries.delete(oldest.value);
    if (now - this.lastWarnAt >= WARN_INTERVAL_MS) {
      this.lastWarnAt = now;
      this.logger.warn(
        `replay store is full (${this.maxEntries} nonces): forgetting the oldest before its TTL; raise replay.maxEntries or use a shared store`,
      );
    }
  }
}
