import { Module } from '@nestjs/common';
import { AuditAccessModule } from '../access/access.module.js';
import { AuditModule } from '../audit.module.js';
import { AuditApiController } from './audit-api.controller.js';
import { AuditPagesController } from './audit-pages.controller.js';
import { AuditViews } from './audit-views.js';
import { AuditWorkbench } from './audit-workbench.service.js';

/** The auditor's workbench: search, event, export and verify, as pages and as an API (/api/docs). */
@Module({
  imports: [AuditModule, AuditAccessModule],
  controllers: [AuditPagesController, AuditApiController],
  providers: [AuditWorkbench, AuditViews],
})
export class AuditWorkbenchModule {}
