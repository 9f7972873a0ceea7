import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module.js';
import { AuditRepository } from './audit.repository.js';
import { AuditService } from './audit.service.js';
import { RejectedLaunchAudit } from './rejected-launch.audit.js';

/** The hash-chained audit log. Needs the global DatabaseModule for `DB` and the configuration. */
@Module({
  imports: [MetricsModule],
  providers: [AuditRepository, AuditService, RejectedLaunchAudit],
  exports: [AuditService, AuditRepository, RejectedLaunchAudit],
})
export class AuditModule {}
