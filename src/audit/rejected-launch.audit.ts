import { type BeforeApplicationShutdown, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { AppConfig } from '../config/index.js';
import { REDIS, type RedisClient } from '../redis/redis.module.js';
import { RateLimitKeys } from '../throttle/rate-limit-keys.js';
import { normalizeIp } from '../throttle/client-ip.js';
import { AuditService } from './audit.service.js';
import type { AuditEventInput } from './audit.types.js';
import {
  MemoryRejectionCounter,
  OTHER_ADDRESSES,
  RedisRejectionCounter,
  type RejectionCounter,
  type RejectionRule,
} from './rejected-launch.counter.js';

/**
 * Addresses counted one by one in a window; rejections from further addresses share one bucket
 * (and its limit). Bounds memory (and Redis keys) under a flood from many addresses.
 */
export const MAX_TRACKED_ADDRESSES = 10_000;
/** How long after a window ends its counts are taken: replicas' clocks differ a little. */
const MAX_SETTLE_MS = 2_000;

/** A count this process owns: written as one event when its window has closed, or at shutdown. */
interface OwnedCount {
  bucket: string;
  window: number;
}

/**
 * Audits rejected launches (anyone can send one) at a bounded rate. Per client address (IPv6 per
 * /64) and fixed window of `audit.rejectedLaunches` (default 30 per 60 s), the first `limit` are
 * audited one by one; the rest are counted and written as one `launch.rejected` event per address
 * and window ("N more rejected launches from <address> between T1 and T2 not written
 * individually"), once the window has closed (a timer, so a flood that stops is still counted
 * promptly) and at shutdown for counts still open. The callers log every rejection.
 *
 * With Redis (REDIS_URL), counts are shared by all replicas; the replica whose rejection started
 * a count writes it. Without Redis, each process counts its own (one process is the embedded
 * default). If Redis fails, this process counts in memory meanwhile, so rejections are still audited.
 */
@Injectable()
export class RejectedLaunchAudit implements BeforeApplicationShutdown {
  private readonly logger = new Logger(RejectedLaunchAudit.name);
  private readonly memory = new MemoryRejectionCounter();
  private readonly shared?: RejectionCounter;
  private readonly owned = new Map<string, OwnedCount>();
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private redisFailing = false;
  /** Counts being written by a timer; shutdown waits for them. */
  private readonly writing = new Set<Promise<void>>();

  constructor(
    private readonly audit: AuditService,
    private readonly config: AppConfig,
    @Optional() @Inject(REDIS) redis?: RedisClient | null,
    @Optional() keys?: RateLimitKeys,
    /** A test's smaller cap; Nest leaves it undefined. */
    @Optional() private readonly maxAddresses: number = MAX_TRACKED_ADDRESSES,
  ) {
    if (redis) this.shared = new RedisRejectionCounter(redis, config.redis.keyPrefix, keys ?? RateLimitKeys.fromConfig(config));
  }

  async record(input: AuditEventInput): Promise<void> {
    const rule = this.rule();
    const now = Date.now();
    const window = Math.floor(now / rule.windowMs);
    const address = input.clientIp ? normalizeIp(input.clientIp) : 'unknown';
    const tally = await this.count(address, window, rule);
    if (tally.individually) {
      await this.audit.record(input);
      return;
    }
    if (!tally.startsCount) return;
    this.owned.set(`${window}\n${tally.bucket}`, { bucket: tally.bucket, window });
    this.logger.warn(
      `rejected launches from ${tally.bucket} over ${rule.limit} in ${rule.windowMs / 1000} s: ` +
        'the rest of this window are counted and audited as one event',
    );
    this.closeAfter(window, rule);
  }

  /** Writes the counts still open (their window may not have ended), before the database and Redis close. */
  async beforeApplicationShutdown(): Promise<void> {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await this.written();
    const windows = new Set([...this.owned.values()].map((o) => o.window));
    for (const window of windows) await this.writeCounts(window, this.rule());
  }

  /** Settles once the counts whose window has closed are written. */
  async written(): Promise<void> {
    while (this.writing.size > 0) await Promise.all(this.writing);
  }

  private rule(): RejectionRule {
    const { limit, windowSeconds } = this.config.audit.rejectedLaunches;
    return { limit, windowMs: windowSeconds * 1000, maxAddresses: this.maxAddresses };
  }

  private async count(address: string, window: number, rule: RejectionRule) {
    if (this.shared) {
      try {
        const tally = await this.shared.count(address, window, rule);
        if (this.redisFailing) this.logger.log('rejected launches are counted in Redis again');
        this.redisFailing = false;
        return tally;
      } catch (error) {
        if (!this.redisFailing) this.logger.warn(`rejected launches counted in this process while Redis fails: ${(error as Error).message}`);
        this.redisFailing = true;
      }
    }
    return this.memory.count(address, window, rule);
  }

  /** One timer per window, unref'd: it must not keep a stopping process alive (shutdown writes the counts). */
  private closeAfter(window: number, rule: RejectionRule): void {
    if (this.timers.has(window)) return;
    const settleMs = Math.min(MAX_SETTLE_MS, rule.windowMs / 2);
    const dueIn = Math.max(0, (window + 1) * rule.windowMs + settleMs - Date.now());
    const timer = setTimeout(() => {
      this.timers.delete(window);
      const write = this.writeCounts(window, rule).finally(() => this.writing.delete(write));
      this.writing.add(write);
    }, dueIn);
    timer.unref();
    this.timers.set(window, timer);
  }

  /** Takes and writes the counts this process owns of one window. */
  private async writeCounts(window: number, rule: RejectionRule): Promise<void> {
    for (const [key, owned] of this.owned) {
      if (owned.window !== window) continue;
      this.owned.delete(key);
      try {
        // A count is in memory or in Redis (in memory while Redis failed): take both.
        const shared = this.shared ? await this.shared.take(owned.bucket, window).catch(() => 0) : 0;
        const notWritten = shared + (await this.memory.take(owned.bucket, window));
        if (notWritten > 0) await this.audit.record(countEvent(owned.bucket, notWritten, window, rule));
      } catch (error) {
        this.logger.error(`the count of rejected launches from ${owned.bucket} could not be audited: ${(error as Error).message}`);
      }
    }
    if (Date.now() >= (window + 1) * rule.windowMs) this.memory.forgetBefore(window + 1);
  }
}

/** The event standing for the rejected launches of a bucket and window not written one by one. */
export function countEvent(bucket: string, notWritten: number, window: number, rule: RejectionRule): AuditEventInput {
  const from = new Date(window * rule.windowMs).toISOString();
  const to = new Date((window + 1) * rule.windowMs).toISOString();
  const source =
    bucket === OTHER_ADDRESSES ? `other addresses (more than ${rule.maxAddresses} addresses sent rejected launches in this window)` : bucket;
  return {
    type: 'launch.rejected',
    outcome: 'failure',
    reason:
      `${notWritten} more rejected launch${notWritten === 1 ? '' : 'es'} from ${source} between ${from} and ${to} ` +
      `not written individually (over ${rule.limit} per ${rule.windowMs / 1000} s)`,
    clientIp: bucket === OTHER_ADDRESSES ? null : bucket,
  };
}
