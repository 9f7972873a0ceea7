import { v1LaunchParams, v4LaunchParams } from './launch-params.js';

describe('launch parameters', () => {
  it('v1: company domain, user and item URL, as Concur sends them', () => {
    expect(v1LaunchParams({ companyDomain: 'acme.example.com', userId: 'jane@acme', itemUrl: 'https://x/e/1' })).toEqual({
      xcompanydomain: 'acme.example.com',
      xuserid: 'jane@acme',
      itemurl: 'https://x/e/1',
    });
  });

  it("v4: Concur's order, the client_auth_code given, expense_ids only for allocations", () => {
    const input = {
      companyDomain: 'acme.example.com', userId: 'u1', reportOwnerUserId: 'u2', reportOwnerEmployeeId: 'E1',
      itemUrl: 'https://x/r/1/expenses/X1', field: 'custom9', level: 'ENTRY' as const, mobile: true, language: 'de',
    };
    const entry = v4LaunchParams({ ...input, clientAuthCode: 'code-1' });
    expect(Object.keys(entry)).toEqual([
      'company_domain', 'logged_in_user_id', 'report_owner_user_id', 'report_owner_employee_id', 'item_url',
      'custom_field_launched_from', 'source', 'is_mobile', 'client_auth_code', 'language_code',
    ]);
    expect(entry).toMatchObject({ source: 'ENTRY', is_mobile: 'true', client_auth_code: 'code-1', language_code: 'de' });
    const allocation = v4LaunchParams({ ...input, level: 'ALLOCATION', expenseIds: 'X1' });
    expect(allocation.expense_ids).toBe('X1');
    expect(Object.keys(allocation).indexOf('expense_ids')).toBe(Object.keys(allocation).indexOf('source') + 1);
  });

  it('v4: no client_auth_code unless one is given (it is issued by Concur, not invented)', () => {
    const params = v4LaunchParams({
      companyDomain: 'acme.example.com', userId: 'u1', reportOwnerUserId: 'u1', reportOwnerEmployeeId: 'E1',
      itemUrl: 'https://x/r/1', field: 'custom9', level: 'HEADER', mobile: false, language: 'en',
    });
    expect(params).not.toHaveProperty('client_auth_code');
  });
});
