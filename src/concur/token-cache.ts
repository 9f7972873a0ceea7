import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { constantTimeEqual, sha256Hex } from '../common/secret-compare.js';
import { AppConfig } from '../config/index.js';
import { REDIS, type RedisClient } from '../redis/redis.module.js';
import { type AccessToken, ConcurError } from './concur.types.js';
import { SecretBox } from './secret-box.js';

/** A company access token and when to stop using it. */
export interface FreshToken {
  accessToken: string;
  /** Epoch ms after which the token is refreshed (expiry minus the configured skew). */
  refreshAt: number;
  /** Where the token's API calls go (its answer's geolocation). */
  geolocation?: string;
}

/**
 * Company access tokens by tenant. The port: the memory adapter serves one process, the Redis
 * adapter all replicas (one refresh at a time per tenant across them).
 */
export abstract class TokenCache {
  /**
   * The tenant's cached token, or the one `refresh` obtains. Concurrent callers share one
   * refresh; `refresh` runs while this cache holds the tenant's lock and must read the latest
   * stored refresh token itself.
   */
  abstract get(tenantId: string, refresh: () => Promise<FreshToken>): Promise<AccessToken>;

  /** Forgets the cached token; with `rejectedToken`, only if that is the one cached. */
  abstract invalidate(tenantId: string, rejectedToken?: string): Promise<void>;
}

/** One process only: every replica would refresh (and rotate) on its own. */
@Injectable()
export class MemoryTokenCache extends TokenCache {
  private readonly tokens = new Map<string, FreshToken>();
  private readonly inFlight = new Map<string, Promise<AccessToken>>();

  get(tenantId: string, refresh: () => Promise<FreshToken>): Promise<AccessToken> {
    const cached = this.tokens.get(tenantId);
    if (cached && Date.now() < cached.refreshAt) return Promise.resolve(accessTokenOf(cached));
    let pending = this.inFlight.get(tenantId);
    if (!pending) {
      pending = refresh()
        .then((token) => {
          this.tokens.set(tenantId, token);
          return accessTokenOf(token);
        })
        .finally(() => this.inFlight.delete(tenantId));
      this.inFlight.set(tenantId, pending);
    }
    return pending;
  }

  async invalidate(tenantId: string, rejectedToken?: string): Promise<void> {
    const cached = this.tokens.get(tenantId);
    if (!cached) return;
    if (rejectedToken === undefined || constantTimeEqual(cached.accessToken, rejectedToken)) this.tokens.delete(tenantId);
  }
}

/** Stored in Redis under the tenant's token key: the token only sealed, its sha256 for compare-and-delete. */
interface StoredToken {
  sealed: string;
  sha256: string;
  refreshAt: number;
  geolocation?: string;
}

function accessTokenOf(token: FreshToken): AccessToken {
  return token.geolocation === undefined ? { accessToken: token.accessToken } : { accessToken: token.accessToken, geolocation: token.geolocation };
}

/** Deletes KEYS[1] only while it holds ARGV[1]: a lock released late cannot free a successor's lock. */
const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Deletes the cached token only if it is the rejected one (by sha256); an unreadable entry goes too. */
const DELETE_IF_REJECTED = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, stored = pcall(cjson.decode, raw)
if ok and type(stored) == 'table' and stored.sha256 ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`;

const LOCK_MARGIN_MS = 5_000;
const POLL_MS = 75;

export interface RedisTokenCacheTiming {
  /** How long a refresh may hold the tenant's lock before Redis frees it. */
  lockMs: number;
  /** Pause between looks while another replica refreshes. */
  pollMs: number;
  /** Longest wait for another replica's refresh before giving up. */
  maxWaitMs: number;
}

/** The lock outlives the longest refresh the configured timeouts allow; a waiter outlives the lock. */
export function redisTokenCacheTiming(config: AppConfig): RedisTokenCacheTiming {
  const lockMs = config.concur.timeoutMs * (config.concur.maxRetries + 1) + LOCK_MARGIN_MS;
  return { lockMs, pollMs: POLL_MS, maxWaitMs: lockMs + 1_000 };
}

/**
 * Tokens shared by all replicas: sealed in Redis until their refreshAt, refreshed under a per-tenant
 * lock (`SET NX PX`, released by compare-and-delete). A replica that finds the lock taken waits for
 * the token to appear or the lock to go. Any Redis failure is an 'unavailable' ConcurError, never a
 * fallback to a private refresh (that would rotate the refresh token under the other replicas).
 */
@Injectable()
export class RedisTokenCache extends TokenCache {
  private readonly logger = new Logger(RedisTokenCache.name);
  private readonly inFlight = new Map<string, Promise<AccessToken>>();
  private readonly prefix: string;
  private readonly timing: RedisTokenCacheTiming;

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    config: AppConfig,
    private readonly box: SecretBox,
    @Optional() timing?: Partial<RedisTokenCacheTiming>,
  ) {
    super();
    this.prefix = config.redis.keyPrefix;
    this.timing = { ...redisTokenCacheTiming(config), ...timing };
  }

  get(tenantId: string, refresh: () => Promise<FreshToken>): Promise<AccessToken> {
    let pending = this.inFlight.get(tenantId);
    if (!pending) {
      pending = this.obtain(tenantId, refresh).finally(() => this.inFlight.delete(tenantId));
      this.inFlight.set(tenantId, pending);
    }
    return pending;
  }

  async invalidate(tenantId: string, rejectedToken?: string): Promise<void> {
    const key = this.tokenKey(tenantId);
    await this.call('token invalidation', () =>
      rejectedToken === undefined ? this.redis.del(key) : this.redis.eval(DELETE_IF_REJECTED, 1, key, sha256Hex(rejectedToken)),
    );
  }

  tokenKey(tenantId: string): string {
    return `${this.prefix}concur-token:${tenantId}`;
  }

  lockKey(tenantId: string): string {
    return `${this.prefix}concur-token-lock:${tenantId}`;
  }

  private async obtain(tenantId: string, refresh: () => Promise<FreshToken>): Promise<AccessToken> {
    const tokenKey = this.tokenKey(tenantId);
    const lockKey = this.lockKey(tenantId);
    const deadline = Date.now() + this.timing.maxWaitMs;
    for (;;) {
      const cached = this.open(tenantId, await this.call('token read', () => this.redis.get(tokenKey)));
      if (cached) return cached;
      const lockValue = randomBytes(16).toString('hex');
      const locked = await this.call('token lock', () => this.redis.set(lockKey, lockValue, 'PX', this.timing.lockMs, 'NX'));
      if (locked === 'OK') return this.refreshLocked(tenantId, lockValue, refresh);
      // Another replica is refreshing: wait for its token, or for its lock to go (done, failed or expired).
      for (;;) {
        if (Date.now() >= deadline) {
          throw new ConcurError('unavailable', 'timed out waiting for another replica to refresh the Concur token');
        }
        await sleep(this.timing.pollMs);
        const [raw, lock] = await this.call('token read', () => this.redis.mget(tokenKey, lockKey));
        const token = this.open(tenantId, raw);
        if (token) return token;
        if (lock === null) break;
      }
    }
  }

  private async refreshLocked(tenantId: string, lockValue: string, refresh: () => Promise<FreshToken>): Promise<AccessToken> {
    const tokenKey = this.tokenKey(tenantId);
    try {
      // Another replica may have refreshed between our read and our lock.
      const cached = this.open(tenantId, await this.call('token read', () => this.redis.get(tokenKey)));
      if (cached) return cached;
      const fresh = await refresh();
      const ttlMs = fresh.refreshAt - Date.now();
      if (ttlMs > 0) {
        const stored: StoredToken = {
          sealed: this.box.seal(fresh.accessToken),
          sha256: sha256Hex(fresh.accessToken),
          refreshAt: fresh.refreshAt,
          ...(fresh.geolocation !== undefined ? { geolocation: fresh.geolocation } : {}),
        };
        try {
          await this.redis.set(tokenKey, JSON.stringify(stored), 'PX', Math.ceil(ttlMs));
        } catch (error) {
          // The token is good: use it; the other replicas will refresh on their own.
          this.logger.warn(`token of tenant ${tenantId} could not be cached in Redis: ${(error as Error).message}`);
        }
      }
      return accessTokenOf(fresh);
    } finally {
      await this.redis.eval(RELEASE_LOCK, 1, this.lockKey(tenantId), lockValue).catch((error: unknown) => {
        this.logger.warn(`token lock of tenant ${tenantId} could not be released (it expires by itself): ${(error as Error).message}`);
      });
    }
  }

  /** The usable token from a stored entry, or undefined (none, due, or unreadable). */
  private open(tenantId: string, raw: string | null): AccessToken | undefined {
    if (raw === null) return undefined;
    const stored = parseStoredToken(raw);
    if (!stored) {
      this.logger.warn(`cached token of tenant ${tenantId} is not readable; refreshing`);
      return undefined;
    }
    if (Date.now() >= stored.refreshAt) return undefined;
    try {
      return accessTokenOf({ accessToken: this.box.open(stored.sealed), refreshAt: stored.refreshAt, geolocation: stored.geolocation });
    } catch {
      this.logger.warn(`cached token of tenant ${tenantId} cannot be opened (another encryption key?); refreshing`);
      return undefined;
    }
  }

  private async call<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw new ConcurError('unavailable', `Redis ${operation} failed: ${(error as Error).message}`, undefined, 'shared-store');
    }
  }
}

export function parseStoredToken(raw: string): StoredToken | undefined {
  try {
    const value = JSON.parse(raw) as Partial<StoredToken> | null;
    if (
      typeof value === 'object' &&
      value !== null &&
      typeof value.sealed === 'string' &&
      typeof value.sha256 === 'string' &&
      typeof value.refreshAt === 'number'
    ) {
      return {
        sealed: value.sealed,
        sha256: value.sha256,
        refreshAt: value.refreshAt,
        ...(typeof value.geolocation === 'string' ? { geolocation: value.geolocation } : {}),
      };
    }
  } catch {
    // damaged JSON: treated as no token
  }
  return undefined;
}


function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
