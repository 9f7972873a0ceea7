import { ApiProperty, ApiPropertyOptional, ApiQuery } from '@nestjs/swagger';
import { applyDecorators } from '@nestjs/common';
import { MAX_PAGE_SIZE } from '../audit.service.js';
import { AUDIT_EVENT_TYPES, AUDIT_OUTCOMES } from '../audit.types.js';
import { DEFAULT_PAGE_SIZE, EXPORT_FORMATS } from './audit-query.js';

/** Shapes of the audit API, for its OpenAPI description at /api/docs. */

export class AuditEventDto {
  @ApiProperty({ description: 'Position in the hash chain, 1-based, gap-free', example: 1042 }) seq: number;
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'date-time', description: 'When it happened (UTC)' }) occurredAt: string;
  @ApiProperty({ enum: AUDIT_EVENT_TYPES }) type: string;
  @ApiProperty({ enum: AUDIT_OUTCOMES }) outcome: string;
  @ApiProperty({ nullable: true, type: String, description: 'Connector tenant id' }) tenantId: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Concur company domain' }) companyDomain: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Who acted: the Concur user, or the auditor for audit.* events' }) actingUser: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Owner of the expense report' }) reportOwner: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Concur URL of the report, entry or allocation' }) itemUrl: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Links the events of one launch' }) launchId: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'The Concur form field written' }) field: string | null;
  @ApiProperty({ nullable: true, type: String }) oldValue: string | null;
  @ApiProperty({ nullable: true, type: String }) newValue: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Why a launch was rejected or an update failed' }) reason: string | null;
  @ApiProperty({ nullable: true, type: String }) correlationId: string | null;
  @ApiProperty({ nullable: true, type: String }) clientIp: string | null;
  @ApiProperty({ nullable: true, type: String }) userAgent: string | null;
  @ApiProperty({ description: 'hash of the event before it (64 zeros for #1)', pattern: '^[0-9a-f]{64}$' }) prevHash: string;
  @ApiProperty({ description: 'sha256 of the canonical JSON of every other column', pattern: '^[0-9a-f]{64}$' }) hash: string;
}

export class AuditPageDto {
  @ApiProperty({ type: [AuditEventDto], description: 'Newest first' }) events: AuditEventDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` for the next page; null on the last page' }) nextCursor: string | null;
}

class EventRefDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() seq: number;
}

export class EventInChainDto {
  @ApiProperty({ type: AuditEventDto }) event: AuditEventDto;
  @ApiProperty({ description: "sha256 of the event's content equals its hash" }) hashMatches: boolean;
  @ApiProperty({ nullable: true, type: Boolean, description: 'prevHash equals the hash of the event before it; null when that event is missing' }) linksToPrevious: boolean | null;
  @ApiProperty({ description: 'The event before it was removed by a retention purge' }) previousPurged: boolean;
  @ApiProperty({ nullable: true, type: EventRefDto }) previous: EventRefDto | null;
  @ApiProperty({ nullable: true, type: EventRefDto }) next: EventRefDto | null;
  @ApiProperty({ type: [AuditEventDto], description: 'Every event of the same launch, oldest first' }) launchEvents: AuditEventDto[];
}

export class VerificationDto {
  @ApiProperty({ description: 'The whole chain recomputes' }) intact: boolean;
  @ApiProperty({ description: 'intact up to #N, or where and why it breaks' }) summary: string;
  @ApiProperty({ description: 'The first event checked: 1, or the first kept after a retention purge' }) firstSeq: number;
  @ApiPropertyOptional({ description: 'When intact: events checked' }) count?: number;
  @ApiPropertyOptional({ description: 'When intact: the newest event' }) headSeq?: number;
  @ApiPropertyOptional({ description: 'When intact: its hash, to compare with one kept elsewhere' }) headHash?: string;
  @ApiPropertyOptional({ description: 'When broken: the first missing or altered event' }) brokenAt?: number;
  @ApiPropertyOptional() why?: string;
  @ApiPropertyOptional() intactUpTo?: number;
}

export class ErrorDto {
  @ApiProperty() statusCode: number;
  @ApiProperty() error: string;
  @ApiProperty({ description: 'What was wrong and what to do' }) message: string;
  @ApiProperty({ description: 'Quote it when reporting a problem: it finds the log lines' }) correlationId: string;
}

/** The filter parameters of a search or an export, documented once. */
export function ApiAuditFilters() {
  const text = (name: string, description: string) => ApiQuery({ name, required: false, type: String, description });
  return applyDecorators(
    text('from', 'Earliest time, inclusive (ISO-8601; UTC when no zone is given), e.g. 2026-03-01 or 2026-03-01T09:30:00Z'),
    text('to', 'Latest time, exclusive'),
    text('tenant', 'Connector tenant id'),
    text('company', 'Concur company domain'),
    text('user', 'Acting user'),
    text('owner', 'Report owner'),
    text('item', 'A report, entry or allocation URL: its events and those of everything below it'),
    text('field', 'Form field, e.g. custom9'),
    ApiQuery({ name: 'type', required: false, enum: AUDIT_EVENT_TYPES }),
    ApiQuery({ name: 'outcome', required: false, enum: AUDIT_OUTCOMES }),
    text('launch', 'Launch id: every event of one launch'),
    text('correlation', 'Correlation ID shown to the user or found in the logs'),
  );
}

export function ApiPaging() {
  return applyDecorators(
    ApiQuery({ name: 'cursor', required: false, type: String, description: 'nextCursor of the previous page' }),
    ApiQuery({ name: 'limit', required: false, type: Number, description: `Events per page, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE})` }),
  );
}

export function ApiExportFormat() {
  return ApiQuery({ name: 'format', required: false, enum: EXPORT_FORMATS, description: 'csv (default) or ndjson' });
}
