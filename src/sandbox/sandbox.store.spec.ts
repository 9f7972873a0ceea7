import { SANDBOX_USER, SandboxStore, type V4Path } from './sandbox.store.js';

const reportPath: V4Path = { userId: SANDBOX_USER.uuid, context: 'TRAVELER', reportId: 'SBXR1' };
const customValue = (item: { customData: Array<{ id: string; value: string | null }> }, id: string) =>
  item.customData.find((d) => d.id === id)?.value;

describe(SandboxStore.name, () => {
  let store: SandboxStore;

  beforeEach(() => {
    store = new SandboxStore();
  });

  it('seeds two v3 entries with empty custom fields, one id carrying a "$"', () => {
    const entry = store.getEntry('SBXE1$a7Kq');
    expect(entry?.Custom1).toEqual({ Type: 'Text', Value: null, Code: null, ListItemID: null });
    expect(entry?.OrgUnit3?.Value).toBeNull();
    expect(entry?.Custom11).toBeUndefined();
    expect(store.getEntry('SBXE2$b8Lr')?.TransactionDate).toBe('2026-11-02T00:00:00'.replace('02T', '03T'));
  });

  it('PUT applies only the Value of CustomN/OrgUnitN fields', () => {
    const result = store.updateEntry('SBXE1$a7Kq', {
      Custom1: { Value: 'PRJ-1001', Code: 'ignored' },
      OrgUnit2: { Value: 'Sales' },
      ExpenseTypeName: 'Changed',
      TransactionAmount: 1,
    });
    expect(result.ok).toBe(true);
    const entry = store.getEntry('SBXE1$a7Kq');
    expect(entry?.Custom1).toEqual({ Type: 'Text', Value: 'PRJ-1001', Code: null, ListItemID: null });
    expect(entry?.OrgUnit2?.Value).toBe('Sales');
    expect(entry?.ExpenseTypeName).toBe('Hotel');
    expect(entry?.TransactionAmount).toBe(189);
  });

  it('PUT accepts 48 characters and refuses 49 without changing anything', () => {
    expect(store.updateEntry('SBXE1$a7Kq', { Custom1: { Value: 'x'.repeat(48) } }).ok).toBe(true);
    const refused = store.updateEntry('SBXE1$a7Kq', { Custom2: { Value: 'ok' }, Custom1: { Value: 'y'.repeat(49) } });
    expect(refused).toEqual({ ok: false, status: 400, message: expect.stringContaining('48') });
    expect(store.getEntry('SBXE1$a7Kq')?.Custom1?.Value).toBe('x'.repeat(48));
    expect(store.getEntry('SBXE1$a7Kq')?.Custom2?.Value).toBeNull();
  });

  it('PUT answers 404 for an unknown entry and 400 for a malformed body', () => {
    expect(store.updateEntry('nope', { Custom1: { Value: 'a' } })).toMatchObject({ ok: false, status: 404 });
    expect(store.updateEntry('SBXE1$a7Kq', [1])).toMatchObject({ ok: false, status: 400 });
    expect(store.updateEntry('SBXE1$a7Kq', { Custom1: 'bare' })).toMatchObject({ ok: false, status: 400 });
    expect(store.updateEntry('SBXE1$a7Kq', { Custom1: { Value: 7 } })).toMatchObject({ ok: false, status: 400 });
  });

  it('returns copies, so a caller cannot change the store', () => {
    const entry = store.getEntry('SBXE1$a7Kq');
    entry!.Custom1!.Value = 'mutated';
    expect(store.getEntry('SBXE1$a7Kq')?.Custom1?.Value).toBeNull();
  });

  it('PATCH merges customData by id on the header, an expense and an allocation', () => {
    const patch = (path: V4Path, value: string) => store.patchV4(path, { customData: [{ id: 'custom9', value, isValid: true }] });
    expect(patch(reportPath, 'PRJ-H').ok).toBe(true);
    expect(patch({ ...reportPath, expenseId: 'SBXX1' }, 'PRJ-E').ok).toBe(true);
    expect(patch({ ...reportPath, allocationId: 'SBXA1' }, 'PRJ-A').ok).toBe(true);
    const state = store.state();
    expect(customValue(state.report, 'custom9')).toBe('PRJ-H');
    expect(customValue(state.expenses[0], 'custom9')).toBe('PRJ-E');
    expect(customValue(state.expenses[1], 'custom9')).toBeNull();
    expect(customValue(state.allocations[0], 'custom9')).toBe('PRJ-A');
    expect(state.report.customData.filter((d) => d.id === 'custom9')).toHaveLength(1);
    expect(state.updates).toBe(3);
  });

  it('PATCH refuses a value over 48 characters and bad ids without changing anything', () => {
    const tooLong = store.patchV4(reportPath, {
      customData: [
        { id: 'custom1', value: 'fine' },
        { id: 'custom9', value: 'z'.repeat(49) },
      ],
    });
    expect(tooLong).toMatchObject({ ok: false, status: 400 });
    expect(store.patchV4(reportPath, { customData: [{ id: 'custom41', value: 'a' }] })).toMatchObject({ ok: false, status: 400 });
    expect(store.patchV4(reportPath, { customData: 'x' })).toMatchObject({ ok: false, status: 400 });
    expect(customValue(store.state().report, 'custom1')).toBeNull();
  });

  it('answers 404 for unknown ids or context and 403 for another user', () => {
    expect(store.getV4({ ...reportPath, expenseId: 'nope' })).toMatchObject({ ok: false, status: 404 });
    expect(store.getV4({ ...reportPath, allocationId: 'nope' })).toMatchObject({ ok: false, status: 404 });
    expect(store.getV4({ ...reportPath, reportId: 'nope' })).toMatchObject({ ok: false, status: 404 });
    expect(store.getV4({ ...reportPath, context: 'MANAGER' })).toMatchObject({ ok: false, status: 404 });
    expect(store.getV4({ ...reportPath, userId: 'someone-else' })).toMatchObject({ ok: false, status: 403 });
    expect(store.getV4({ ...reportPath, context: 'PROXY', expenseId: 'SBXX2' })).toMatchObject({ ok: true });
  });

  it('keeps the last 200 requests, newest first', () => {
    for (let i = 0; i < 205; i++) store.record({ method: 'GET', path: `/p/${i}`, correlationId: null, status: 200 });
    const recent = store.recentRequests();
    expect(recent).toHaveLength(200);
    expect(recent[0].path).toBe('/p/204');
    expect(recent[199].path).toBe('/p/5');
  });

  it('reset brings back the seed data and zeroes the counters', () => {
    store.updateEntry('SBXE1$a7Kq', { Custom1: { Value: 'PRJ' } });
    store.countTokenRequest();
    store.record({ method: 'GET', path: '/x', correlationId: 'c', status: 200 });
    store.reset();
    expect(store.getEntry('SBXE1$a7Kq')?.Custom1?.Value).toBeNull();
    expect(store.tokenRequests).toBe(0);
    expect(store.recentRequests()).toEqual([]);
  });
});
