import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { AuthModule } from '../auth/auth.module.js';
import { ConcurModule } from '../concur/concur.module.js';
import { LookupModule } from '../lookup/lookup.module.js';
import { FieldUpdateService } from './field-update.service.js';
import { LaunchController } from './launch.controller.js';
import { LaunchService } from './launch.service.js';
import { LaunchTokensService } from './launch-tokens.service.js';
import { SessionController } from './session.controller.js';
import { SessionPageService } from './session-page.service.js';
import { TestConnectionController } from './test-connection.controller.js';

@Module({
  imports: [AuthModule, AuditModule, ConcurModule, LookupModule],
  controllers: [LaunchController, SessionController, TestConnectionController],
  providers: [LaunchService, LaunchTokensService, SessionPageService, FieldUpdateService],
})
export class CalloutModule {}
