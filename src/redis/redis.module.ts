import { Global, Inject, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AppConfig } from '../config/index.js';

/** Injection token of the shared ioredis client, or `null` when `REDIS_URL` is not set (memory stores). */
export const REDIS = Symbol('REDIS');
export type RedisClient = Redis;

/** Scheme, host and database only, for log lines: no user, no password, no query (ioredis takes `?password=`). */
export function redactedRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return 'redis://(unparseable URL)';
  }
}

async function openRedis(config: AppConfig): Promise<RedisClient | null> {
  const url = config.redis.url;
  if (!url) return null;
  const logger = new Logger('Redis');
  const client = new Redis(url, {
    lazyConnect: true,
    // Fail a command fast while disconnected instead of queueing it: a launch must not hang.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  client.on('error', (error: Error) => logger.warn(`Redis: ${error.message}`));
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new Error(`Redis at ${redactedRedisUrl(url)} cannot be reached: ${(error as Error).message}`);
  }
  logger.log(`Redis at ${redactedRedisUrl(url)}: nonces, sessions, rate limits and token cache are shared`);
  return client;
}

@Injectable()
export class RedisShutdown implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: RedisClient | null) {}

  async onApplicationShutdown(): Promise<void> {
    if (!this.redis) return;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}

/** Provides the Redis client (or null) under `REDIS` to every module. */
@Global()
@Module({
  providers: [{ provide: REDIS, inject: [AppConfig], useFactory: openRedis }, RedisShutdown],
  exports: [REDIS],
})
export class RedisModule {}
