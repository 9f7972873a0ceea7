/**
 * Concur's API contract as data: one JSON Schema (draft 2020-12) per request the connector sends
 * and per answer it reads, each written from the page of Concur's developer documentation it
 * names (`../shared/concur-docs/`). Compiled once with ajv. The client checks every body before
 * it leaves; the sandbox checks every request it is sent with the same schemas.
 *
 * SKELETON: the schemas live in ./schemas.ts (CONTRACT_SCHEMAS); this file is the API.
 */
export type ContractName =
  | 'v3.EntryGet'
  | 'v3.EntryPut'
  | 'v3.Error'
  | 'v4.ReportDetails'
  | 'v4.UpdateReport'
  | 'v4.ReportExpenseDetail'
  | 'v4.UpdateReportExpense'
  | 'v4.UpdateReportExpenseCompact'
  | 'v4.ReportAllocationResponse'
  | 'v4.UpdateReportAllocation'
  | 'v4.ErrorMessage'
  | 'oauth.TokenResponse'
  | 'oauth.Error'
  | 'oauth.RefreshTokenRequest'
  | 'oauth.AuthorizationCodeRequest';

export interface ContractCheck {
  ok: boolean;
  /** At most 10, each `<instance path>: <message>` (e.g. `/customData/0/value: must be string`). */
  errors: string[];
}

/** A body the connector was about to send did not match Concur's documented shape: a bug, never sent. */
export class ContractViolation extends Error {
  constructor(
    readonly contract: ContractName,
    readonly errors: string[],
  ) {
    super(`request body does not match ${contract}: ${errors.join('; ')}`);
    this.name = 'ContractViolation';
  }
}
