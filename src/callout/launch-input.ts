import type { LaunchVersion, VerifiedLaunch } from '../auth/launch.types.js';
import type { TenantConfig } from '../config/index.js';
import type { ItemLevel, ItemRef } from '../concur/concur.types.js';

/** Why a verified launch still cannot be served; becomes a 400 page and a launch.rejected event. */
export class LaunchInputError extends Error {}

export interface LaunchChoices {
  field: string;
  isMobile: boolean;
  languageCode: string;
  expenseIds: string[];
}

const LEVELS: readonly ItemLevel[] = ['HEADER', 'ENTRY', 'ALLOCATION'];
const RULE_KEY = { HEADER: 'header', ENTRY: 'entry', ALLOCATION: 'allocation' } as const;
const FIELD_ID = /^(custom([1-9]|[1-3][0-9]|40)|orgUnit[1-6])$/;
const EXPENSE_ID = /^[A-Za-z0-9$_.-]{1,128}$/;
const AUTH_CODE = /^[A-Za-z0-9._~-]{1,512}$/;
const LANGUAGE = /^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,3})?$/;

/**
 * Validates a launch's unsigned parameters and decides the field to write. The field is the
 * one the tenant's rules allow for the item the signed item_url names, never simply the one
 * the query asks for.
 */
export function resolveLaunchChoices(launch: VerifiedLaunch, item: ItemRef): LaunchChoices {
  if (launch.version === 1) {
    const rule = launch.tenant.fields.v1;
    if (!rule) throw new LaunchInputError('no v1 field rule is configured for this tenant');
    // v1 sends no language: the popup follows the browser's Accept-Language.
    return { field: rule.field, isMobile: false, languageCode: '', expenseIds: [] };
  }
  const u = launch.unsigned;
  const source = u.source?.toUpperCase();
  if (source !== undefined && source !== '' && !LEVELS.includes(source as ItemLevel)) {
    throw new LaunchInputError(`source "${u.source}" is not HEADER, ENTRY or ALLOCATION`);
  }
  if (source && source !== item.level) {
    throw new LaunchInputError(`source ${source} does not match the item URL, which names a ${item.level.toLowerCase()}`);
  }
  if (item.userId && launch.reportOwnerUserId && item.userId.toLowerCase() !== launch.reportOwnerUserId.toLowerCase()) {
    throw new LaunchInputError('the item URL belongs to another user than the report owner');
  }
  const field = chooseV4Field(launch.tenant, item.level, u.custom_field_launched_from);
  const mobile = (u.is_mobile ?? 'false').toLowerCase();
  if (mobile !== 'true' && mobile !== 'false' && mobile !== '') {
    throw new LaunchInputError(`is_mobile "${u.is_mobile}" is not true or false`);
  }
  const expenseIds = (u.expense_ids ?? '').split(',').map((id) => id.trim()).filter(Boolean);
  if (expenseIds.length > 100 || expenseIds.some((id) => !EXPENSE_ID.test(id))) {
    throw new LaunchInputError('expense_ids is not a list of expense ids');
  }
  if (expenseIds.length && item.level !== 'ALLOCATION') {
    throw new LaunchInputError('expense_ids is only sent for allocations');
  }
  if (u.client_auth_code && !AUTH_CODE.test(u.client_auth_code)) {
    throw new LaunchInputError('client_auth_code is malformed');
  }
  const language = u.language_code ?? '';
  if (language !== '' && (language.length > 5 || !LANGUAGE.test(language))) {
    throw new LaunchInputError('language_code is not a language code');
  }
  return { field, isMobile: mobile === 'true', languageCode: language || 'en', expenseIds };
}

function chooseV4Field(tenant: TenantConfig, level: ItemLevel, asked: string | undefined): string {
  const allowed = tenant.fields.v4[RULE_KEY[level]];
  if (allowed.length === 0) {
    throw new LaunchInputError(`no field is configured for ${level.toLowerCase()} launches`);
  }
  if (asked === undefined || asked === '') return allowed[0];
  if (!FIELD_ID.test(asked)) throw new LaunchInputError(`custom_field_launched_from "${asked}" is not a custom field id`);
  if (!allowed.includes(asked)) {
    throw new LaunchInputError(`field ${asked} is not set up for the connector at ${level.toLowerCase()} level`);
  }
  return asked;
}

export function itemApiOf(version: LaunchVersion): 'v3' | 'v4' {
  return version === 1 ? 'v3' : 'v4';
}
