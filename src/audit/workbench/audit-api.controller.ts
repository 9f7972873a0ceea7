import { Controller, Get, Header, Param, Query, Res, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse, ApiBasicAuth, ApiCookieAuth, ApiForbiddenResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation,
  ApiParam, ApiProduces, ApiTags, ApiTooManyRequestsResponse, ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { Meta, type RequestMeta } from '../../common/request-meta.js';
import { Auditor, AuditorGuard, type AuditorIdentity } from '../access/auditor.guard.js';
import type { AuditPage } from '../audit.types.js';
import type { EventInChain } from '../audit.service.js';
import { describeVerification } from '../verification-text.js';
import {
  ApiAuditFilters, ApiExportFormat, ApiPaging, AuditPageDto, ErrorDto, EventInChainDto, VerificationDto,
} from './audit-api.dto.js';
import { parseAuditQuery } from './audit-query.js';
import { AuditWorkbench } from './audit-workbench.service.js';

/** The audit log for machines: search, one event, export, verify. Auditors only; every call is audited. */
@ApiTags('audit')
@ApiBasicAuth()
@ApiCookieAuth()
@ApiUnauthorizedResponse({ type: ErrorDto, description: 'No auditor signed in: HTTP Basic with an auditor account, the sign-in cookie, or the trusted proxy' })
@ApiForbiddenResponse({ type: ErrorDto, description: 'Signed in, but not an auditor (trusted-header groups)' })
@ApiTooManyRequestsResponse({ type: ErrorDto, description: 'The user name is locked after repeated failed sign-ins' })
@Controller('api/audit')
@UseGuards(AuditorGuard)
export class AuditApiController {
  constructor(private readonly workbench: AuditWorkbench) {}

  @Get('events')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Search events', description: 'Newest first, filtered; follow `nextCursor` for more. Unknown or repeated parameters are refused.' })
  @ApiAuditFilters()
  @ApiPaging()
  @ApiOkResponse({ type: AuditPageDto })
  @ApiBadRequestResponse({ type: ErrorDto })
  search(@Query() query: Record<string, unknown>, @Auditor() auditor: AuditorIdentity, @Meta() meta: RequestMeta): Promise<AuditPage> {
    return this.workbench.search(parseAuditQuery(query), auditor, meta);
  }

  @Get('events/:id')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'One event and its place in the chain', description: 'Whether its hash matches its content and links to the event before it, its neighbours, and the events of its launch.' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: EventInChainDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  event(@Param('id') id: string, @Auditor() auditor: AuditorIdentity, @Meta() meta: RequestMeta): Promise<EventInChain> {
    return this.workbench.event(id, auditor, meta);
  }

  @Get('export')
  @ApiOperation({
    summary: 'Export events as CSV or NDJSON',
    description:
      'Every event of the filter, oldest first, up to the chain head when the export starts, streamed. The last line is a trailer: ' +
      'CSV `# export: N row(s) up to chain head #S <hash>,"<JSON>"`, NDJSON `{"export": {...}}`, with the filter, the row count and the chain head. ' +
      'Text is exported as stored, except that in CSV control, bidi and invisible characters are written as `\\uXXXX` (`\\u{XXXXX}`) and ' +
      'backslashes doubled, and a cell a spreadsheet would run as a formula starts with `\'`; NDJSON holds the stored text exactly ' +
      '(bidi and invisible characters as JSON `\\uXXXX` escapes).',
  })
  @ApiAuditFilters()
  @ApiExportFormat()
  @ApiProduces('text/csv', 'application/x-ndjson')
  @ApiOkResponse({ description: 'The rows, then the trailer' })
  @ApiBadRequestResponse({ type: ErrorDto })
  async export(@Query() query: Record<string, unknown>, @Auditor() auditor: AuditorIdentity, @Meta() meta: RequestMeta, @Res() res: Response): Promise<void> {
    const parsed = parseAuditQuery(query);
    await this.workbench.export(parsed, parsed.format ?? 'csv', auditor, meta, res);
  }

  @Get('verify')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Verify the hash chain', description: 'Recomputes every hash from #1 (or the newest retention checkpoint): intact up to #N, or the first broken or missing event and why.' })
  @ApiOkResponse({ type: VerificationDto })
  async verify(@Auditor() auditor: AuditorIdentity, @Meta() meta: RequestMeta): Promise<VerificationDto> {
    const result = await this.workbench.verify(auditor, meta);
    return { ...result, summary: describeVerification(result) };
  }
}
