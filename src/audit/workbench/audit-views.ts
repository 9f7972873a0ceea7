import { Injectable } from '@nestjs/common';
import { type TextPart, untrustedTextParts } from '../../common/untrusted-text.js';
import { AppConfig } from '../../config/index.js';
import type { AuditorIdentity } from '../access/auditor.guard.js';
import type { EventInChain } from '../audit.service.js';
import { AUDIT_EVENT_TYPES, AUDIT_OUTCOMES, type AuditEvent, type AuditPage, type ChainVerification } from '../audit.types.js';
import { describeVerification } from '../verification-text.js';
import { type AuditQuery, EXPORT_FORMATS, queryString } from './audit-query.js';

/**
 * View models of the auditor's pages (hbs escapes every value). Text from the log comes as
 * parts (`shown`): control, bidi and invisible characters become marks the page shows as
 * visible escapes, so a U+202E cannot turn a name around and a U+200B cannot hide in one.
 */
@Injectable()
export class AuditViews {
  constructor(private readonly config: AppConfig) {}

  search(query: AuditQuery, page: AuditPage, auditor: AuditorIdentity) {
    const p = query.params;
    const limit = query.limit === 50 ? undefined : String(query.limit);
    return {
      ...this.frame('Audit log', auditor, 'search'),
      params: p,
      limit: query.limit,
      tenants: this.config.tenants.map((t) => t.id),
      types: [{ value: '', label: 'any', selected: !p.type }, ...AUDIT_EVENT_TYPES.map((t) => ({ value: t, label: t, selected: p.type === t }))],
      outcomes: [{ value: '', label: 'any', selected: !p.outcome }, ...AUDIT_OUTCOMES.map((o) => ({ value: o, label: o, selected: p.outcome === o }))],
      filtered: Object.keys(p).length > 0,
      rows: page.events.map(rowOf),
      empty: page.events.length === 0,
      firstPage: query.cursor !== undefined ? `/audit${queryString(p, { limit })}` : null,
      nextPage: page.nextCursor ? `/audit${queryString(p, { limit, cursor: page.nextCursor })}` : null,
      exports: EXPORT_FORMATS.map((format) => ({ format: format.toUpperCase(), href: `/api/audit/export${queryString(p, { format })}` })),
    };
  }

  event(found: EventInChain, auditor: AuditorIdentity) {
    const e = found.event;
    return {
      ...this.frame(`Event #${e.seq}`, auditor, 'event'),
      event: e,
      typeClass: outcomeClass(e),
      fields: [
        ['Time (UTC)', e.occurredAt], ['Type', e.type], ['Outcome', e.outcome], ['Tenant', e.tenantId], ['Company', e.companyDomain],
        ['Acting user', e.actingUser], ['Report owner', e.reportOwner], ['Item', e.itemUrl], ['Field', e.field], ['Old value', e.oldValue],
        ['New value', e.newValue], ['Reason', e.reason], ['Correlation ID', e.correlationId], ['Client IP', e.clientIp], ['User agent', e.userAgent],
        ['Launch', e.launchId],
      ].map(([label, value]) => ({ label, value: shown(value), empty: value === null || value === undefined || value === '' })),
      hashMatches: found.hashMatches,
      link: found.linksToPrevious === null ? 'unknown' : found.linksToPrevious ? 'yes' : 'no',
      linkOk: found.linksToPrevious === true,
      previousPurged: found.previousPurged,
      previous: found.previous,
      next: found.next,
      launchEvents: found.launchEvents.map((l) => ({ ...rowOf(l), current: l.id === e.id })),
      correlationSearch: e.correlationId ? `/audit${queryString({ correlation: e.correlationId })}` : null,
      itemSearch: e.itemUrl ? `/audit${queryString({ item: e.itemUrl })}` : null,
    };
  }

  verify(result: ChainVerification, auditor: AuditorIdentity) {
    return {
      ...this.frame('Verify the audit log', auditor, 'verify'),
      result,
      summary: describeVerification(result),
      purged: result.firstSeq > 1,
    };
  }

  private frame(pageTitle: string, auditor: AuditorIdentity, section: string) {
    return {
      layout: 'layouts/audit',
      pageTitle,
      auditor: auditor.username,
      // Only a cookie session signs out here; Basic and the trusted proxy end at the client or the proxy.
      signOutCsrf: auditor.via === 'session' ? auditor.csrfToken : null,
      nav: [
        { href: '/audit', label: 'Search', current: section === 'search' },
        { href: '/audit/verify', label: 'Verify', current: section === 'verify' },
        { href: '/api/docs', label: 'API', current: false },
      ],
    };
  }
}

function rowOf(e: AuditEvent) {
  return {
    seq: e.seq,
    href: `/audit/events/${e.id}`,
    time: e.occurredAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    type: e.type,
    outcome: e.outcome,
    outcomeClass: outcomeClass(e),
    tenant: shown(e.tenantId),
    user: shown(e.actingUser),
    owner: shown(e.reportOwner),
    field: shown(e.field),
    /** Only updates change a value; an audit read's field names what was read. */
    change: e.type.startsWith('update.'),
    oldValue: shown(e.oldValue),
    newValue: shown(e.newValue),
    reason: shown(e.reason),
  };
}

/** Stored text as the templates' `untrusted` partial shows it; null when there is none. */
export function shown(value: string | null | undefined): TextPart[] | null {
  return value === null || value === undefined || value === '' ? null : untrustedTextParts(value);
}

function outcomeClass(e: AuditEvent): string {
  return e.outcome === 'failure' ? 'bad' : e.outcome === 'pending' ? 'pending' : 'good';
}
