import { Injectable } from '@nestjs/common';
import { AuditService } from './audit.service.js';
import type { AuditEventInput } from './audit.types.js';

/**
 * Audits rejected launches. Anyone can send one, so this is the only way they reach the log.
 * (First step: delegates to AuditService; the bounded rate follows.)
 */
@Injectable()
export class RejectedLaunchAudit {
  constructor(private readonly audit: AuditService) {}

  async record(input: AuditEventInput): Promise<void> {
    await this.audit.record(input);
  }
}
