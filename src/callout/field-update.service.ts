import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { LaunchSessionService } from '../auth/launch-session.service.js';
import type { LaunchSession } from '../auth/launch.types.js';
import { PageException } from '../common/page.exception.js';
import type { RequestMeta } from '../common/request-meta.js';
import { Tenants } from '../config/index.js';
import { ConcurClient } from '../concur/concur.client.js';
import { ConcurError, MAX_FIELD_VALUE_LENGTH } from '../concur/concur.types.js';
import { LookupService } from '../lookup/lookup.service.js';
import { concurErrorPage } from './concur-error-page.js';

export interface UpdateResult {
  value: string;
  label: string | null;
}

/**
 * Writes the picked value into the Concur field: `update.requested` is durable before Concur is
 * called, and every request ends in exactly one `update.succeeded` or `update.failed`.
 */
@Injectable()
export class FieldUpdateService {
  private readonly logger = new Logger(FieldUpdateService.name);
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly tenants: Tenants,
    private readonly lookup: LookupService,
    private readonly concur: ConcurClient,
    private readonly audit: AuditService,
    private readonly sessions: LaunchSessionService,
  ) {}

  async apply(session: LaunchSession, rawCode: unknown, meta: RequestMeta): Promise<UpdateResult> {
    if (session.done) return { value: session.done.value, label: null };
    const tenant = this.tenants.findById(session.tenantId);
    if (!tenant) throw new PageException(410, { title: 'This window has expired', message: 'Close this window and click the field again in Concur.', detail: `tenant ${session.tenantId} no longer configured` });
    const code = typeof rawCode === 'string' ? rawCode : '';
    if (code.length > MAX_FIELD_VALUE_LENGTH) {
      throw new PageException(400, {
        title: 'This value is too long for Concur',
        message: `Concur fields hold at most ${MAX_FIELD_VALUE_LENGTH} characters; this value has ${code.length}. Pick another value.`,
        view: { back: `/launch/s/${session.id}` },
      });
    }
    const picked = code ? await this.lookup.find(tenant, code) : undefined;
    if (!picked) {
      throw new PageException(400, {
        title: code ? 'That value is not in the list' : 'No value was picked',
        message: 'Search again and pick one of the results, then press Save.',
        view: { back: `/launch/s/${session.id}` },
        detail: code ? 'picked code not found in lookup source' : 'no code in the form',
      });
    }
    if (this.inFlight.has(session.id)) {
      throw new PageException(409, {
        title: 'Already saving',
        message: 'Your choice is being saved to Concur. Wait a moment, then reload this window.',
      });
    }
    this.inFlight.add(session.id);
    try {
      // A double submit may have loaded its copy before the first one finished: check again under the lock.
      const stored = await this.sessions.current(session);
      if (stored?.done) return { value: stored.done.value, label: null };
      return await this.write(session, picked.code, picked.label, meta);
    } finally {
      this.inFlight.delete(session.id);
    }
  }

  private async write(session: LaunchSession, value: string, label: string, meta: RequestMeta): Promise<UpdateResult> {
    const tenant = this.tenants.findById(session.tenantId)!;
    const base = {
      tenantId: session.tenantId,
      companyDomain: session.companyDomain,
      actingUser: session.userId,
      reportOwner: session.reportOwnerUserId,
      itemUrl: session.item.url,
      launchId: session.id,
      field: session.field,
      oldValue: session.itemView?.fieldValue ?? null,
      newValue: value,
      ...meta,
    };
    await this.audit.record({ ...base, type: 'update.requested', outcome: 'pending' });
    try {
      await this.concur.writeField(tenant, session.item, session.field, value, meta.correlationId);
    } catch (error) {
      const reason = error instanceof ConcurError ? `${error.kind}${error.status ? ` HTTP ${error.status}` : ''}: ${error.message}` : 'internal error';
      await this.audit.record({ ...base, type: 'update.failed', outcome: 'failure', reason });
      if (!(error instanceof ConcurError)) throw error;
      this.logger.warn(`update failed [${meta.correlationId}] ${reason}`);
      throw concurErrorPage(error, 'saving your choice', {
        method: 'POST',
        action: `/launch/s/${session.id}/select`,
        fields: [
          { name: 'csrf', value: session.csrfToken },
          { name: 'code', value },
        ],
      });
    }
    await this.audit.record({ ...base, type: 'update.succeeded', outcome: 'success' });
    session.done = { value, at: Date.now() };
    if (session.itemView) session.itemView.fieldValue = value;
    await this.sessions.save(session);
    return { value, label };
  }
}
