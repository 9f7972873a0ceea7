import type { CheckedLaunchInput, LaunchChoices, LaunchVersion, VerifiedLaunch } from '../auth/launch.types.js';
import type { TenantConfig } from '../config/index.js';
import { type AllowedOrigin, type ItemLevel, type ItemRef, ItemUrlError } from '../concur/concur.types.js';
import { canonicalFieldId } from '../concur/field-id.js';
import { parseItemUrl } from '../concur/item-url.js';

export type { LaunchChoices } from '../auth/launch.types.js';

/** Why a verified launch still cannot be served; becomes a 400 page and a launch.rejected event. */
export class LaunchInputError extends Error {}

/**
 * Everything that can refuse a signed launch for its input: the item URL (an allowed Concur
 * item) and the unsigned parameters. SignatureGuard runs it after the signature and before the
 * nonce is claimed, so a launch refused here keeps its nonce for the corrected URL.
 */
export function checkLaunchInput(launch: VerifiedLaunch, allowed: AllowedOrigin[]): CheckedLaunchInput {
  let item: ItemRef;
  try {
    item = parseItemUrl(launch.itemUrl, itemApiOf(launch.version), allowed);
  } catch (error) {
    if (error instanceof ItemUrlError) throw new LaunchInputError(error.message, { cause: error });
    throw error;
  }
  return { item, choices: resolveLaunchChoices(launch, item) };
}

const LEVELS: readonly ItemLevel[] = ['HEADER', 'ENTRY', 'ALLOCATION'];
const RULE_KEY = { HEADER: 'header', ENTRY: 'entry', ALLOCATION: 'allocation' } as const;
const EXPENSE_ID = /^[A-Za-z0-9$_.-]{1,128}$/;
const AUTH_CODE = /^[A-Za-z0-9._~-]{1,512}$/;
const LANGUAGE = /^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,3})?$/;
const SHOWN_MAX = 40;

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
    return { field: rule.field, isMobile: false, languageCode: '', expenseIds: [], notes: [] };
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
  // is_mobile and language_code only shape the page: a value Concur's docs do not foresee gets
  // the default rather than a refused launch.
  const notes: string[] = [];
  const mobile = (u.is_mobile ?? 'false').toLowerCase();
  if (mobile !== 'true' && mobile !== 'false' && mobile !== '') {
    notes.push(`is_mobile ${shown(u.is_mobile!)} is not true or false; using false`);
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
  let language = u.language_code ?? '';
  if (language !== '' && (language.length > 5 || !LANGUAGE.test(language))) {
    notes.push(`language_code ${shown(language)} is not a language code; using en`);
    language = '';
  }
  return { field, isMobile: mobile === 'true', languageCode: language || 'en', expenseIds, notes };
}

function chooseV4Field(tenant: TenantConfig, level: ItemLevel, asked: string | undefined): string {
  const allowed = tenant.fields.v4[RULE_KEY[level]];
  if (allowed.length === 0) {
    throw new LaunchInputError(`no field is configured for ${level.toLowerCase()} launches`);
  }
  if (asked === undefined || asked === '') return canonicalFieldId(allowed[0]) ?? allowed[0];
  // Concur's own examples send `custom09`; case and leading zeros name the same field.
  const id = canonicalFieldId(asked);
  if (!id) throw new LaunchInputError(`custom_field_launched_from "${asked}" is not a custom field id`);
  if (!allowed.some((configured) => canonicalFieldId(configured) === id)) {
    throw new LaunchInputError(`field ${id} is not set up for the connector at ${level.toLowerCase()} level`);
  }
  return id;
}

/** An untrusted value as a log may show it: quoted, printable ASCII only, at most SHOWN_MAX characters. */
function shown(value: string): string {
  const printable = value.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(printable.length > SHOWN_MAX ? `${printable.slice(0, SHOWN_MAX)}...` : printable);
}

export function itemApiOf(version: LaunchVersion): 'v3' | 'v4' {
  return version === 1 ? 'v3' : 'v4';
}
