import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { ConcurModule } from '../concur/concur.module.js';
import { SecretBox } from '../concur/secret-box.js';
import { AppConfig } from '../config/index.js';
import { REDIS, type RedisClient } from '../redis/redis.module.js';
import { ConnectorBasicAuthGuard } from './basic-auth.guard.js';
import { ClaimedNonceRepository } from './claimed-nonce.repository.js';
import { ClaimedNonceRetention } from './claimed-nonce.retention.js';
import { DurableReplayStore } from './durable-replay.store.js';
import { LaunchSessionService } from './launch-session.service.js';
import { RedisReplayStore } from './redis-replay.store.js';
import { RedisSessionStore } from './redis-session.store.js';
import { MemoryReplayStore, ReplayStore } from './replay.store.js';
import { MemorySessionStore, SessionStore } from './session.store.js';
import { SignatureGuard } from './signature.guard.js';

/** Without a Redis client (no REDIS_URL, or no RedisModule) the stores live in this process. */
const redisOrNull = { token: REDIS, optional: true };

/** Launch verification (signature, durable nonce record), launch sessions and the Test Connection guard. */
@Module({
  imports: [AuditModule, ConcurModule],
  providers: [
    ClaimedNonceRepository,
    ClaimedNonceRetention,
    {
      // Redis or memory is the fast path; the database (SQLite or PostgreSQL) is the record.
      provide: ReplayStore,
      inject: [AppConfig, ClaimedNonceRepository, SecretBox, redisOrNull],
      useFactory: (config: AppConfig, record: ClaimedNonceRepository, box: SecretBox, redis?: RedisClient | null) =>
        new DurableReplayStore(redis ? new RedisReplayStore(redis, config) : new MemoryReplayStore(config), record, box),
    },
    {
      provide: SessionStore,
      inject: [AppConfig, redisOrNull],
      useFactory: (config: AppConfig, redis?: RedisClient | null) =>
        redis ? new RedisSessionStore(redis, config) : new MemorySessionStore(),
    },
    LaunchSessionService,
    SignatureGuard,
    ConnectorBasicAuthGuard,
  ],
  exports: [ReplayStore, SessionStore, LaunchSessionService, SignatureGuard, ConnectorBasicAuthGuard],
})
export class AuthModule {}
