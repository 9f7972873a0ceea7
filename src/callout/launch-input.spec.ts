import type { VerifiedLaunch } from '../auth/launch.types.js';
import { loadConfig } from '../config/index.js';
import type { ItemRef } from '../concur/concur.types.js';
import { checkLaunchInput, LaunchInputError, resolveLaunchChoices } from './launch-input.js';

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
      notes: [],
    });
  });

  it('v4 takes an allowed field, the mobile flag, the language and expense ids', () => {
    const choices = resolveLaunchChoices(
      v4({ custom_field_launched_from: 'custom9', source: 'allocation', is_mobile: 'TRUE', language_code: 'de', expense_ids: 'A1, B2' }),
      item('ALLOCATION'),
    );
    expect(choices).toEqual({ field: 'custom9', isMobile: true, languageCode: 'de', expenseIds: ['A1', 'B2'], notes: [] });
  });

  it('v4 falls back to the first allowed field and English when the query names none', () => {
    expect(resolveLaunchChoices(v4({}), item('HEADER'))).toMatchObject({
      field: 'custom9',
      languageCode: 'en',
      isMobile: false,
      notes: [],
    });
  });

  it.each(['custom9', 'Custom9', 'CUSTOM9', 'custom09', 'Custom009'])('v4 takes %s as the configured custom9', (asked) => {
    expect(resolveLaunchChoices(v4({ custom_field_launched_from: asked }), item('ENTRY')).field).toBe('custom9');
  });

  it.each(['orgunit01', 'OrgUnit1', 'ORGUNIT1'])('v4 takes %s as the configured orgUnit1', (asked) => {
    const withOrgUnit = { ...tenant, fields: { ...tenant.fields, v4: { ...tenant.fields.v4, entry: ['custom9', 'orgUnit1'] } } };
    const launch = { ...v4({ custom_field_launched_from: asked }), tenant: withOrgUnit };
    expect(resolveLaunchChoices(launch, item('ENTRY')).field).toBe('orgUnit1');
  });

  it.each([
    ['maybe', '"maybe"'],
    ['yes', '"yes"'],
    ['1', '"1"'],
  ])('v4 reads is_mobile %s as false and says so', (value, shown) => {
    const choices = resolveLaunchChoices(v4({ is_mobile: value }), item('ENTRY'));
    expect(choices.isMobile).toBe(false);
    expect(choices.notes).toEqual([`is_mobile ${shown} is not true or false; using false`]);
  });

  it.each(['xx_YYYY!', 'english', 'e', 'en-GB-x', '12', 'en GB'])('v4 reads language_code %s as English and says so', (value) => {
    const choices = resolveLaunchChoices(v4({ language_code: value }), item('ENTRY'));
    expect(choices.languageCode).toBe('en');
    expect(choices.notes).toEqual([`language_code ${JSON.stringify(value)} is not a language code; using en`]);
  });

  it('names both fallbacks when both values are unusable, and still takes the rest', () => {
    const unsigned = { is_mobile: 'maybe', language_code: 'xx_YYYY!', custom_field_launched_from: 'Custom09' };
    const choices = resolveLaunchChoices(v4(unsigned), item('ENTRY'));
    expect(choices).toMatchObject({ field: 'custom9', isMobile: false, languageCode: 'en' });
    expect(choices.notes).toHaveLength(2);
  });

  it('shows an unusable value in a note capped, quoted and printable', () => {
    const [note] = resolveLaunchChoices(v4({ is_mobile: `"ü\u2028${'x'.repeat(200)}` }), item('ENTRY')).notes;
    expect(note).toBe(`is_mobile "\\"??${'x'.repeat(37)}..." is not true or false; using false`);
  });

  it.each([
    [{ custom_field_launched_from: 'custom12' }, 'ENTRY', /custom12 is not set up/],
    [{ custom_field_launched_from: 'Custom012' }, 'ENTRY', /custom12 is not set up/],
    [{ custom_field_launched_from: 'custom0' }, 'ENTRY', /not a custom field id/],
    [{ custom_field_launched_from: 'custom41' }, 'ENTRY', /not a custom field id/],
    [{ custom_field_launched_from: 'orgUnit7' }, 'ENTRY', /not a custom field id/],
    [{ custom_field_launched_from: 'project' }, 'ENTRY', /not a custom field id/],
    [{ source: 'EXPENSE' }, 'ENTRY', /not HEADER, ENTRY or ALLOCATION/],
    [{ source: 'HEADER' }, 'ENTRY', /does not match the item URL/],
    [{ expense_ids: 'A1' }, 'ENTRY', /only sent for allocations/],
    [{ expense_ids: 'A1,<b>' }, 'ALLOCATION', /not a list of expense ids/],
    [{ expense_ids: Array.from({ length: 101 }, (_, i) => `E${i}`).join(',') }, 'ALLOCATION', /not a list/],
    [{ client_auth_code: 'has space' }, 'ENTRY', /client_auth_code/],
  ] as const)('refuses %j at %s level', (unsigned, level, reason) => {
    expect(reasonOf(() => resolveLaunchChoices(v4(unsigned), item(level)))).toMatch(reason);
  });

  it('refuses an item of another user than the report owner', () => {
    expect(reasonOf(() => resolveLaunchChoices(v4({}), { ...item('ENTRY'), userId: 'someone-else' }))).toMatch(/another user/);
  });

  it('refuses a level the tenant has no field for', () => {
    const narrow = { ...tenant, fields: { ...tenant.fields, v4: { ...tenant.fields.v4, header: [], entry: ['custom9'], allocation: [] } } };
    expect(reasonOf(() => resolveLaunchChoices({ ...v4({}), tenant: narrow }, item('HEADER')))).toMatch(/no field is configured/);
  });
});

describe('checkLaunchInput', () => {
  const allowed = [{ origin: 'https://us.api.concursolutions.com', pathPrefix: '' }];
  const entryUrl = `https://us.api.concursolutions.com/expensereports/v4/users/${owner}/context/TRAVELER/reports/R1/expenses/E1`;

  it('parses the item URL and resolves the choices in one step', () => {
    const checked = checkLaunchInput({ ...v4({ source: 'ENTRY' }), itemUrl: entryUrl }, allowed);
    expect(checked.item).toMatchObject({ api: 'v4', level: 'ENTRY', userId: owner });
    expect(checked.choices).toMatchObject({ field: 'custom9', languageCode: 'en' });
  });

  it('refuses an item URL outside the allowed origins as unusable input', () => {
    const launch = { ...v4({}), itemUrl: entryUrl.replace('us.api.concursolutions.com', 'evil.example') };
    expect(reasonOf(() => checkLaunchInput(launch, allowed))).toMatch(/item/i);
  });

  it('refuses a bad unsigned parameter as unusable input', () => {
    expect(reasonOf(() => checkLaunchInput({ ...v4({ source: 'HEADER' }), itemUrl: entryUrl }, allowed))).toBe(
      'source HEADER does not match the item URL, which names a entry',
    );
  });
});
