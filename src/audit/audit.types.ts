export type AuditEventType =
  | 'launch.accepted'
  | 'launch.rejected'
  | 'update.requested'
  | 'update.succeeded'
  | 'update.failed';

export type AuditOutcome = 'success' | 'failure' | 'pending';

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

export type ChainVerification =
  | { intact: true; count: number; headSeq: number; headHash: string }
  | { intact: false; brokenAt: number; why: string; intactUpTo: number };
