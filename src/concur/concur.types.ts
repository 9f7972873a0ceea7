/** What the rest of the connector knows of a Concur item and of Concur's failures. */

export type ItemLevel = 'HEADER' | 'ENTRY' | 'ALLOCATION';

/** An item_url that parsed as a known Concur item on an allow-listed origin. */
export interface ItemRef {
  /** 'v3': Expense Entries v3 (v1 launches); 'v4': Expense Reports v4. */
  api: 'v3' | 'v4';
  level: ItemLevel;
  /** Absolute URL to GET and to PUT/PATCH, rebuilt from the parsed parts (never the raw input). */
  url: string;
  /** e.g. https://us.api.concursolutions.com */
  origin: string;
  /** v3: the entry id. */
  entryId?: string;
  /** v4 parts. */
  userId?: string;
  context?: 'TRAVELER' | 'PROXY';
  reportId?: string;
  expenseId?: string;
  allocationId?: string;
}

/** An allow-listed place a token may go: origin plus the path prefix Concur's API lives under ('' for Concur). */
export interface AllowedOrigin {
  origin: string;
  pathPrefix: string;
}

/** The item as the session page shows it. */
export interface ItemView {
  level: ItemLevel;
  /** Expense type name (entry, allocation's expense) or report name (header). */
  title: string | null;
  amount: number | null;
  currency: string | null;
  /** ISO date (YYYY-MM-DD). */
  date: string | null;
  /** The current value of the field the connector will write; null when empty. */
  fieldValue: string | null;
  /** An allocation's share of its expense, in percent. */
  percentage?: number | null;
  /** The field's id as Concur spells it in this item (`custom09`), when Concur listed it. */
  fieldId?: string | null;
  /** ALLOCATION: the expense the allocation belongs to, as Concur says. */
  expenseId?: string | null;
  /** HEADER: the report's approvalStatusId (`A_NOTF` not submitted). */
  approvalStatusId?: string | null;
}

/** What Concur said about a failure, kept for the log and the audit (each part bounded in length). */
export interface ConcurErrorDetails {
  /** OAuth error code (apidoc.markdown "Response Codes"), e.g. 108 bad or expired refresh token. */
  oauthCode?: number;
  /** Concur's own words: errorMessage / Message / error_description, with validation errors. */
  concurMessage?: string;
  /** The concur-correlationid header of Concur's answer. */
  concurCorrelationId?: string;
  /** The refused token was the user's own (from client_auth_code), not the company's. */
  userToken?: boolean;
}

export type ConcurErrorKind =
  /** 429, 5xx, timeout, connection failure: worth a Retry later. */
  | 'unavailable'
  /** Concur answered 4xx (not 429): the request itself was refused. */
  | 'rejected'
  /** No token could be had (bad client credentials or refresh token). */
  | 'auth';

export class ConcurError extends Error {
  /**
   * @param source `shared-store`: the connector's own Redis failed while getting the token, not
   *   Concur; retried the same way, but the user is told the connector is briefly unavailable.
   */
  constructor(
    readonly kind: ConcurErrorKind,
    message: string,
    readonly status?: number,
    readonly source: 'concur' | 'shared-store' = 'concur',
    readonly details: ConcurErrorDetails = {},
  ) {
    super(message);
    this.name = 'ConcurError';
  }
}

/**
 * Concur says the item is not what the launch's unsigned parameters claim (an allocation whose
 * expense is not among expense_ids): the launch gets a 400 page, never a write.
 */
export class ItemMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ItemMismatchError';
  }
}

/** An access token and where its API calls go (the token answer's geolocation, when Concur sent one). */
export interface AccessToken {
  accessToken: string;
  geolocation?: string;
}

export class ItemUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ItemUrlError';
  }
}

/** Concur's custom field values are at most 48 characters. */
export const MAX_FIELD_VALUE_LENGTH = 48;
