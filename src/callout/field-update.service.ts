import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import type { AuditEventInput } from '../audit/audit.types.js';
import { LaunchSessionService } from '../auth/launch-session.service.js';
import { auditSubjectOf, type LaunchSession } from '../auth/launch.types.js';
import { CLOSE_AND_RELAUNCH, PageException } from '../common/page.exception.js';
import type { RequestMeta } from '../common/request-meta.js';
import { AppConfig, type TenantConfig, Tenants } from '../config/index.js';
import { ConcurClient, longestConcurWriteMs } from '../concur/concur.client.js';
import { ConcurError, ItemMismatchError, MAX_FIELD_VALUE_LENGTH } from '../concur/concur.types.js';
import { LookupService } from '../lookup/lookup.service.js';
import { Metrics } from '../metrics/metrics.service.js';
import { concurErrorPage, itemMismatchPage } from './concur-error-page.js';
import { LaunchTokensService } from './launch-tokens.service.js';
import { msg } from '../i18n/i18n.js';

const OUTCOME_ATTEMPTS = 3;
const WAIT_MARGIN_MS = 2_000;

export interface UpdateResult {
  value: string;
  label: string | null;
}

export interface OtherUpdateWait {
  /** Pause between looks at the other replica's update. */
  pollMs: number;
  /** Longest wait for it: the longest Concur write the configuration allows (its read first, token requests included), plus a margin. */
  maxWaitMs: number;
}

export function otherUpdateWait(config: AppConfig): OtherUpdateWait {
  return { pollMs: 100, maxWaitMs: longestConcurWriteMs(config.concur) + WAIT_MARGIN_MS };
}

/**
 * Writes the picked value into the Concur field: `update.requested` is durable before Concur is
 * called, and every request ends in exactly one `update.succeeded` or `update.failed`.
 *
 * One write per launch session: a double submit to this process shares the running write; one
 * to another replica loses the session store's atomic claim, writes and audits nothing, and
 * waits for the claimer's `done`. A failed write releases the claim, so Retry can write.
 */
@Injectable()
export class FieldUpdateService {
  private readonly logger = new Logger(FieldUpdateService.name);
  private readonly inFlight = new Map<string, Promise<UpdateResult>>();
  private readonly wait: OtherUpdateWait;

  constructor(
    private readonly tenants: Tenants,
    private readonly lookup: LookupService,
    private readonly concur: ConcurClient,
    private readonly audit: AuditService,
    private readonly sessions: LaunchSessionService,
    private readonly metrics: Metrics,
    config: AppConfig,
    private readonly launchTokens: LaunchTokensService,
  ) {
    this.wait = otherUpdateWait(config);
  }

  async apply(session: LaunchSession, rawCode: unknown, meta: RequestMeta): Promise<UpdateResult> {
    if (session.done) return this.alreadySaved(session.done.value);
    const tenant = this.tenants.findById(session.tenantId);
    if (!tenant) throw this.refused(new PageException(410, { title: msg('This window has expired'), message: CLOSE_AND_RELAUNCH, detail: `tenant ${session.tenantId} no longer configured` }));
    const code = typeof rawCode === 'string' ? rawCode : '';
    if (code.length > MAX_FIELD_VALUE_LENGTH) {
      throw this.refused(
        new PageException(400, {
          title: msg('This value is too long for Concur'),
          message: msg('Concur fields hold at most {max} characters; this value has {length}. Pick another value.'),
          params: { max: MAX_FIELD_VALUE_LENGTH, length: code.length },
          view: { back: `/launch/s/${session.id}` },
        }),
      );
    }
    const picked = code ? await this.lookup.find(tenant, code) : undefined;
    if (!picked) {
      throw this.refused(
        new PageException(400, {
          title: code ? msg('That value is not in the list') : msg('No value was picked'),
          message: msg('Search again and pick one of the results, then press Save.'),
          view: { back: `/launch/s/${session.id}` },
          detail: code ? 'picked code not found in lookup source' : 'no code in the form',
        }),
      );
    }
    // A double submit waits for the first one and shows the same outcome instead of writing again.
    const running = this.inFlight.get(session.id);
    if (running) {
      this.metrics.fieldUpdates.inc({ outcome: 'conflict' });
      return running;
    }
    const update = this.claimAndWrite(tenant, session, picked.code, picked.label, meta);
    this.inFlight.set(session.id, update);
    try {
      return await update;
    } finally {
      this.inFlight.delete(session.id);
    }
  }

  private async claimAndWrite(tenant: TenantConfig, session: LaunchSession, value: string, label: string, meta: RequestMeta): Promise<UpdateResult> {
    // Taken: another request (here or on another replica) is writing, or has written, this session's value.
    const token = await this.sessions.claimUpdate(session);
    if (!token) return this.outcomeOfOther(session, value);
    try {
      return await this.write(tenant, session, value, label, meta, token);
    } catch (error) {
      // Not written: free the claim for Retry (only ours; it expires with the session anyway).
      await this.sessions.releaseUpdate(session, token).catch((releaseError: unknown) => {
        this.logger.error(`update claim of session ${session.id} could not be released [${meta.correlationId}]: ${(releaseError as Error).message}`);
      });
      throw error;
    }
  }

  /**
   * A submit that lost the claim: the same Done as the claimer once its value is saved. No
   * promise to wait on across replicas, so it polls the claim, as long as a write can take.
   */
  private async outcomeOfOther(session: LaunchSession, value: string): Promise<UpdateResult> {
    this.metrics.fieldUpdates.inc({ outcome: 'conflict' });
    const deadline = Date.now() + this.wait.maxWaitMs;
    for (;;) {
      const current = await this.sessions.updateState(session);
      if (current.state === 'done') return { value: current.done.value, label: null };
      if (current.state === 'free') {
        throw new PageException(409, {
          title: msg('Your choice was not saved'),
          message: msg('This window sent Save twice and the first one did not finish. Press Retry to save again.'),
          view: { retry: this.retryOf(session, value) },
          detail: 'double submit: the other update of this launch failed',
        });
      }
      if (Date.now() >= deadline) {
        throw new PageException(409, {
          title: msg('This window is already saving'),
          message: msg('Close this window and check the field in Concur.'),
          detail: 'double submit: the other update of this launch did not finish in time',
        });
      }
      await new Promise((resolve) => setTimeout(resolve, this.wait.pollMs));
    }
  }

  private retryOf(session: LaunchSession, value: string) {
    return {
      method: 'POST' as const,
      action: `/launch/s/${session.id}/select`,
      fields: [
        { name: 'csrf', value: session.csrfToken },
        { name: 'code', value },
      ],
    };
  }

  private async write(
    tenant: TenantConfig,
    session: LaunchSession,
    value: string,
    label: string,
    meta: RequestMeta,
    token: string,
  ): Promise<UpdateResult> {
    const base = {
      ...auditSubjectOf(session),
      oldValue: session.itemView?.fieldValue ?? null,
      newValue: value,
      ...meta,
    };
    const user = this.launchTokens.tokensOf(session);
    await this.audit.record({ ...base, type: 'update.requested', outcome: 'pending', reason: user ? 'as the user' : 'with the company token' });
    try {
      await this.concur.writeField(tenant, session.item, session.field, value, meta.correlationId, {
        user,
        fieldId: session.itemView?.fieldId,
        expenseIds: session.expenseIds,
      });
    } catch (error) {
      this.metrics.fieldUpdates.inc({ outcome: 'failed' });
      const reason =
        error instanceof ConcurError
          ? `${error.kind}${error.status ? ` HTTP ${error.status}` : ''}: ${error.message}${error.details.concurCorrelationId ? ` [concur-correlationid ${error.details.concurCorrelationId}]` : ''}`
          : error instanceof ItemMismatchError
            ? `launch mismatch: ${error.message}`
            : 'internal error';
      await this.recordOutcome({ ...base, type: 'update.failed', outcome: 'failure', reason });
      if (error instanceof ItemMismatchError) throw itemMismatchPage(error.message);
      if (!(error instanceof ConcurError)) throw error;
      this.logger.warn(`update failed [${meta.correlationId}] ${reason}`);
      throw concurErrorPage(error, 'saving', this.retryOf(session, value));
    }
    this.metrics.fieldUpdates.inc({ outcome: 'succeeded' });
    // Concur has the value: the window is done whatever happens to the audit write below. If
    // marking it fails, the claim stays taken: no second write, a later submit gets the 409 page.
    session.done = { value, at: Date.now() };
    try {
      if (!(await this.sessions.completeUpdate(session, token, session.done))) throw new Error('its update claim was gone');
    } catch (error) {
      this.logger.error(`session ${session.id} could not be marked done [${meta.correlationId}]: ${(error as Error).message}`);
    }
    await this.recordOutcome({ ...base, type: 'update.succeeded', outcome: 'success' });
    return { value, label };
  }

  /** A submit after the value was saved: the same Done, no second write. */
  private alreadySaved(value: string): UpdateResult {
    this.metrics.fieldUpdates.inc({ outcome: 'conflict' });
    return { value, label: null };
  }

  /** A submit refused before Concur was called. */
  private refused(page: PageException): PageException {
    this.metrics.fieldUpdates.inc({ outcome: 'conflict' });
    return page;
  }

  /**
   * The outcome of a requested update must be recorded; a few attempts ride out a busy store.
   * If all fail, the start-up reconciliation marks the request as interrupted.
   */
  private async recordOutcome(event: AuditEventInput): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.audit.record(event);
        return;
      } catch (error) {
        if (attempt >= OUTCOME_ATTEMPTS - 1) {
          this.logger.error(`${event.type} could not be audited [${event.correlationId}]: ${(error as Error).message}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 50 * 4 ** attempt));
      }
    }
  }
}
