import type { TenantConfig } from '../config/index.js';

export type LaunchVersion = 1 | 4;

/** The signed parameters of a launch, by version (URL-decoded). */
export const SIGNED_PARAMS = {
  1: ['xcompanydomain', 'xuserid', 'itemurl', 'nonce', 'signature'],
  4: [
    'company_domain',
    'logged_in_user_id',
    'report_owner_user_id',
    'report_owner_employee_id',
    'item_url',
    'nonce',
    'signature',
  ],
} as const;

/** v4 parameters that the signature does not cover: untrusted, validated before use. */
export const V4_UNSIGNED_PARAMS = [
  'source',
  'custom_field_launched_from',
  'expense_ids',
  'is_mobile',
  'client_auth_code',
  'language_code',
] as const;

/** A launch whose signature was verified. Unsigned values are still raw here. */
export interface VerifiedLaunch {
  version: LaunchVersion;
  tenant: TenantConfig;
  companyDomain: string;
  /** v1 xuserid (login id) or v4 logged_in_user_id. */
  userId: string;
  reportOwnerUserId: string | null;
  reportOwnerEmployeeId: string | null;
  itemUrl: string;
  nonce: string;
  /** v4 only: the unsigned parameters as received (absent ones missing). */
  unsigned: Partial<Record<(typeof V4_UNSIGNED_PARAMS)[number], string>>;
}

/** What a launch's unsigned parameters choose, once checked (callout/launch-input.ts). */
export interface LaunchChoices {
  /** The canonical id (`custom9`, `orgUnit1`) for v4; the tenant's v1 field as configured. */
  field: string;
  isMobile: boolean;
  languageCode: string;
  expenseIds: string[];
  /** Unusable values replaced by their default, one line each, for the caller's log (value length-capped and printable). */
  notes: string[];
}

/** A launch's item and choices, as checkLaunchInput found them acceptable. */
export interface CheckedLaunchInput {
  item: import('../concur/concur.types.js').ItemRef;
  choices: LaunchChoices;
}

/** What SignatureGuard lets through: signature verified, item and unsigned input checked, nonce claimed. */
export interface AcceptedLaunch extends VerifiedLaunch {
  input: CheckedLaunchInput;
}

/** Server-side state of one popup, behind the launch cookie. */
export interface LaunchSession {
  id: string;
  /** sha256 hex of the cookie secret; the cookie proves the browser that launched. */
  cookieHash: string;
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
  version: LaunchVersion;
  tenantId: string;
  companyDomain: string;
  userId: string;
  reportOwnerUserId: string | null;
  reportOwnerEmployeeId: string | null;
  /** The validated, parsed item (serialisable ItemRef). */
  item: import('../concur/concur.types.js').ItemRef;
  /** The field the tenant's rules allow: v3 CustomN/OrgUnitN or v4 customN/orgUnitN. */
  field: string;
  isMobile: boolean;
  /** v4's language_code (`en` when empty); '' for v1, whose page follows the browser's Accept-Language. */
  languageCode: string;
  expenseIds: string[];
  /** The item as last read from Concur (what the page showed); its fieldValue is the audit's old value. */
  itemView?: import('../concur/concur.types.js').ItemView & { readAt: number };
  /** Set once the field was written. */
  done?: { value: string; at: number };
  /**
   * The user's own Concur tokens from the launch's client_auth_code, sealed with SecretBox (so
   * also encrypted in Redis); absent: the company token. Never in the database, never logged.
   */
  userGrant?: string;
}

/** Who, where and what of a launch session, as its audit events record it. */
export function auditSubjectOf(session: LaunchSession) {
  return {
    tenantId: session.tenantId,
    companyDomain: session.companyDomain,
    actingUser: session.userId,
    reportOwner: session.reportOwnerUserId,
    itemUrl: session.item.url,
    launchId: session.id,
    field: session.field,
  };
}
