import type { LaunchSessionService } from '../auth/launch-session.service.js';
import type { LaunchSession } from '../auth/launch.types.js';
import { loadConfig, Tenants } from '../config/index.js';
import type { ConcurClient } from '../concur/concur.client.js';
import type { LookupService } from '../lookup/lookup.service.js';
import { formatAmount, formatDate, SessionPageService } from './session-page.service.js';
import { testSession } from './session.fixture.js';

describe('session page formatting', () => {
  it('formats amounts as currency for the locale', () => {
    expect(formatAmount(1234.5, 'EUR', 'en')).toBe('€1,234.50');
    expect(formatAmount(1234.5, 'EUR', 'de')).toMatch(/1\.234,50\s€/);
    expect(formatAmount(1234.5, null, 'en')).toBe('1,234.5');
    expect(formatAmount(null, 'EUR', 'en')).toBeNull();
  });

  it('keeps an unknown currency readable instead of failing', () => {
    expect(formatAmount(5, 'NOT-A-CURRENCY', 'en')).toBe('5 NOT-A-CURRENCY');
  });

  it('formats ISO dates for the locale in UTC and leaves anything else as it is', () => {
    expect(formatDate('2026-11-02', 'en')).toBe('Nov 2, 2026');
    expect(formatDate('2026-11-02', 'de')).toBe('02.11.2026');
    expect(formatDate('yesterday', 'en')).toBe('yesterday');
    expect(formatDate(null, 'en')).toBeNull();
  });
});

describe(SessionPageService.name, () => {
  const session = (): LaunchSession => testSession({ languageCode: 'de' });

  function build(stored: Map<string, LaunchSession>, onRead: () => void = () => undefined) {
    const view = { level: 'ENTRY' as const, title: 'Hotel', amount: 240, currency: 'EUR', date: '2026-11-02', fieldValue: 'PRJ-1002' };
    const concur = { readItem: async () => (onRead(), view) } as unknown as ConcurClient;
    const lookup = {
      search: async () => ({ items: [{ code: 'PRJ-1002', label: 'B' }, { code: 'PRJ-1003', label: 'C' }], total: 45, offset: 0, limit: 20, query: '' }),
    } as unknown as LookupService;
    const sessions = {
      save: async (s: LaunchSession) => void stored.set(s.id, structuredClone(s)),
      current: async (s: LaunchSession) => stored.get(s.id),
    } as unknown as LaunchSessionService;
    return new SessionPageService(new Tenants(loadConfig({}).config), concur, lookup, sessions);
  }

  it('shows the item in the launch language, marks the current value and pages the results', async () => {
    const stored = new Map<string, LaunchSession>();
    const model = await build(stored).build(session(), { q: 'prj', page: '2' }, 'corr');
    expect(model.item).toMatchObject({ levelLabel: 'Expense', title: 'Hotel', date: '02.11.2026', fieldValue: 'PRJ-1002' });
    expect(model.item.amount).toMatch(/240,00\s€/);
    expect(model.results).toEqual([
      { code: 'PRJ-1002', label: 'B', current: true },
      { code: 'PRJ-1003', label: 'C', current: false },
    ]);
    expect(model).toMatchObject({ page: 2, pages: 3, prevUrl: `/launch/s/${'S'.repeat(22)}?q=prj&page=1`, nextUrl: `/launch/s/${'S'.repeat(22)}?q=prj&page=3` });
    expect(stored.get('S'.repeat(22))?.itemView?.fieldValue).toBe('PRJ-1002');
  });

  it('does not undo a Save that finished while Concur was being read', async () => {
    const stored = new Map<string, LaunchSession>();
    const s = session();
    const service = build(stored, () => stored.set(s.id, { ...structuredClone(s), done: { value: 'PRJ-1003', at: 1 } }));
    await service.build(s, {}, 'corr');
    expect(stored.get(s.id)?.done?.value).toBe('PRJ-1003');
    expect(s.done?.value).toBe('PRJ-1003');
  });
});
