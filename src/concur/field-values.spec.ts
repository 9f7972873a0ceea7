import { ConcurError, type ItemRef, MAX_FIELD_VALUE_LENGTH } from './concur.types.js';
import { buildUpdate, readItemView } from './field-values.js';

const V3: ItemRef = { api: 'v3', level: 'ENTRY', url: 'https://x.test/api/v3.0/expense/entries/E1', origin: 'https://x.test', entryId: 'E1' };
const v4 = (level: ItemRef['level']): ItemRef => ({ api: 'v4', level, url: 'https://x.test/r', origin: 'https://x.test' });

describe('readItemView', () => {
  it('reads a v3 entry', () => {
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
    });
    expect(readItemView(V3, 'Custom2', body).fieldValue).toBeNull();
    expect(readItemView(V3, 'OrgUnit1', body).fieldValue).toBeNull();
    expect(readItemView(V3, 'Custom9', body).fieldValue).toBeNull();
  });

  it('reads a v4 header', () => {
    const body = {
      reportId: 'R1',
      name: 'November trip',
      reportDate: '2026-11-03',
      totalClaimedAmount: { value: 120, currencyCode: 'USD' },
      customData: [{ id: 'custom1', value: 'x', isValid: true }, { id: 'custom9', value: 'PRJ-9', isValid: true }],
    };
    expect(readItemView(v4('HEADER'), 'custom9', body)).toEqual({
      level: 'HEADER',
      title: 'November trip',
      amount: 120,
      currency: 'USD',
      date: '2026-11-03',
      fieldValue: 'PRJ-9',
    });
  });

  it('reads a v4 expense', () => {
    const body = {
      expenseId: 'E1',
      expenseType: { id: 'TAXI', name: 'Taxi' },
      transactionDate: '2026-11-02',
      transactionAmount: { value: 12.3, currencyCode: 'CHF' },
      customData: [{ id: 'custom9', value: '', isValid: true }],
    };
    expect(readItemView(v4('ENTRY'), 'custom9', body)).toEqual({
      level: 'ENTRY',
      title: 'Taxi',
      amount: 12.3,
      currency: 'CHF',
      date: '2026-11-02',
      fieldValue: null,
    });
  });

  it('reads a v4 allocation without a date', () => {
    const body = {
      allocationId: 'A1',
      expenseId: 'E1',
      percentage: 50,
      allocationAmount: { value: 6.15, currencyCode: 'CHF' },
      customData: [{ id: 'custom9', value: 'PRJ-2', isValid: true }],
    };
    expect(readItemView(v4('ALLOCATION'), 'custom9', body)).toEqual({
      level: 'ALLOCATION',
      title: null,
      percentage: 50,
      amount: 6.15,
      currency: 'CHF',
      date: null,
      fieldValue: 'PRJ-2',
    });
  });

  it('turns missing or oddly typed parts into nulls', () => {
    const empty = { title: null, amount: null, currency: null, date: null, fieldValue: null };
    expect(readItemView(V3, 'Custom1', {})).toEqual({ level: 'ENTRY', ...empty });
    expect(readItemView(V3, 'Custom1', { TransactionAmount: 'lots', TransactionDate: 7, Custom1: 'PRJ', ExpenseTypeName: {} })).toEqual({
      level: 'ENTRY',
      ...empty,
    });
    expect(readItemView(v4('HEADER'), 'custom9', { totalClaimedAmount: 5, customData: { id: 'custom9' }, reportDate: 'soon' })).toEqual({
      level: 'HEADER',
      ...empty,
    });
    expect(readItemView(v4('ENTRY'), 'custom9', { expenseType: 'Taxi', customData: [null, 3, { id: 'custom9' }] })).toEqual({
      level: 'ENTRY',
      ...empty,
    });
    expect(readItemView(v4('ALLOCATION'), 'custom9', { percentage: null })).toMatchObject({ title: null, percentage: null });
    expect(readItemView(V3, '__proto__', {}).fieldValue).toBeNull();
  });

  it('refuses a body that is not an object', () => {
    for (const body of [null, 'oops', 3, [], undefined]) {
      expect(() => readItemView(V3, 'Custom1', body)).toThrow(ConcurError);
    }
    try {
      readItemView(v4('HEADER'), 'custom9', '<html>');
    } catch (error) {
      expect((error as ConcurError).kind).toBe('rejected');
    }
  });
});

describe('buildUpdate', () => {
  it('builds a v3 PUT of the field value', () => {
    expect(buildUpdate(V3, 'Custom1', 'PRJ-001')).toEqual({ method: 'PUT', body: { Custom1: { Value: 'PRJ-001' } } });
  });

  it('builds a v4 PATCH with customData', () => {
    expect(buildUpdate(v4('ALLOCATION'), 'custom9', 'PRJ-9')).toEqual({
      method: 'PATCH',
      body: { customData: [{ id: 'custom9', value: 'PRJ-9', isValid: true }] },
    });
  });

  it(`accepts ${MAX_FIELD_VALUE_LENGTH} characters and refuses more`, () => {
    expect(buildUpdate(V3, 'Custom1', 'x'.repeat(MAX_FIELD_VALUE_LENGTH)).method).toBe('PUT');
    expect(() => buildUpdate(V3, 'Custom1', 'x'.repeat(MAX_FIELD_VALUE_LENGTH + 1))).toThrow(/at most 48/);
    expect(() => buildUpdate(v4('ENTRY'), 'custom9', 'x'.repeat(49))).toThrow(/at most 48/);
  });

  it('refuses field names that are not Concur custom fields', () => {
    expect(() => buildUpdate(V3, '__proto__', 'x')).toThrow();
    expect(() => buildUpdate(V3, 'custom1', 'x')).toThrow();
    expect(() => buildUpdate(v4('HEADER'), 'Custom1', 'x')).toThrow();
    expect(() => buildUpdate(v4('HEADER'), 'name', 'x')).toThrow();
  });
});
