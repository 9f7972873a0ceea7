import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkContract } from '../concur/contract/contract.js';
import { COMPANY, userPrincipal } from './sandbox.principal.js';
import { SANDBOX_USER, SandboxStore, type StoreResult, type V4Path } from './sandbox.store.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'concur-docs');
/** A request body of Concur's pages, as the colleague's fixtures keep it. */
const docBody = (file: string): Record<string, any> => JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'));

const SAM = userPrincipal(SANDBOX_USER.uuid);
const OTHER = userPrincipal('9a8b7c6d-0000-4000-8000-000000000001');
const r1: V4Path = { userId: SANDBOX_USER.uuid, context: 'TRAVELER', reportId: 'SBXR1' };
const r2: V4Path = { ...r1, reportId: 'SBXR2' };
const customValue = (item: { customData: Array<{ id: string; value: string | null }> }, id: string) =>
  item.customData.find((d) => d.id === id)?.value;
const expenseBody = (customData: unknown[], extra: object = {}) => ({ customData, expenseSource: 'OTHER', ...extra });
const refusal = (result: StoreResult<unknown>) => (result.ok ? undefined : result);

describe(SandboxStore.name, () => {
  let store: SandboxStore;

  beforeEach(() => {
    store = new SandboxStore();
  });

  describe('seed data, shaped as the documentation shows it', () => {
    it('every v3 entry, report, expense and allocation passes its response contract', () => {
      const state = store.state();
      for (const entry of state.entries) expect(checkContract('v3.EntryGet', entry)).toEqual({ ok: true, errors: [] });
      for (const { report, expenses, allocations } of state.reports) {
        expect(checkContract('v4.ReportDetails', report)).toEqual({ ok: true, errors: [] });
        for (const e of expenses) expect(checkContract('v4.ReportExpenseDetail', e)).toEqual({ ok: true, errors: [] });
        for (const a of allocations) expect(checkContract('v4.ReportAllocationResponse', a)).toEqual({ ok: true, errors: [] });
      }
    });

    it('keeps the ids the tests use: SBXR1 unsubmitted with SBXX1, SBXX2, SBXA1 and SBXA2; SBXR2 submitted with SBXX3 and SBXA3', () => {
      const state = store.state();
      expect(state.report).toMatchObject({ reportId: 'SBXR1', approvalStatusId: 'A_NOTF', approvalStatus: 'Not Submitted', submitDate: null });
      expect(state.expenses.map((e) => e.expenseId)).toEqual(['SBXX1', 'SBXX2']);
      expect(state.allocations.map((a) => [a.allocationId, a.expenseId, a.percentage])).toEqual([
        ['SBXA1', 'SBXX1', 50],
        ['SBXA2', 'SBXX1', 50],
      ]);
      const [first, second] = state.reports;
      expect(first.report.reportId).toBe('SBXR1');
      expect(second.report).toMatchObject({ reportId: 'SBXR2', approvalStatusId: 'A_PEND', approvalStatus: 'Submitted & Pending Approval' });
      expect(second.report.submitDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(second.expenses.map((e) => e.expenseId)).toEqual(['SBXX3']);
      expect(second.allocations.map((a) => [a.allocationId, a.expenseId])).toEqual([['SBXA3', 'SBXX3']]);
      expect(state.entries.map((e) => e.ID)).toEqual(['SBXE1$a7Kq', 'SBXE2$b8Lr']);
      expect(state.userId).toBe(SANDBOX_USER.uuid);
    });

    it('puts the report totals in claimedAmount and reportTotal (the documented members), not totalClaimedAmount', () => {
      const { report } = store.state();
      expect(report.claimedAmount).toEqual({ value: 326.4, currencyCode: 'EUR' });
      expect(report.reportTotal).toEqual({ value: 326.4, currencyCode: 'EUR' });
      expect(report).not.toHaveProperty('totalClaimedAmount');
    });

    it('seeds v3 custom fields as {Type, Value, Code, ListItemID}', () => {
      expect(store.getEntry('SBXE1$a7Kq')?.Custom1).toEqual({ Type: 'Text', Value: null, Code: null, ListItemID: null });
      expect(store.getEntry('SBXE1$a7Kq')?.Custom11).toBeUndefined();
    });
  });

  describe('Expense Entries v3 PUT (EntryPut)', () => {
    it('takes custom fields as plain strings and keeps the rest of the CustomField', () => {
      expect(store.updateEntry('SBXE1$a7Kq', { Custom1: 'PRJ-1001', OrgUnit2: 'Sales', Comment: 'accepted, not applied' }, COMPANY).ok).toBe(true);
      const entry = store.getEntry('SBXE1$a7Kq')!;
      expect(entry.Custom1).toEqual({ Type: 'Text', Value: 'PRJ-1001', Code: null, ListItemID: null });
      expect(entry.OrgUnit2?.Value).toBe('Sales');
      expect(checkContract('v3.EntryGet', entry).ok).toBe(true);
      expect(store.state().updates).toBe(1);
    });

    it.each([
      ['the old object form of a custom field', { Custom1: { Value: 'x' } }, '/Custom1'],
      ['a value over 48 characters', { Custom1: 'y'.repeat(49) }, '/Custom1'],
      ['a lower-case field name', { custom1: 'x' }, '/'],
      ['a member EntryPut does not have', { ExpenseTypeName: 'Changed' }, '/'],
      ['no object', [1], '/'],
    ])('refuses %s with 400 and changes nothing', (_name, body, at) => {
      const result = refusal(store.updateEntry('SBXE1$a7Kq', body, COMPANY));
      expect(result).toMatchObject({ status: 400, message: expect.stringContaining('EntryPut') });
      expect(result!.validation?.[0]).toMatchObject({ id: at, source: 'v3.EntryPut' });
      expect(store.getEntry('SBXE1$a7Kq')?.Custom1?.Value).toBeNull();
    });

    it('accepts 48 characters', () => {
      expect(store.updateEntry('SBXE1$a7Kq', { Custom1: 'x'.repeat(48) }, COMPANY).ok).toBe(true);
    });

    it('answers 404 for an unknown entry and 403 to another user’s token', () => {
      expect(store.updateEntry('nope', { Custom1: 'a' }, COMPANY)).toMatchObject({ ok: false, status: 404 });
      expect(store.readEntry('SBXE1$a7Kq', OTHER)).toMatchObject({ ok: false, status: 403 });
      expect(store.updateEntry('SBXE1$a7Kq', { Custom1: 'a' }, OTHER)).toMatchObject({ ok: false, status: 403 });
      expect(store.readEntry('SBXE1$a7Kq', SAM).ok).toBe(true);
    });

    it('returns copies, so a caller cannot change the store', () => {
      const entry = store.getEntry('SBXE1$a7Kq');
      entry!.Custom1!.Value = 'mutated';
      expect(store.getEntry('SBXE1$a7Kq')?.Custom1?.Value).toBeNull();
    });
  });

  describe('Expense Reports v4 PATCH', () => {
    it("accepts the pages' own example bodies (header, expense, submitted-report expense, allocation)", () => {
      expect(store.patchV4(r1, docBody('v4.reports.update-report.request.json'), COMPANY)).toEqual({ ok: true, value: undefined });
      expect(store.patchV4({ ...r1, expenseId: 'SBXX1' }, docBody('v4.expenses.update-unsubmitted-expense.request.json'), COMPANY).ok).toBe(true);
      expect(store.patchExpenseOfReport('SBXR2', 'SBXX3', docBody('v4.expenses.update-submitted-expense.request.json'), COMPANY).ok).toBe(true);
      const allocation = { ...docBody('v4.allocations.update-allocation.request.json'), expenseIds: ['SBXX1'] };
      expect(store.patchV4({ ...r1, allocationId: 'SBXA1' }, allocation, COMPANY).ok).toBe(true);
      const state = store.state();
      expect(customValue(state.report, 'custom15')).toBe('E31CB42509F9FF408BA7DD6713AB49BD');
      expect(state.report.businessPurpose).toBe('Office Facility Supplies');
      expect(customValue(state.allocations[0], 'custom9')).toBe('058713001E2CD943824280D9275FDC3F');
      expect(customValue(state.reports[1].expenses[0], 'custom9')).toBe('81188b39-605d-2d4f-b80b-43efa84a7b49');
      expect(state.updates).toBe(4);
    });

    it('matches a customData id whatever its case and leading zeros (custom09 is custom9) and keeps the stored spelling', () => {
      expect(store.patchV4({ ...r1, expenseId: 'SBXX1' }, expenseBody([{ id: 'Custom09', value: 'PRJ-9' }]), SAM).ok).toBe(true);
      const expense = store.state().expenses[0];
      expect(expense.customData.filter((d) => /custom0*9$/i.test(d.id))).toEqual([{ id: 'custom9', value: 'PRJ-9', isValid: true }]);
      expect(customValue(store.state().expenses[1], 'custom9')).toBeNull();
    });

    it.each([
      ['a header PATCH without reportSource', r1, { customData: [{ id: 'custom9', value: 'x' }] }, 'reportSource'],
      ['an expense PATCH without expenseSource', { ...r1, expenseId: 'SBXX1' }, { customData: [{ id: 'custom9', value: 'x' }] }, 'expenseSource'],
      ['an allocation PATCH in the old form {customData}', { ...r1, allocationId: 'SBXA1' }, { customData: [{ id: 'custom9', value: 'x' }] }, 'allocation'],
      ['a value over 48 characters', { ...r1, expenseId: 'SBXX1' }, expenseBody([{ id: 'custom9', value: 'z'.repeat(49) }]), '48'],
      ['a null value (CustomData value is a string)', { ...r1, expenseId: 'SBXX1' }, expenseBody([{ id: 'custom9', value: null }]), 'string'],
      ['an unknown expenseSource', { ...r1, expenseId: 'SBXX1' }, expenseBody([], { expenseSource: 'API' }), 'expenseSource'],
    ])('refuses %s with 400 and validation errors from the contract', (_name, path, body, mentioned) => {
      const result = refusal(store.patchV4(path, body, COMPANY));
      expect(result).toMatchObject({ status: 400 });
      expect(JSON.stringify(result!.validation)).toContain(mentioned);
      expect(customValue(store.state().report, 'custom9')).toBeNull();
      expect(customValue(store.state().expenses[0], 'custom9')).toBeNull();
      expect(customValue(store.state().allocations[0], 'custom9')).toBeNull();
    });

    it('refuses a customData id that names no custom or org unit field', () => {
      for (const id of ['custom41', 'orgUnit7', 'colour']) {
        const result = refusal(store.patchV4({ ...r1, expenseId: 'SBXX1' }, expenseBody([{ id, value: 'a' }]), COMPANY));
        expect(result).toMatchObject({ status: 400, validation: [{ id: '/customData/0/id', source: 'customData' }] });
      }
    });

    it("refuses an allocation PATCH whose expenseIds leave out the allocation's expense or name another report's", () => {
      const patch = (expenseIds: string[]) => ({ allocation: { customData: [{ id: 'custom9', value: 'A' }] }, expenseIds });
      expect(refusal(store.patchV4({ ...r1, allocationId: 'SBXA1' }, patch(['SBXX2']), COMPANY))).toMatchObject({
        status: 400,
        validation: [{ id: '/expenseIds', message: expect.stringContaining('SBXX1') }],
      });
      expect(refusal(store.patchV4({ ...r1, allocationId: 'SBXA1' }, patch(['SBXX1', 'SBXX3']), COMPANY))?.validation).toEqual([
        expect.objectContaining({ id: '/expenseIds/1' }),
      ]);
      expect(store.patchV4({ ...r1, allocationId: 'SBXA2' }, patch(['SBXX1']), COMPANY).ok).toBe(true);
      expect(customValue(store.state().allocations[0], 'custom9')).toBeNull();
      expect(customValue(store.state().allocations[1], 'custom9')).toBe('A');
    });

    describe('a submitted report', () => {
      const custom = [{ id: 'custom9', value: 'PRJ-S' }];

      it('refuses a PATCH of its header', () => {
        expect(refusal(store.patchV4(r2, { customData: custom, reportSource: 'OTHER' }, COMPANY))).toMatchObject({
          status: 400,
          message: expect.stringMatching(/SBXR2 is submitted.*header/),
        });
      });

      it('refuses a PATCH of its expense on the user-context path, naming the submitted-report route', () => {
        expect(refusal(store.patchV4({ ...r2, expenseId: 'SBXX3' }, expenseBody(custom), COMPANY))).toMatchObject({
          status: 400,
          message: expect.stringContaining('PATCH /expensereports/v4/reports/SBXR2/expenses/SBXX3'),
        });
      });

      it('refuses a PATCH of its allocation', () => {
        const body = { allocation: { customData: custom }, expenseIds: ['SBXX3'] };
        expect(refusal(store.patchV4({ ...r2, allocationId: 'SBXA3' }, body, COMPANY))).toMatchObject({ status: 400, message: expect.stringContaining('submitted') });
      });

      it('lets the submitted-report route change its expense, and an unsubmitted report’s too', () => {
        expect(store.patchExpenseOfReport('SBXR2', 'SBXX3', expenseBody(custom, { businessPurpose: 'Fair dinner' }), SAM).ok).toBe(true);
        expect(store.patchExpenseOfReport('SBXR1', 'SBXX2', expenseBody(custom), SAM).ok).toBe(true);
        const [unsubmitted, submitted] = store.state().reports;
        expect(customValue(submitted.expenses[0], 'custom9')).toBe('PRJ-S');
        expect(submitted.expenses[0].businessPurpose).toBe('Fair dinner');
        expect(customValue(unsubmitted.expenses[1], 'custom9')).toBe('PRJ-S');
      });

      it('the submitted-report route takes UpdateReportExpenseCompact only: business purpose and custom fields', () => {
        const body = expenseBody(custom, { transactionAmount: { value: 1, currencyCode: 'EUR' } });
        expect(refusal(store.patchExpenseOfReport('SBXR2', 'SBXX3', body, COMPANY))).toMatchObject({
          status: 400,
          validation: [expect.objectContaining({ message: expect.stringContaining('transactionAmount'), source: 'v4.UpdateReportExpenseCompact' })],
        });
        expect(store.patchExpenseOfReport('SBXR2', 'SBXX9', expenseBody(custom), COMPANY)).toMatchObject({ ok: false, status: 404 });
        expect(store.patchExpenseOfReport('SBXR9', 'SBXX3', expenseBody(custom), COMPANY)).toMatchObject({ ok: false, status: 404 });
        expect(store.patchExpenseOfReport('SBXR2', 'SBXX1', expenseBody(custom), COMPANY)).toMatchObject({ ok: false, status: 404 });
      });
    });
  });

  describe('who may read and write', () => {
    it("lets the company token and the owner's user token in, and no other user's", () => {
      expect(store.readV4({ ...r1, expenseId: 'SBXX1' }, COMPANY).ok).toBe(true);
      expect(store.readV4({ ...r1, expenseId: 'SBXX1' }, SAM).ok).toBe(true);
      expect(store.readV4({ ...r1, userId: SANDBOX_USER.uuid.toUpperCase() }, SAM).ok).toBe(true);
      expect(store.readV4(r1, OTHER)).toMatchObject({ ok: false, status: 403 });
      expect(store.readV4({ ...r1, userId: OTHER.slice(5) }, OTHER)).toMatchObject({ ok: false, status: 403 });
      expect(store.patchV4({ ...r1, expenseId: 'SBXX1' }, expenseBody([]), OTHER)).toMatchObject({ ok: false, status: 403 });
      expect(store.patchExpenseOfReport('SBXR2', 'SBXX3', expenseBody([]), OTHER)).toMatchObject({ ok: false, status: 403 });
    });

    it('answers 404 for unknown ids, 403 for a report of another user, 400 for an unknown context', () => {
      expect(store.readV4({ ...r1, expenseId: 'nope' }, COMPANY)).toMatchObject({ ok: false, status: 404 });
      expect(store.readV4({ ...r1, expenseId: 'SBXX3' }, COMPANY)).toMatchObject({ ok: false, status: 404 });
      expect(store.readV4({ ...r1, allocationId: 'nope' }, COMPANY)).toMatchObject({ ok: false, status: 404 });
      expect(store.readV4({ ...r1, reportId: 'nope' }, COMPANY)).toMatchObject({ ok: false, status: 404 });
      expect(store.readV4({ ...r1, userId: 'someone-else' }, COMPANY)).toMatchObject({ ok: false, status: 403 });
      expect(store.readV4({ ...r1, context: 'MANAGER' }, COMPANY)).toMatchObject({ ok: false, status: 400 });
      expect(store.readV4({ ...r1, context: 'PROXY', expenseId: 'SBXX2' }, COMPANY)).toMatchObject({ ok: true });
    });
  });

  it('locates a launch item in whichever report holds it', () => {
    expect(store.locate('HEADER', 'SBXR2')).toMatchObject({ reportId: 'SBXR2', ownerId: SANDBOX_USER.uuid, submitted: true });
    expect(store.locate('ENTRY', 'SBXX3')).toMatchObject({ reportId: 'SBXR2', expenseId: 'SBXX3' });
    expect(store.locate('ALLOCATION', 'SBXA2')).toMatchObject({ reportId: 'SBXR1', allocationId: 'SBXA2', expenseIds: 'SBXX1', submitted: false });
    expect(store.locate('ENTRY', 'SBXA1')).toBeUndefined();
  });

  it('keeps the last 200 requests with their principal, newest first', () => {
    for (let i = 0; i < 205; i++) store.record({ method: 'GET', path: `/p/${i}`, correlationId: null, status: 200, principal: i % 2 ? SAM : COMPANY });
    const recent = store.recentRequests();
    expect(recent).toHaveLength(200);
    expect(recent[0]).toMatchObject({ path: '/p/204', principal: 'company' });
    expect(recent[1]).toMatchObject({ path: '/p/203', principal: `user:${SANDBOX_USER.uuid}` });
    expect(recent[199].path).toBe('/p/5');
    store.record({ method: 'POST', path: '/sandbox/concur/oauth2/v0/token', correlationId: null, status: 200 });
    expect(store.recentRequests(1)[0].principal).toBeNull();
  });

  it('reset brings back the seed data and zeroes the counters', () => {
    store.updateEntry('SBXE1$a7Kq', { Custom1: 'PRJ' }, COMPANY);
    store.patchExpenseOfReport('SBXR2', 'SBXX3', expenseBody([{ id: 'custom9', value: 'X' }]), COMPANY);
    store.countTokenRequest();
    store.record({ method: 'GET', path: '/x', correlationId: 'c', status: 200 });
    store.reset();
    expect(store.getEntry('SBXE1$a7Kq')?.Custom1?.Value).toBeNull();
    expect(customValue(store.state().reports[1].expenses[0], 'custom9')).toBeNull();
    expect(store.tokenRequests).toBe(0);
    expect(store.recentRequests()).toEqual([]);
  });
});
