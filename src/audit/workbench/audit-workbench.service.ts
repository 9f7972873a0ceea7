import { BadRequestException, Injectable, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { once } from 'node:events';
import { PageException } from '../../common/page.exception.js';
import type { RequestMeta } from '../../common/request-meta.js';
import type { AuditorIdentity } from '../access/auditor.guard.js';
import { AuditService, type EventInChain, InvalidCursorError } from '../audit.service.js';
import type { AuditPage, ChainVerification } from '../audit.types.js';
import { type AuditQuery, type ExportFormat } from './audit-query.js';
import { csvHeader, csvRow, csvTrailer, type ExportSummary, ndjsonRow, ndjsonTrailer } from './export-format.js';

/** Bytes collected before one write to the response: fewer, larger writes, still constant memory. */
const EXPORT_CHUNK_BYTES = 64 * 1024;
const EVENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What the auditor's pages and API do; every read is itself written to the audit log (`audit.read`). */
@Injectable()
export class AuditWorkbench {
  private readonly logger = new Logger(AuditWorkbench.name);

  constructor(private readonly audit: AuditService) {}

  async search(query: AuditQuery, auditor: AuditorIdentity, meta: RequestMeta): Promise<AuditPage> {
    let page: AuditPage;
    try {
      page = await this.audit.search(query.filter, query.limit, query.cursor);
    } catch (error) {
      if (error instanceof InvalidCursorError) throw new BadRequestException(`The search cannot run: ${error.message}.`);
      throw error;
    }
    await this.recordRead('search', describeQuery(query), auditor, meta);
    return page;
  }

  async event(id: string, auditor: AuditorIdentity, meta: RequestMeta): Promise<EventInChain> {
    const found = EVENT_ID.test(id) ? await this.audit.inspect(id) : undefined;
    if (!found) {
      throw new PageException(404, {
        title: 'No such event',
        message: 'No audit event has this id. It may have been purged by retention; search for it by time or correlation ID.',
        detail: `no audit event ${id.slice(0, 64)}`,
      });
    }
    await this.recordRead('event', `event #${found.event.seq} ${id}`, auditor, meta);
    return found;
  }

  async verify(auditor: AuditorIdentity, meta: RequestMeta): Promise<ChainVerification> {
    const result = await this.audit.verify();
    await this.recordRead('verify', result.intact ? `intact up to #${result.headSeq}` : `broken at #${result.brokenAt}`, auditor, meta);
    return result;
  }

  /**
   * Streams every event of the query's filter as CSV or NDJSON, oldest first, up to the chain head
   * when it starts, then a trailer with the filter, the row count and that head. Rows are read in
   * batches and written as the client takes them, so memory stays flat for any size. A failure
   * after the first bytes cannot change the status any more: the trailer then says the export
   * failed and after how many rows, with the correlation ID.
   */
  async export(query: AuditQuery, format: ExportFormat, auditor: AuditorIdentity, meta: RequestMeta, res: Response): Promise<void> {
    await this.recordRead('export', `${format} ${describeQuery(query)}`, auditor, meta);
    const { head, events } = await this.audit.exportEvents(query.filter);
    const exportedAt = new Date().toISOString();
    const stamp = exportedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    res.status(200);
    res.setHeader('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="audit-${stamp}.${format}"`);
    res.setHeader('Cache-Control', 'no-store');
    const row = format === 'csv' ? csvRow : ndjsonRow;
    let closed = false;
    res.once('close', () => {
      closed = true;
    });
    let chunk = format === 'csv' ? csvHeader() : '';
    let rows = 0;
    const flush = async () => {
      const full = !res.write(chunk);
      chunk = '';
      if (full && !closed) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    };
    try {
      for await (const event of events) {
        if (closed) return;
        chunk += row(event);
        rows += 1;
        if (chunk.length >= EXPORT_CHUNK_BYTES) await flush();
      }
      const summary: ExportSummary = { exportedAt, filter: query.params as Record<string, string>, rows, chainHead: head };
      chunk += format === 'csv' ? csvTrailer(summary) : ndjsonTrailer(summary);
      await flush();
      res.end();
    } catch (error) {
      this.logger.error(`audit export failed after ${rows} row(s) [${meta.correlationId}]: ${error instanceof Error ? error.message : String(error)}`);
      const failed = { exportFailed: { afterRows: rows, reference: meta.correlationId, message: 'the export stopped early; run it again' } };
      if (!closed) res.end(`${chunk}${format === 'csv' ? `"# EXPORT FAILED after ${rows} row(s); reference ${meta.correlationId}"\r\n` : `${JSON.stringify(failed)}\n`}`);
    }
  }

  private async recordRead(what: 'search' | 'event' | 'export' | 'verify', detail: string, auditor: AuditorIdentity, meta: RequestMeta): Promise<void> {
    await this.audit.record({
      type: 'audit.read',
      outcome: 'success',
      actingUser: auditor.username,
      field: what,
      reason: `${detail} (via ${auditor.via})`,
      correlationId: meta.correlationId,
      clientIp: meta.clientIp,
      userAgent: meta.userAgent,
    });
  }
}

/** The filter of a query as one line for the audit of the read: `tenant=acme user=alice`, or `all events`. */
export function describeQuery(query: AuditQuery): string {
  const parts = Object.entries(query.params).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  return parts.length ? parts.join(' ') : 'all events';
}
