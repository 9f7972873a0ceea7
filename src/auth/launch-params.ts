import type { ItemLevel } from '../concur/concur.types.js';
import type { LaunchParams } from './signature.js';

/** v1's parameters before nonce and signature (CONCUR-PROTOCOL.md section 2). */
export function v1LaunchParams(input: { companyDomain: string; userId: string; itemUrl: string }): LaunchParams {
  return { xcompanydomain: input.companyDomain, xuserid: input.userId, itemurl: input.itemUrl };
}

/**
 * v4's signed and unsigned parameters before nonce and signature (CONCUR-PROTOCOL.md section 3), in Concur's order.
 * `clientAuthCode`: the temporary code of the authorization grant that Concur's OAuth2 service issued for this
 * launch (v4.launch-external-url.markdown "Authorization"); without one, the launch carries no client_auth_code.
 */
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
  clientAuthCode?: string;
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
    ...(input.clientAuthCode !== undefined ? { client_auth_code: input.clientAuthCode } : {}),
    language_code: input.language,
  };
}
