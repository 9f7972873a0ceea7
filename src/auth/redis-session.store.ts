import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/index.js';
import { REDIS, type RedisClient } from '../redis/redis.module.js';
import type { LaunchSession } from './launch.types.js';
import { hashedKey, sharedStoreUnavailable } from './redis-keys.js';
import { SessionStore } from './session.store.js';

/** Launch sessions in Redis as JSON, shared by every replica; Redis expires each at its expiresAt. */
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
    try {
      raw = await this.redis.get(this.keyOf(id));
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
    return session.expiresAt > Date.now() ? session : undefined;
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
      await this.redis.del(this.keyOf(id));
    } catch (error) {
      throw sharedStoreUnavailable('session delete', error);
    }
  }

  keyOf(id: string): string {
    return hashedKey(this.prefix, 'session', id);
  }
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
