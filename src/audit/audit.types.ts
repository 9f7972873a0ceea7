export const AUDIT_EVENT_TYPES = [
  'launch.accepted',
  'launch.rejected',
  'update.requested',
  'update.succeeded',
  'update.failed',
  /** An auditor signed in, failed to, or signed out. */
  'audit.sign_in',
  'audit.sign_out',
  /** An auditor read the log: a search, an event, an export, a verification. */
  'audit.read',
  /** A retention purge: the checkpoint that records which events were removed and the hash they ended on. */
  'audit.purged',
  /**
   * The chain became keyed: the events before it carry plain SHA-256 hashes, and this event (an
   * HMAC under the chain key, like every event after it) records where they end and their last hash.
   */
  'audit.chain_keyed',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export const AUDIT_OUTCOMES = ['success', 'failure', 'pending'] as const;

export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export interface AuditEventInput {
  type: AuditEventType;
  outcome: AuditOutcome;
  tenantId?: string | null;
  companyDomain?: string | null;
  actingUser?: string | null;
  reportOwner?: string | null;
  itemUrl?: string | null;
  launchId?: string | null;
  field?: string | null;
  oldValue?: string | null;
  newValue?: string | null;
  /** Why a launch was rejected or an update failed. Never a secret. */
  reason?: string | null;
  correlationId?: string | null;
  clientIp?: string | null;
  userAgent?: string | null;
}

export interface AuditEvent {
  seq: number;
  id: string;
  occurredAt: string;
  type: AuditEventType;
  outcome: AuditOutcome;
  tenantId: string | null;
  companyDomain: string | null;
  actingUser: string | null;
  reportOwner: string | null;
  itemUrl: string | null;
  launchId: string | null;
  field: string | null;
  oldValue: string | null;
  newValue: string | null;
  reason: string | null;
  correlationId: string | null;
  clientIp: string | null;
  userAgent: string | null;
  prevHash: string;
  hash: string;
}

/**
 * What `verify` found. The chain starts at #1, or after the newest retention checkpoint at
 * `firstSeq` (the events before it were purged, and the checkpoint event records their last hash).
 * `unkeyedThroughSeq` is there when verified events up to it carry plain SHA-256 hashes (written
 * before the chain was keyed), sealed by the `audit.chain_keyed` event after them.
 */
export type ChainVerification =
  | { intact: true; count: number; firstSeq: number; headSeq: number; headHash: string; unkeyedThroughSeq?: number }
  | { intact: false; brokenAt: number; why: string; intactUpTo: number; firstSeq: number };

/** Filters of a search or an export; every one optional, all of them must hold. */
export interface AuditFilter {
  /** ISO-8601 time, inclusive. */
  from?: string;
  /** ISO-8601 time, exclusive. */
  to?: string;
  tenantId?: string;
  companyDomain?: string;
  actingUser?: string;
  reportOwner?: string;
  /** An item's URL (a report, an entry, an allocation): its events and those of everything below it. */
  item?: string;
  field?: string;
  type?: AuditEventType;
  outcome?: AuditOutcome;
  launchId?: string;
  correlationId?: string;
}

/** One page of a search, newest first; `nextCursor` continues after its last event. */
export interface AuditPage {
  events: AuditEvent[];
  nextCursor: string | null;
}

/** The newest event: its place in the chain. */
export interface ChainHead {
  seq: number;
  hash: string;
}
