import { randomUUID } from 'node:crypto';
import type { ItemLevel } from '../concur/concur.types.js';
import type { LaunchParams } from './signature.js';

/** v1's parameters before nonce and signature (CONCUR-PROTOCOL.md section 2). */
export function v1LaunchParams(input: { companyDomain: string; userId: string; itemUrl: string }): LaunchParams {
  return { xcompanydomain: input.companyDomain, xuserid: input.userId, itemurl: input.itemUrl };
}

/** v4's signed and unsigned parameters before nonce and signature (CONCUR-PROTOCOL.md section 3), in Concur's order. */
export function v4LaunchParams(input: {
  companyDomain: string;
  userId: string;
  reportOwnerUserId: string;
  reportOwnerEmployeeId: string;
  itemUrl: string;
  field: string;
  level: ItemLevel;
  expenseIds?: string;
  mobile: boolean;
  language: string;
}): LaunchParams {
  return {
    company_domain: input.companyDomain,
    logged_in_user_id: input.userId,
    report_owner_user_id: input.reportOwnerUserId,
    report_owner_employee_id: input.reportOwnerEmployeeId,
    item_url: input.itemUrl,
    custom_field_launched_from: input.field,
    source: input.level,
    ...(input.expenseIds ? { expense_ids: input.expenseIds } : {}),
    is_mobile: input.mobile ? 'true' : 'false',
    client_auth_code: randomUUID(),
    language_code: input.language,
  };
}
