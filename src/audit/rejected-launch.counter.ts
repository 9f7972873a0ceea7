import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis/redis.module.js';
import type { RateLimitKeys } from '../throttle/rate-limit-keys.js';

/** The bucket of rejections from addresses beyond the tracked ones. */
export const OTHER_ADDRESSES = 'other addresses';

/** What counting one rejected launch decided. */
export interface RejectionTally {
  /** Within the limit of its address and window: audit it as one event. */
  individually: boolean;
  /**
   * Over the limit, and the first one not audited since the bucket's count was last taken: the
   * caller now owns that count and writes it as one event when the window closes.
   */
  startsCount: boolean;
  /** The address, or OTHER_ADDRESSES when too many addresses are tracked in this window. */
  bucket: string;
}

export interface RejectionRule {
  limit: number;
  /** Most addresses counted one by one in one window; the rest share OTHER_ADDRESSES. */
  maxAddresses: number;
  windowMs: number;
}

/**
 * Counts rejected launches per address in fixed windows (window = floor(time / windowMs), the
 * same on every replica), and, per bucket and window, those over the limit until they are taken.
 */
export interface RejectionCounter {
  count(address: string, window: number, rule: RejectionRule): Promise<RejectionTally>;
  /** The count of those not audited individually, reset to 0: the next one over the limit starts a new count. */
  take(bucket: string, window: number): Promise<number>;
  /** Forgets windows before `window` (memory only; Redis keys expire). */
  forgetBefore(window: number): void;
}

interface Tally {
  seen: number;
  notWritten: number;
}

/**
 * One process: with several replicas each counts its own, so the log may hold up to `limit`
 * events per address, window and replica. Its memory is bounded: at most `maxAddresses` + 1
 * buckets in each of the (at most two) windows it keeps.
 */
export class MemoryRejectionCounter implements RejectionCounter {
  private readonly windows = new Map<number, Map<string, Tally>>();

  async count(address: string, window: number, rule: RejectionRule): Promise<RejectionTally> {
    this.forgetBefore(window - 1);
    let buckets = this.windows.get(window);
    if (!buckets) this.windows.set(window, (buckets = new Map()));
    // Refuse to track a new address when full (rather than evict one whose count is running).
    const bucket = buckets.has(address) || buckets.size < rule.maxAddresses ? address : OTHER_ADDRESSES;
    let tally = buckets.get(bucket);
    if (!tally) buckets.set(bucket, (tally = { seen: 0, notWritten: 0 }));
    tally.seen += 1;
    if (tally.seen <= rule.limit) return { individually: true, startsCount: false, bucket };
    tally.notWritten += 1;
    return { individually: false, startsCount: tally.notWritten === 1, bucket };
  }

  async take(bucket: string, window: number): Promise<number> {
    const tally = this.windows.get(window)?.get(bucket);
    if (!tally) return 0;
    const taken = tally.notWritten;
    tally.notWritten = 0;
    return taken;
  }

  forgetBefore(window: number): void {
    for (const key of this.windows.keys()) if (key < window) this.windows.delete(key);
  }

  /** Buckets held over all windows kept. */
  get size(): number {
    let size = 0;
    for (const buckets of this.windows.values()) size += buckets.size;
    return size;
  }
}

/**
 * KEYS: seen, notWritten (of the address), addresses (of the window), seen, notWritten (of
 * OTHER_ADDRESSES). ARGV: limit, key lifetime ms, maxAddresses.
 * Returns { individually 0/1, notWritten after this one, bucket is other 0/1 }.
 */
const COUNT = `
local seen, notWritten, other = KEYS[1], KEYS[2], 0
if redis.call('EXISTS', seen) == 0 then
  local addresses = redis.call('INCR', KEYS[3])
  if addresses == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
  if addresses > tonumber(ARGV[3]) then seen, notWritten, other = KEYS[4], KEYS[5], 1 end
end
local hits = redis.call('INCR', seen)
if hits == 1 then redis.call('PEXPIRE', seen, ARGV[2]) end
if hits <= tonumber(ARGV[1]) then return { 1, 0, other } end
local n = redis.call('INCR', notWritten)
if n == 1 then redis.call('PEXPIRE', notWritten, ARGV[2]) end
return { 0, n, other }
`;

/** KEYS: notWritten. Returns its count and deletes it (GETDEL needs Redis 6.2). */
const TAKE = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
redis.call('DEL', KEYS[1])
return n
`;

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const SCRIPTS = { count: { lua: COUNT, sha: sha1(COUNT) }, take: { lua: TAKE, sha: sha1(TAKE) } };

/**
 * Shared by all replicas: one Lua script counts each rejection, so the limit holds for the
 * whole deployment and the count not written individually is taken (and written) once. Keys
 * hold an HMAC of the address (no client IPs in Redis), live two windows, and share the window
 * as hash tag (one Redis Cluster slot). The addresses counted per window are capped like in
 * memory, so a flood from many addresses adds at most `maxAddresses` keys per window.
 */
export class RedisRejectionCounter implements RejectionCounter {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly keys: RateLimitKeys,
  ) {}

  async count(address: string, window: number, rule: RejectionRule): Promise<RejectionTally> {
    const [individually, notWritten, other] = ((await this.run(
      SCRIPTS.count,
      [
        this.keyOf(window, address, 'seen'),
        this.keyOf(window, address, 'not-written'),
        `${this.windowPrefix(window)}:addresses`,
        this.keyOf(window, OTHER_ADDRESSES, 'seen'),
        this.keyOf(window, OTHER_ADDRESSES, 'not-written'),
      ],
      [rule.limit, rule.windowMs * 2, rule.maxAddresses],
    )) as number[]).map(Number);
    return { individually: individually === 1, startsCount: notWritten === 1, bucket: other === 1 ? OTHER_ADDRESSES : address };
  }

  async take(bucket: string, window: number): Promise<number> {
    return Number(await this.run(SCRIPTS.take, [this.keyOf(window, bucket, 'not-written')], []));
  }

  forgetBefore(): void {
    // Redis keys expire after two windows.
  }

  private windowPrefix(window: number): string {
    return `${this.prefix}audit-rejected:{${window}}`;
  }

  private keyOf(window: number, bucket: string, what: 'seen' | 'not-written'): string {
    const name = bucket === OTHER_ADDRESSES ? 'other' : this.keys.digest('audit-rejected', bucket).slice(0, 32);
    return `${this.windowPrefix(window)}:${name}:${what}`;
  }

  private async run(script: { lua: string; sha: string }, keys: string[], args: number[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!/NOSCRIPT/.test((error as Error)?.message)) throw error;
      return await this.redis.eval(script.lua, keys.length, ...keys, ...args);
    }
  }
}
