import { Global, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppConfig, ServerAddress } from '../config/index.js';
import { DB } from '../database/database.tokens.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { ConcurClient } from './concur.client.js';
import { ConcurModule } from './concur.module.js';
import { HostAllowList } from './host-allow-list.js';
import { SecretBox } from './secret-box.js';
import { TokenRepository } from './token.repository.js';
import { TokenService } from './token.service.js';

@Global()
@Module({
  providers: [{ provide: AppConfig, useValue: new AppConfig() }, ServerAddress, { provide: DB, useValue: {} }],
  exports: [AppConfig, ServerAddress, DB],
})
class FakeRootModule {}

describe(ConcurModule.name, () => {
  it('wires and exports its services', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [FakeRootModule, MetricsModule, ConcurModule] }).compile();
    for (const type of [HostAllowList, SecretBox, TokenRepository, TokenService, ConcurClient]) {
      expect(moduleRef.get(type)).toBeInstanceOf(type);
    }
    await moduleRef.close();
  });
});
