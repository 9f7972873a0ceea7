import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Controller, Get, Global, Module, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConfigModule, validateConfig } from '../../config/index.js';
import { DB } from '../../database/database.tokens.js';
import { MetricsModule } from '../../metrics/metrics.module.js';
import { REDIS, RedisModule } from '../../redis/redis.module.js';
import { ThrottleModule } from '../../throttle/throttle.module.js';
import { AuditAccessModule } from './access.module.js';
import { Auditor, AuditorGuard, type AuditorIdentity } from './auditor.guard.js';
import { AuditorSessionStore, MemoryAuditorSessionStore } from './auditor-session.store.js';
import { RedisAuditorSessionStore } from './redis-auditor-session.store.js';

@Global()
@Module({ providers: [{ provide: DB, useValue: {} }], exports: [DB] })
class FakeDatabaseModule {}

const loaded = validateConfig(
  {
    concur: { apiOrigins: ['https://us.api.concursolutions.com'] },
    tenants: [
      {
        id: 'acme',
        name: 'Acme',
        companyDomains: ['acme.example.com'],
        connector: { username: 'AcmeConnector', password: 'acme-password-1' },
        launch: { versions: [4] },
        oauth: { baseUrl: 'https://us.api.concursolutions.com', clientId: 'c', clientSecret: 's', refreshToken: 'r' },
        fields: { v4: { entry: ['custom9'] } },
        lookup: { type: 'file', file: join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'signature-vectors.json') },
      },
    ],
  },
  import.meta.dirname,
  {},
);

/** What another module (the audit workbench) does with the guard. */
@Controller('audit/probe')
@UseGuards(AuditorGuard)
class ConsumerController {
  @Get()
  who(@Auditor() auditor: AuditorIdentity) {
    return auditor.username;
  }
}

@Module({ imports: [AuditAccessModule], controllers: [ConsumerController] })
class ConsumerModule {}

const base = [ConfigModule.forRoot(loaded), FakeDatabaseModule, MetricsModule, ThrottleModule];

describe(AuditAccessModule.name, () => {
  it('keeps auditor sessions in memory without Redis, and lends its guard to an importing module', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [...base, RedisModule, ConsumerModule] }).compile();
    expect(moduleRef.get(AuditorSessionStore)).toBeInstanceOf(MemoryAuditorSessionStore);
    expect(moduleRef.get(AuditorGuard)).toBeInstanceOf(AuditorGuard);
    await moduleRef.close();
  });

  it('keeps auditor sessions in Redis when a Redis client is configured', async () => {
    @Global()
    @Module({ providers: [{ provide: REDIS, useValue: { status: 'ready' } }], exports: [REDIS] })
    class FakeRedisModule {}
    const moduleRef = await Test.createTestingModule({ imports: [...base, FakeRedisModule, AuditAccessModule] }).compile();
    expect(moduleRef.get(AuditorSessionStore)).toBeInstanceOf(RedisAuditorSessionStore);
    await moduleRef.close();
  });
});
