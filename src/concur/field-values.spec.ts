import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TenantConfig } from '../config/index.js';
import { ConcurError, type ItemRef, MAX_FIELD_VALUE_LENGTH } from './concur.types.js';
import { checkContract } from './contract/contract.js';
import { allocationWrite, expenseWrite, itemContract, readItemView, reportHeaderWrite, v3EntryWrite, type WriteTarget } from './field-values.js';

const V3: ItemRef = { api: 'v3', level: 'ENTRY', url: 'https://x.test/api/v3.0/expense/entries/E1', origin: 'https://x.test', entryId: 'E1' };
const v4 = (level: ItemRef['level']): ItemRef => ({ api: 'v4', level, url: 'https://x.test/r', origin: 'https://x.test' });
/** An example answer from Concur's own pages (test/fixtures/concur-docs). */
const docExample = (file: string): unknown =>
  JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'concur-docs', file), 'utf8'));

const tenant = { fields: { v4: { header: [], entry: [], allocation: [], expenseSource: 'OTHER', reportSource: 'OTHER' } } } as unknown as TenantConfig;
const target = (item: ItemRef, field: string, value = 'PRJ-1', fieldId?: string): WriteTarget => ({ item, tenant, field, value, fieldId });

describe('readItemView', () => {
  it('reads a v3 entry, matching the field id in any spelling', () => {
    const body = {
      ID: 'E1',
      ExpenseTypeName: 'Taxi',
      TransactionAmount: 42.5,
      TransactionCurrencyCode: 'EUR',
      TransactionDate: '2026-11-02T00:00:00',
      Custom1: { Type: 'Text', Value: 'PRJ-001', Code: null, ListItemID: null },
      Custom2: null,
      OrgUnit1: { Type: 'Text', Value: '', Code: null, ListItemID: null },
    };
    expect(readItemView(V3, 'Custom1', body)).toEqual({
      level: 'ENTRY',
      title: 'Taxi',
      amount: 42.5,
      currency: 'EUR',
      date: '2026-11-02',
      fieldValue: 'PRJ-001',
      fieldId: 'Custom1',
    });
    expect(readItemView(V3, 'custom01', body).fieldValue).toBe('PRJ-001');
    expect(readItemView(V3, 'Custom2', body).fieldValue).toBeNull();
    expect(readItemView(V3, 'OrgUnit1', body).fieldValue).toBeNull();
    expect(readItemView(V3, 'Custom9', body).fieldValue).toBeNull();
  });

  it("reads the report header of Concur's own example by the schema's names (reportTotal, not totalClaimedAmount)", () => {
    const view = readItemView(v4('HEADER'), 'custom16', docExample('v4.reports.report-details.response.json'));
    expect(view).toEqual({
      level: 'HEADER',
      title: 'March Expenses',
      amount: 525,
      currency: 'USD',
      date: '2020-03-25',
      fieldValue: 'Test33224ASDF',
      fieldId: 'custom16',
      approvalStatusId: 'A_NOTF',
    });
  });

  it('falls back to claimedAmount when a header has no reportTotal', () => {
    const view = readItemView(v4('HEADER'), 'custom9', { claimedAmount: { value: 7, currencyCode: 'EUR' } });
    expect(view).toMatchObject({ amount: 7, currency: 'EUR' });
  });

  it("reads the expense of Concur's own example, and its custom09 as custom9", () => {
    const body = docExample('v4.expenses.expense-detail.response.json');
    expect(readItemView(v4('ENTRY'), 'custom9', body)).toEqual({
      level: 'ENTRY',
      title: 'Online Fees',
      amount: 25,
      currency: 'USD',
      date: '2020-03-11',
      fieldValue: 'AB8596D91C994F4DBBD820D6DCBDC599',
      fieldId: 'custom9',
    });
    const padded = { customData: [{ id: 'custom09', value: 'PRJ-9', isValid: true }] };
    expect(readItemView(v4('ENTRY'), 'custom9', padded)).toMatchObject({ fieldValue: 'PRJ-9', fieldId: 'custom09' });
  });

  it("reads the allocation of Concur's own example, with the expense it belongs to", () => {
    expect(readItemView(v4('ALLOCATION'), 'custom9', docExample('v4.allocations.allocation.response.json'))).toEqual({
      level: 'ALLOCATION',
      title: null,
      percentage: 50,
      amount: 250,
      currency: 'USD',
      date: null,
      fieldValue: 'D3954B47BCEC9446A4FFC49E0000B46E',
      fieldId: 'custom9',
      expenseId: '29EE3C62F5D844458828A5C1086072D1',
    });
  });

  it('turns missing or oddly typed parts into nulls', () => {
    const empty = { title: null, amount: null, currency: null, date: null, fieldValue: null, fieldId: null };
    expect(readItemView(V3, 'Custom1', {})).toEqual({ level: 'ENTRY', ...empty });
    expect(readItemView(V3, 'Custom1', { TransactionAmount: 'lots', TransactionDate: 7, Custom1: 'PRJ', ExpenseTypeName: {} })).toEqual({
      level: 'ENTRY',
      ...empty,
      fieldId: 'Custom1',
    });
    expect(readItemView(v4('HEADER'), 'custom9', { reportTotal: 5, customData: { id: 'custom9' }, reportDate: 'soon' })).toEqual({
      level: 'HEADER',
      ...empty,
      approvalStatusId: null,
    });
    expect(readItemView(v4('ENTRY'), 'custom9', { expenseType: 'Taxi', customData: [null, 3, { id: 'custom9' }] })).toEqual({
      level: 'ENTRY',
      ...empty,
      fieldId: 'custom9',
    });
    expect(readItemView(v4('ALLOCATION'), 'custom9', { percentage: null })).toMatchObject({ title: null, percentage: null, expenseId: null });
    expect(readItemView(V3, '__proto__', {}).fieldValue).toBeNull();
  });

  it('refuses a body that is not an object', () => {
    for (const body of [null, 'oops', 3, [], undefined]) {
      expect(() => readItemView(V3, 'Custom1', body)).toThrow(ConcurError);
    }
    expect(() => readItemView(v4('HEADER'), 'custom9', '<html>')).toThrow(expect.objectContaining({ kind: 'rejected' }));
  });

  it('names the answer contract of each item', () => {
    expect(itemContract(V3)).toBe('v3.EntryGet');
    expect(itemContract(v4('HEADER'))).toBe('v4.ReportDetails');
    expect(itemContract(v4('ENTRY'))).toBe('v4.ReportExpenseDetail');
    expect(itemContract(v4('ALLOCATION'))).toBe('v4.ReportAllocationResponse');
  });
});

describe('the writes, in the shapes Concur documents', () => {
  it('v3: a PUT with the value as a plain string (EntryPut.Custom1: string), never {"Value": ...}', () => {
    const write = v3EntryWrite(target(V3, 'Custom1'), '/api/v3.0/expense/entries/E1');
    expect(write).toEqual({ method: 'PUT', path: '/api/v3.0/expense/entries/E1', body: { Custom1: 'PRJ-1' }, contract: 'v3.EntryPut' });
    expect(checkContract('v3.EntryPut', write.body).ok).toBe(true);
    expect(v3EntryWrite(target(V3, 'OrgUnit2'), '/p').body).toEqual({ OrgUnit2: 'PRJ-1' });
  });

  it('v4 header: customData and the Required reportSource', () => {
    const write = reportHeaderWrite(target(v4('HEADER'), 'custom9'), '/r');
    expect(write.body).toEqual({ customData: [{ id: 'custom9', value: 'PRJ-1', isValid: true }], reportSource: 'OTHER' });
    expect(checkContract('v4.UpdateReport', write.body).ok).toBe(true);
  });

  it('v4 expense: the user-context path while the report is not submitted, the submitted-report path otherwise', () => {
    const paths = { unsubmitted: '/users/U/context/TRAVELER/reports/R/expenses/X', submitted: '/reports/R/expenses/X' };
    const open = expenseWrite(target(v4('ENTRY'), 'custom9'), 'A_NOTF', paths);
    expect(open).toMatchObject({ method: 'PATCH', path: paths.unsubmitted, contract: 'v4.UpdateReportExpense' });
    expect(open.body).toEqual({ customData: [{ id: 'custom9', value: 'PRJ-1', isValid: true }], expenseSource: 'OTHER' });
    for (const status of ['A_PEND', 'A_APPR', 'A_EXTV', 'anything else']) {
      const submitted = expenseWrite(target(v4('ENTRY'), 'custom9'), status, paths);
      expect(submitted).toMatchObject({ path: paths.submitted, contract: 'v4.UpdateReportExpenseCompact' });
      expect(checkContract('v4.UpdateReportExpenseCompact', submitted.body).ok).toBe(true);
    }
    expect(checkContract('v4.UpdateReportExpense', open.body).ok).toBe(true);
  });

  it('v4 allocation: the custom data inside "allocation", and expenseIds', () => {
    const write = allocationWrite(target(v4('ALLOCATION'), 'custom9'), 'X1', '/a');
    expect(write.body).toEqual({ allocation: { customData: [{ id: 'custom9', value: 'PRJ-1', isValid: true }] }, expenseIds: ['X1'] });
    expect(checkContract('v4.UpdateReportAllocation', write.body).ok).toBe(true);
  });

  it("uses the field id as Concur spelled it when it names the same field, else the canonical one", () => {
    expect(reportHeaderWrite(target(v4('HEADER'), 'custom9', 'v', 'custom09'), '/r').body.customData).toEqual([{ id: 'custom09', value: 'v', isValid: true }]);
    expect(reportHeaderWrite(target(v4('HEADER'), 'custom9', 'v', 'custom19'), '/r').body.customData).toEqual([{ id: 'custom9', value: 'v', isValid: true }]);
  });

  it(`accepts ${MAX_FIELD_VALUE_LENGTH} characters and refuses more`, () => {
    expect(() => v3EntryWrite(target(V3, 'Custom1', 'x'.repeat(MAX_FIELD_VALUE_LENGTH)), '/p')).not.toThrow();
    expect(() => v3EntryWrite(target(V3, 'Custom1', 'x'.repeat(MAX_FIELD_VALUE_LENGTH + 1)), '/p')).toThrow(/at most 48/);
    expect(() => reportHeaderWrite(target(v4('HEADER'), 'custom9', 'x'.repeat(MAX_FIELD_VALUE_LENGTH + 1)), '/p')).toThrow(/at most 48/);
  });

  it('refuses field names that are not Concur custom fields', () => {
    expect(() => v3EntryWrite(target(V3, 'TransactionAmount'), '/p')).toThrow(/not a writable v3 entry field/);
    expect(() => reportHeaderWrite(target(v4('HEADER'), 'name'), '/p')).toThrow(/not a writable v4 custom field/);
    expect(() => reportHeaderWrite(target(v4('HEADER'), 'custom41'), '/p')).toThrow(/not a writable v4 custom field/);
  });
});
