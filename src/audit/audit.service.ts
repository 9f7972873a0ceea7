import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { AuditEventTable } from '../database/database.types.js';
import { AuditRepository } from './audit.repository.js';
import type { AuditEvent, AuditEventInput, AuditEventType, AuditOutcome, ChainVerification } from './audit.types.js';
import { eventHash, verifyChain } from './hash-chain.js';

const MAX_ITEM_URL = 2048;
const MAX_USER_AGENT = 512;
const MAX_OTHER = 512;
const MAX_LATEST = 1000;
/** Attempts when another writer (another process) took the next seq between our read and insert. */
const MAX_APPEND_ATTEMPTS = 5;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Makes a string storable exactly as hashed: a lone surrogate would come back from the
 * database as U+FFFD and NUL is refused by PostgreSQL, either of which would later read as
 * tampering. Then cuts to `max` UTF-16 units without splitting a surrogate pair.
 */
export function storableText(value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  let text = String(value).replace(LONE_SURROGATE, '\uFFFD').replaceAll('\u0000', '\uFFFD');
  if (text.length > max) {
    text = text.slice(0, max);
    if (/[\uD800-\uDBFF]$/.test(text)) text = text.slice(0, -1);
  }
  return text;
}

/** Writes audit events into the hash-chained log and reads them back. */
@Injectable()
export class AuditService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AuditService.name);
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly repository: AuditRepository) {}

  /** Appends one event; once the promise resolves the event is committed to disk. */
  record(input: AuditEventInput): Promise<AuditEvent> {
    // One append at a time in this process, so reading the head and inserting after it are atomic.
    const appended = this.tail.then(() => this.append(input));
    this.tail = appended.catch(() => undefined);
    return appended;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.reconcileInterruptedUpdates();
  }

  /**
   * Gives every `update.requested` left without an outcome (the process stopped, or its outcome
   * could not be written) an `update.failed` marked interrupted, so no request stays open in the log.
   * The embedded store has one process, so at start nothing else can still be in flight.
   */
  async reconcileInterruptedUpdates(): Promise<number> {
    const dangling = await this.repository.requestsWithoutOutcome();
    for (const row of dangling) {
      const requested = toAuditEvent(row);
      await this.record({
        ...pickContext(requested),
        type: 'update.failed',
        outcome: 'failure',
        reason: `interrupted: no outcome was recorded for request #${requested.seq}; check the field in Concur`,
      });
    }
    if (dangling.length) this.logger.warn(`${dangling.length} interrupted update(s) marked as failed in the audit log`);
    return dangling.length;
  }

  async verify(): Promise<ChainVerification> {
    return verifyChain(this.repository.iterateAll());
  }

  async eventsOfLaunch(launchId: string): Promise<AuditEvent[]> {
    return (await this.repository.findByLaunch(launchId)).map(toAuditEvent);
  }

  async eventsOfCorrelation(correlationId: string): Promise<AuditEvent[]> {
    return (await this.repository.findByCorrelationId(correlationId)).map(toAuditEvent);
  }

  /** The newest events, newest first. */
  async latest(limit = 50): Promise<AuditEvent[]> {
    const bounded = Math.min(Math.max(Math.trunc(Number(limit)) || 1, 1), MAX_LATEST);
    return (await this.repository.latest(bounded)).map(toAuditEvent);
  }

  private async append(input: AuditEventInput): Promise<AuditEvent> {
    const body = {
      id: randomUUID(),
      occurred_at: new Date().toISOString(),
      event_type: storableText(input.type, MAX_OTHER) ?? '',
      outcome: storableText(input.outcome, MAX_OTHER) ?? '',
      tenant_id: storableText(input.tenantId, MAX_OTHER),
      company_domain: storableText(input.companyDomain, MAX_OTHER),
      acting_user: storableText(input.actingUser, MAX_OTHER),
      report_owner: storableText(input.reportOwner, MAX_OTHER),
      item_url: storableText(input.itemUrl, MAX_ITEM_URL),
      launch_id: storableText(input.launchId, MAX_OTHER),
      field: storableText(input.field, MAX_OTHER),
      old_value: storableText(input.oldValue, MAX_OTHER),
      new_value: storableText(input.newValue, MAX_OTHER),
      reason: storableText(input.reason, MAX_OTHER),
      correlation_id: storableText(input.correlationId, MAX_OTHER),
      client_ip: storableText(input.clientIp, MAX_OTHER),
      user_agent: storableText(input.userAgent, MAX_USER_AGENT),
    };
    for (let attempt = 1; ; attempt++) {
      const head = await this.repository.head();
      const unhashed = { seq: head.seq + 1, ...body, prev_hash: head.hash };
      const row: AuditEventTable = { ...unhashed, hash: eventHash(unhashed) };
      try {
        await this.repository.insert(row);
        return toAuditEvent(row);
      } catch (err) {
        const moved = (await this.repository.head().catch(() => head)).seq !== head.seq;
        if (!moved || attempt >= MAX_APPEND_ATTEMPTS) {
          const message = (err as { message?: unknown } | null)?.message;
          this.logger.error(`Audit event ${row.event_type} could not be written: ${String(message ?? err)}`);
          throw err;
        }
      }
    }
  }
}

function toAuditEvent(row: AuditEventTable): AuditEvent {
  return {
    seq: Number(row.seq),
    id: row.id,
    occurredAt: row.occurred_at,
    type: row.event_type as AuditEventType,
    outcome: row.outcome as AuditOutcome,
    tenantId: row.tenant_id,
    companyDomain: row.company_domain,
    actingUser: row.acting_user,
    reportOwner: row.report_owner,
    itemUrl: row.item_url,
    launchId: row.launch_id,
    field: row.field,
    oldValue: row.old_value,
    newValue: row.new_value,
    reason: row.reason,
    correlationId: row.correlation_id,
    clientIp: row.client_ip,
    userAgent: row.user_agent,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** What an outcome event repeats of its request: who, which item and field, from what to what. */
function pickContext(event: AuditEvent): AuditEventInput {
  const { tenantId, companyDomain, actingUser, reportOwner, itemUrl, launchId, field, oldValue, newValue, correlationId } = event;
  return { type: event.type, outcome: event.outcome, tenantId, companyDomain, actingUser, reportOwner, itemUrl, launchId, field, oldValue, newValue, correlationId };
}
