import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/index.js';
import { REDIS, type RedisClient } from '../redis/redis.module.js';
import type { LaunchSession } from './launch.types.js';
import { hashedKey, sharedStoreUnavailable } from './redis-keys.js';
import { type LaunchDone, newClaimToken, SessionStore, type UpdateState } from './session.store.js';

/** Sets the claim to `done` if it still holds the caller's token, with the claim's remaining lifetime. */
const COMPLETE_UPDATE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl) else redis.call('SET', KEYS[1], ARGV[2]) end
return 1`;

/** Deletes the claim only if it still holds the caller's token. */
const RELEASE_UPDATE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const CLAIMED = 'claimed:';
const DONE = 'done:';

/**
 * Launch sessions in Redis as JSON, shared by every replica; Redis expires each at its expiresAt.
 * The update claim is a second key, `<prefix>update:<hash>`: `claimed:<token>` from `SET NX PX`
 * (the session's remaining lifetime) until the update succeeds, then `done:<json>`.
 */
@Injectable()
export class RedisSessionStore extends SessionStore {
  private readonly logger = new Logger(RedisSessionStore.name);
  private readonly prefix: string;

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    config: AppConfig,
  ) {
    super();
    this.prefix = config.redis.keyPrefix;
  }

  async get(id: string): Promise<LaunchSession | undefined> {
    let raw: string | null;
    let update: string | null;
    try {
      [raw, update] = await this.redis.mget(this.keyOf(id), this.updateKeyOf(id));
    } catch (error) {
      throw sharedStoreUnavailable('session read', error);
    }
    if (raw === null) return undefined;
    const session = parseSession(raw, id);
    if (!session) {
      this.logger.warn('a stored launch session is not readable; treating it as unknown');
      return undefined;
    }
    // Redis expires to the millisecond, but a read may land between expiresAt and the eviction.
    if (session.expiresAt <= Date.now()) return undefined;
    const state = parseUpdate(update);
    if (state.state === 'done') session.done = state.done;
    return session;
  }

  async set(session: LaunchSession): Promise<void> {
    const ttlMs = session.expiresAt - Date.now();
    const key = this.keyOf(session.id);
    try {
      if (ttlMs <= 0) await this.redis.del(key);
      else await this.redis.set(key, JSON.stringify(session), 'PX', Math.ceil(ttlMs));
    } catch (error) {
      throw sharedStoreUnavailable('session write', error);
    }
  }

  async delete(id: string): Promise<void> {
    try {
      await this.redis.del(this.keyOf(id), this.updateKeyOf(id));
    } catch (error) {
      throw sharedStoreUnavailable('session delete', error);
    }
  }

  async claimUpdate(id: string, expiresAt: number): Promise<string | undefined> {
    const ttlMs = expiresAt - Date.now();
    if (ttlMs <= 0) return undefined;
    const token = newClaimToken();
    let reply: 'OK' | null;
    try {
      reply = await this.redis.set(this.updateKeyOf(id), `${CLAIMED}${token}`, 'PX', Math.ceil(ttlMs), 'NX');
    } catch (error) {
      throw sharedStoreUnavailable('update claim', error);
    }
    return reply === 'OK' ? token : undefined;
  }

  async completeUpdate(id: string, token: string, done: LaunchDone): Promise<boolean> {
    try {
      const reply = await this.redis.eval(COMPLETE_UPDATE, 1, this.updateKeyOf(id), `${CLAIMED}${token}`, `${DONE}${JSON.stringify(done)}`);
      return Number(reply) === 1;
    } catch (error) {
      throw sharedStoreUnavailable('update completion', error);
    }
  }

  async releaseUpdate(id: string, token: string): Promise<boolean> {
    try {
      const reply = await this.redis.eval(RELEASE_UPDATE, 1, this.updateKeyOf(id), `${CLAIMED}${token}`);
      return Number(reply) === 1;
    } catch (error) {
      throw sharedStoreUnavailable('update release', error);
    }
  }

  async updateState(id: string): Promise<UpdateState> {
    try {
      return parseUpdate(await this.redis.get(this.updateKeyOf(id)));
    } catch (error) {
      throw sharedStoreUnavailable('update read', error);
    }
  }

  keyOf(id: string): string {
    return hashedKey(this.prefix, 'session', id);
  }

  updateKeyOf(id: string): string {
    return hashedKey(this.prefix, 'update', id);
  }
}

/** The update claim as stored; anything unreadable counts as claimed, so it never allows a second write. */
export function parseUpdate(raw: string | null): UpdateState {
  if (raw === null) return { state: 'free' };
  if (!raw.startsWith(DONE)) return { state: 'claimed' };
  try {
    const done = JSON.parse(raw.slice(DONE.length)) as Partial<LaunchDone> | null;
    if (typeof done?.value === 'string' && typeof done.at === 'number') return { state: 'done', done: { value: done.value, at: done.at } };
  } catch {
    // falls through
  }
  return { state: 'claimed' };
}

/** The stored session, or undefined when the JSON is damaged or is not the session asked for. */
export function parseSession(raw: string, id: string): LaunchSession | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const session = value as Partial<LaunchSession>;
  if (session.id !== id || typeof session.expiresAt !== 'number' || typeof session.cookieHash !== 'string') return undefined;
  return session as LaunchSession;
}
