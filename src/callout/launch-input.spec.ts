import type { VerifiedLaunch } from '../auth/launch.types.js';
import { loadConfig } from '../config/index.js';
import type { ItemRef } from '../concur/concur.types.js';
import { LaunchInputError, resolveLaunchChoices } from './launch-input.js';

const tenant = loadConfig({}).config.tenants[0];
const owner = '5c1f0e2a-7b3d-4c8e-9f10-2a3b4c5d6e7f';

function item(level: ItemRef['level']): ItemRef {
  return { api: 'v4', level, url: 'https://us.api.concursolutions.com/x', origin: 'https://us.api.concursolutions.com', userId: owner };
}

function v4(unsigned: VerifiedLaunch['unsigned']): VerifiedLaunch {
  return {
    version: 4,
    tenant,
    companyDomain: 'sandbox.example.com',
    userId: owner,
    reportOwnerUserId: owner,
    reportOwnerEmployeeId: null,
    itemUrl: 'https://us.api.concursolutions.com/x',
    nonce: 'n',
    unsigned,
  };
}

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof LaunchInputError) return error.message;
    throw error;
  }
  throw new Error('expected a LaunchInputError');
}

describe('resolveLaunchChoices', () => {
  it('v1 writes the tenant field whatever the query says, in the browser\'s language', () => {
    const launch = { ...v4({}), version: 1 as const };
    expect(resolveLaunchChoices(launch, { ...item('ENTRY'), api: 'v3' })).toEqual({
      field: 'Custom1',
      isMobile: false,
      languageCode: '',
      expenseIds: [],
    });
  });

  it('v4 takes an allowed field, the mobile flag, the language and expense ids', () => {
    const choices = resolveLaunchChoices(
      v4({ custom_field_launched_from: 'custom9', source: 'allocation', is_mobile: 'TRUE', language_code: 'de', expense_ids: 'A1, B2' }),
      item('ALLOCATION'),
    );
    expect(choices).toEqual({ field: 'custom9', isMobile: true, languageCode: 'de', expenseIds: ['A1', 'B2'] });
  });

  it('v4 falls back to the first allowed field and English when the query names none', () => {
    expect(resolveLaunchChoices(v4({}), item('HEADER'))).toMatchObject({ field: 'custom9', languageCode: 'en', isMobile: false });
  });

  it.each([
    [{ custom_field_launched_from: 'custom12' }, 'ENTRY', /custom12 is not set up/],
    [{ custom_field_launched_from: 'Custom9' }, 'ENTRY', /not a custom field id/],
    [{ source: 'EXPENSE' }, 'ENTRY', /not HEADER, ENTRY or ALLOCATION/],
    [{ source: 'HEADER' }, 'ENTRY', /does not match the item URL/],
    [{ is_mobile: 'yes' }, 'ENTRY', /is_mobile/],
    [{ expense_ids: 'A1' }, 'ENTRY', /only sent for allocations/],
    [{ expense_ids: 'A1,<b>' }, 'ALLOCATION', /not a list of expense ids/],
    [{ expense_ids: Array.from({ length: 101 }, (_, i) => `E${i}`).join(',') }, 'ALLOCATION', /not a list/],
    [{ client_auth_code: 'has space' }, 'ENTRY', /client_auth_code/],
    [{ language_code: 'english' }, 'ENTRY', /language_code/],
    [{ language_code: 'e' }, 'ENTRY', /language_code/],
  ] as const)('refuses %j at %s level', (unsigned, level, reason) => {
    expect(reasonOf(() => resolveLaunchChoices(v4(unsigned), item(level)))).toMatch(reason);
  });

  it('refuses an item of another user than the report owner', () => {
    expect(reasonOf(() => resolveLaunchChoices(v4({}), { ...item('ENTRY'), userId: 'someone-else' }))).toMatch(/another user/);
  });

  it('refuses a level the tenant has no field for', () => {
    const narrow = { ...tenant, fields: { ...tenant.fields, v4: { header: [], entry: ['custom9'], allocation: [] } } };
    expect(reasonOf(() => resolveLaunchChoices({ ...v4({}), tenant: narrow }, item('HEADER')))).toMatch(/no field is configured/);
  });
});
