import { Global, Logger, Module } from '@nestjs/common';
import { AppConfig } from '../config/index.js';
import { REDIS, type RedisClient } from '../redis/redis.module.js';
import { RateLimitKeys } from './rate-limit-keys.js';
import { MemoryRateLimitStorage, RateLimitStorage } from './rate-limit.storage.js';
import { RateLimiter } from './rate-limiter.service.js';
import { RedisRateLimitStorage } from './redis-rate-limit.storage.js';

function rateLimitStorage(config: AppConfig, keys: RateLimitKeys, redis?: RedisClient | null): RateLimitStorage {
  if (!config.rateLimit.enabled) new Logger('RateLimit').warn('rate limits are off (rateLimit.enabled: false)');
  return redis ? new RedisRateLimitStorage(redis, config.redis.keyPrefix, keys) : new MemoryRateLimitStorage(Date.now, config.rateLimit.memoryMaxKeys);
}

/**
 * Rate limits on launches and Test Connection: counts in Redis when REDIS_URL is set
 * (RedisModule), else in memory. Routes opt in with @RateLimit; ConnectorBasicAuthGuard uses
 * RateLimiter and RateLimitKeys.
 */
@Global()
@Module({
  providers: [
    { provide: RateLimitKeys, inject: [AppConfig], useFactory: RateLimitKeys.fromConfig },
    {
      provide: RateLimitStorage,
      inject: [AppConfig, RateLimitKeys, { token: REDIS, optional: true }],
      useFactory: rateLimitStorage,
    },
    RateLimiter,
  ],
  exports: [RateLimitKeys, RateLimitStorage, RateLimiter],
})
export class ThrottleModule {}
