import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/index.js';
import { REDIS, type RedisClient } from '../redis/redis.module.js';
import { hashedKey, sharedStoreUnavailable } from './redis-keys.js';
import { ReplayStore } from './replay.store.js';

/** Nonces in Redis, shared by every replica: `SET key 1 EX ttl NX` is the atomic claim. */
@Injectable()
export class RedisReplayStore extends ReplayStore {
  private readonly prefix: string;

  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    config: AppConfig,
  ) {
    super();
    this.prefix = config.redis.keyPrefix;
  }

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    let reply: 'OK' | null;
    try {
      reply = await this.redis.set(this.keyOf(key), '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX');
    } catch (error) {
      throw sharedStoreUnavailable('nonce claim', error);
    }
    return reply === 'OK';
  }

  keyOf(key: string): string {
    return hashedKey(this.prefix, 'nonce', key);
  }
}
