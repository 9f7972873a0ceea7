import { Controller, Get, Header, Param, Query, Render, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Meta, type RequestMeta } from '../../common/request-meta.js';
import { Auditor, AuditorGuard, type AuditorIdentity } from '../access/auditor.guard.js';
import { parseAuditQuery } from './audit-query.js';
import { AuditWorkbench } from './audit-workbench.service.js';
import { AuditViews } from './audit-views.js';

/** The auditor's pages: search, one event, verify. Every page view is audited. */
@ApiExcludeController()
@Controller('audit')
@UseGuards(AuditorGuard)
export class AuditPagesController {
  constructor(
    private readonly workbench: AuditWorkbench,
    private readonly views: AuditViews,
  ) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  @Render('audit/search')
  async search(@Query() query: Record<string, unknown>, @Auditor() auditor: AuditorIdentity, @Meta() meta: RequestMeta) {
    const parsed = parseAuditQuery(query);
    const page = await this.workbench.search(parsed, auditor, meta);
    return this.views.search(parsed, page, auditor);
  }

  @Get('events/:id')
  @Header('Cache-Control', 'no-store')
  @Render('audit/event')
  async event(@Param('id') id: string, @Auditor() auditor: AuditorIdentity, @Meta() meta: RequestMeta) {
    return this.views.event(await this.workbench.event(id, auditor, meta), auditor);
  }

  @Get('verify')
  @Header('Cache-Control', 'no-store')
  @Render('audit/verify')
  async verify(@Auditor() auditor: AuditorIdentity, @Meta() meta: RequestMeta) {
    return this.views.verify(await this.workbench.verify(auditor, meta), auditor);
  }
}
