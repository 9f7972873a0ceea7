import { Module } from '@nestjs/common';
import { AppConfig } from '../../config/index.js';
import { REDIS, type RedisClient } from '../../redis/redis.module.js';
import { AuditModule } from '../audit.module.js';
import { AuditorApiController } from './auditor-api.controller.js';
import { AuditorGuard } from './auditor.guard.js';
import { AuditorSessionStore, MemoryAuditorSessionStore } from './auditor-session.store.js';
import { AuditorSessions } from './auditor-sessions.service.js';
import { AuditorSignIn } from './auditor-sign-in.service.js';
import { RedisAuditorSessionStore } from './redis-auditor-session.store.js';
import { SignInController } from './sign-in.controller.js';

/**
 * Who may read the audit log: auditor accounts (`audit.auditors`), their sign-in page, sessions
 * and lockout, and trusted-header sign-in behind a proxy. Routes of other modules use
 * `@UseGuards(AuditorGuard)` and `@Auditor()` (src/audit/access/auditor.guard.ts); the
 * importing module gets everything the guard needs from here. Needs the global ThrottleModule.
 */
@Module({
  imports: [AuditModule],
  controllers: [SignInController, AuditorApiController],
  providers: [
    {
      provide: AuditorSessionStore,
      inject: [AppConfig, { token: REDIS, optional: true }],
      useFactory: (config: AppConfig, redis?: RedisClient | null) =>
        redis ? new RedisAuditorSessionStore(redis, config.redis.keyPrefix) : new MemoryAuditorSessionStore(),
    },
    AuditorSessions,
    AuditorSignIn,
    AuditorGuard,
  ],
  exports: [AuditorSessionStore, AuditorSessions, AuditorSignIn, AuditorGuard],
})
export class AuditAccessModule {}
