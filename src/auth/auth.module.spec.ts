import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Global, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConfigModule, validateConfig } from '../config/index.js';
import { DB } from '../database/database.tokens.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { REDIS, RedisModule } from '../redis/redis.module.js';
import { ThrottleModule } from '../throttle/throttle.module.js';
import { AuthModule } from './auth.module.js';
import { ConnectorBasicAuthGuard } from './basic-auth.guard.js';
import { DurableReplayStore } from './durable-replay.store.js';
import { LaunchSessionService } from './launch-session.service.js';
import { MemoryReplayStore, ReplayStore } from './replay.store.js';
import { RedisReplayStore } from './redis-replay.store.js';
import { RedisSessionStore } from './redis-session.store.js';
import { MemorySessionStore, SessionStore } from './session.store.js';
import { SignatureGuard } from './signature.guard.js';

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
        lookup: { type: 'file', file: join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'signature-vectors.json') },
      },
    ],
  },
  import.meta.dirname,
  {},
);

describe(AuthModule.name, () => {
  it('wires the durable nonce record over the memory fast path, the memory session store, the guards and session service', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(loaded), FakeDatabaseModule, RedisModule, MetricsModule, ThrottleModule, AuthModule],
    }).compile();
    const replay = moduleRef.get(ReplayStore);
    expect(replay).toBeInstanceOf(DurableReplayStore);
    expect((replay as DurableReplayStore).fast).toBeInstanceOf(MemoryReplayStore);
    expect(moduleRef.get(SessionStore)).toBeInstanceOf(MemorySessionStore);
    expect(moduleRef.get(LaunchSessionService)).toBeInstanceOf(LaunchSessionService);
    expect(moduleRef.get(SignatureGuard)).toBeInstanceOf(SignatureGuard);
    expect(moduleRef.get(ConnectorBasicAuthGuard)).toBeInstanceOf(ConnectorBasicAuthGuard);
    await moduleRef.close();
  });

  it('puts the nonce fast path and sessions in Redis when a Redis client is configured', async () => {
    @Global()
    @Module({ providers: [{ provide: REDIS, useValue: { status: 'ready' } }], exports: [REDIS] })
    class FakeRedisModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(loaded), FakeDatabaseModule, FakeRedisModule, MetricsModule, ThrottleModule, AuthModule],
    }).compile();
    const replay = moduleRef.get(ReplayStore);
    expect(replay).toBeInstanceOf(DurableReplayStore);
    expect((replay as DurableReplayStore).fast).toBeInstanceOf(RedisReplayStore);
    expect(moduleRef.get(SessionStore)).toBeInstanceOf(RedisSessionStore);
    await moduleRef.close();
  });
});
