import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { AppConfig } from '../config/index.js';
import { ConcurClient } from './concur.client.js';
import { HostAllowList } from './host-allow-list.js';
import { REDIS, type RedisClient } from '../redis/redis.module.js';
import { SecretBox } from './secret-box.js';
import { MemoryTokenCache, RedisTokenCache, TokenCache } from './token-cache.js';
import { TokenRepository } from './token.repository.js';
import { TokenService } from './token.service.js';
import { OAuthClient } from './oauth.client.js';
import { UserTokenService } from './user-token.service.js';

/** Talks to Concur: item URL allow-listing, company and user OAuth tokens, item reads and field writes. */
@Module({
  imports: [
    HttpModule.registerAsync({
      useFactory: (config: AppConfig) => ({ timeout: config.concur.timeoutMs, maxRedirects: 0 }),
      inject: [AppConfig],
    }),
  ],
  providers: [
    HostAllowList,
    SecretBox,
    TokenRepository,
    {
      // Without a Redis client (no REDIS_URL, or no RedisModule) tokens are cached in this process.
      provide: TokenCache,
      inject: [AppConfig, SecretBox, { token: REDIS, optional: true }],
      useFactory: (config: AppConfig, box: SecretBox, redis?: RedisClient | null) =>
        redis ? new RedisTokenCache(redis, config, box) : new MemoryTokenCache(),
    },
    OAuthClient,
    TokenService,
    UserTokenService,
    ConcurClient,
  ],
  exports: [HostAllowList, SecretBox, TokenRepository, TokenService, UserTokenService, ConcurClient],
})
export class ConcurModule {}
