import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { AppConfig } from '../config/index.js';
import { ConcurClient } from './concur.client.js';
import { HostAllowList } from './host-allow-list.js';
import { SecretBox } from './secret-box.js';
import { TokenRepository } from './token.repository.js';
import { TokenService } from './token.service.js';

/** Talks to Concur: item URL allow-listing, company OAuth tokens, item reads and field writes. */
@Module({
  imports: [
    HttpModule.registerAsync({
      useFactory: (config: AppConfig) => ({ timeout: config.concur.timeoutMs, maxRedirects: 0 }),
      inject: [AppConfig],
    }),
  ],
  providers: [HostAllowList, SecretBox, TokenRepository, TokenService, ConcurClient],
  exports: [HostAllowList, SecretBox, TokenRepository, TokenService, ConcurClient],
})
export class ConcurModule {}
