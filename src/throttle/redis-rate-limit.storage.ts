import { createHash } from 'node:crypto';
import { sharedStoreUnavailable } from '../auth/redis-keys.js';
import type { RedisClient } from '../redis/redis.module.js';
import type { RateLimitKeys } from './rate-limit-keys.js';
import { RateLimitStorage, recordOf, type ThrottlerStorageRecord } from './rate-limit.storage.js';

/** KEYS: hits, block. ARGV: ttl ms, limit, blockDuration ms. Returns hits, window ms left, block ms left. */
const INCREMENT = `
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
local block = redis.call('PTTL', KEYS[2])
if block <= 0 and hits > tonumber(ARGV[2]) and tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  block = tonumber(ARGV[3])
end
return { hits, ttl, block }
`;

/** KEYS: hits. Never below zero, never creates the key; DECR keeps its expiry. */
const DECREMENT = `
local hits = tonumber(redis.call('GET', KEYS[1]) or '0')
if hits > 0 then return redis.call('DECR', KEYS[1]) end
return 0
`;

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const SCRIPTS = {
  increment: { name: 'rate limit count', lua: INCREMENT, sha: sha1(INCREMENT) },
  decrement: { name: 'rate limit take-back', lua: DECREMENT, sha: sha1(DECREMENT) },
};

/**
 * Shared counts for all replicas. Each increment is one Lua script, so concurrent hits on
 * several replicas are counted exactly. Keys carry the configured prefix and an HMAC of the
 * key material (client IPs and tenant IDs stay out of Redis), in one hash slot per key.
 * A Redis failure is a 503 (sharedStoreUnavailable), never a request let through uncounted.
 */
export class RedisRateLimitStorage extends RateLimitStorage {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly keys: RateLimitKeys,
  ) {
    super();
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const hitsKey = this.keyOf(key, throttlerName);
    const reply = (await this.run(SCRIPTS.increment, [hitsKey, `${hitsKey}:block`], [
      Math.max(1, Math.round(ttl)),
      limit,
      Math.max(0, Math.round(blockDuration)),
    ])) as [number, number, number];
    const [hits, windowLeft, blockLeft] = reply.map(Number);
    return recordOf(hits, limit, blockDuration, windowLeft, blockLeft);
  }

  async decrement(key: string, throttlerName: string): Promise<void> {
    await this.run(SCRIPTS.decrement, [this.keyOf(key, throttlerName)], []);
  }

  /** `<prefix>rl:<name>:{<hmac>}`; the braces keep the hits and block keys in one Redis Cluster slot. */
  keyOf(key: string, throttlerName: string): string {
    const hash = this.keys.digest(throttlerName, key).slice(0, 32);
    return `${this.prefix}rl:${throttlerName.replace(/[^A-Za-z0-9_-]/g, '_')}:{${hash}}`;
  }

  private async run(script: { name: string; lua: string; sha: string }, keys: string[], args: number[]): Promise<unknown> {
    try {
      try {
        return await this.redis.evalsha(script.sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!/NOSCRIPT/.test((error as Error)?.message)) throw error;
        return await this.redis.eval(script.lua, keys.length, ...keys, ...args);
      }
    } catch (error) {
      throw sharedStoreUnavailable(script.name, error);
    }
  }
}
