import { jest } from '@jest/globals';
import { LaunchSessionService } from '../auth/launch-session.service.js';
import type { LaunchSession } from '../auth/launch.types.js';
import { MemorySessionStore } from '../auth/session.store.js';
import { type AppConfig, loadConfig, Tenants } from '../config/index.js';
import type { ConcurClient } from '../concur/concur.client.js';
import type { LookupService } from '../lookup/lookup.service.js';
import { DEFAULT_LOCALE } from '../i18n/i18n.js';
import { formatAmount, formatDate, formatPercentage, SessionPageService } from './session-page.service.js';
import { testSession } from './session.fixture.js';
import type { LaunchTokensService } from './launch-tokens.service.js';
import { Logger } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import { AuditService } from '../audit/audit.service.js';
import { RejectedLaunchAudit } from '../audit/rejected-launch.audit.js';
import { createSqliteKysely } from '../database/database.factory.js';
import { runMigrations } from '../database/migrations.js';
import { Metrics } from '../metrics/metrics.service.js';
import { PageException } from '../common/page.exception.js';

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

describe('allocation shares', () => {
  it('formats a percentage for the locale', () => {
    expect(formatPercentage(50, 'en')).toBe('50%');
    expect(formatPercentage(33.33, 'de')).toMatch(/^33,33\s%$/);
    expect(formatPercentage(null, 'en')).toBeNull();
  });
});

describe(SessionPageService.name, () => {
  const session = (): LaunchSession => testSession({ languageCode: 'de' });

  function build(
    store: MemorySessionStore,
    onRead: () => Promise<void> | void = () => undefined,
    rejections = { record: async () => undefined } as unknown as RejectedLaunchAudit,
    itemView: Record<string, unknown> = {},
  ) {
    const view = { level: 'ENTRY' as const, title: 'Hotel', amount: 240, currency: 'EUR', date: '2026-11-02', fieldValue: 'PRJ-1002', ...itemView };
    const concur = { readItem: async () => (await onRead(), view) } as unknown as ConcurClient;
    const lookup = {
      search: async () => ({ items: [{ code: 'PRJ-1002', label: 'B' }, { code: 'PRJ-1003', label: 'C' }], total: 45, offset: 0, limit: 20, query: '' }),
    } as unknown as LookupService;
    const sessions = new LaunchSessionService(store, loadConfig({}).config as AppConfig);
    const launchTokens = { tokensOf: () => undefined } as unknown as LaunchTokensService;
    return new SessionPageService(new Tenants(loadConfig({}).config), concur, lookup, sessions, launchTokens, rejections);
  }

  it('shows the item in the launch language, marks the current value and pages the results', async () => {
    const store = new MemorySessionStore();
    const s = session();
    await store.set(s);
    const model = await build(store).build(s, { q: 'prj', page: '2' }, 'corr', { lang: 'de', format: 'de' });
    expect(model.item).toMatchObject({ levelLabel: 'Expense', title: 'Hotel', date: '02.11.2026', fieldValue: 'PRJ-1002' });
    expect(model.item.amount).toMatch(/240,00\s€/);
    expect(model.formatLang).toBeNull();
    expect(model.pageTitle).toBe('Choose a value');
    expect(model.results).toEqual([
      { code: 'PRJ-1002', label: 'B', current: true },
      { code: 'PRJ-1003', label: 'C', current: false },
    ]);
    expect(model).toMatchObject({ page: 2, pages: 3, prevUrl: `/launch/s/${'S'.repeat(22)}?q=prj&page=1`, nextUrl: `/launch/s/${'S'.repeat(22)}?q=prj&page=3` });
    expect((await store.get('S'.repeat(22)))?.itemView?.fieldValue).toBe('PRJ-1002');
  });

  it('marks amounts and dates with their own language when the page is English for an unsupported language', async () => {
    const store = new MemorySessionStore();
    const s = testSession({ languageCode: 'it-IT' });
    await store.set(s);
    const model = await build(store).build(s, {}, 'corr', { lang: 'en', format: 'it-IT' });
    expect(model.formatLang).toBe('it');
    expect(model.item.date).toBe('2 nov 2026');
  });

  it('does not undo a Save that finished while Concur was being read, and learns of it', async () => {
    const store = new MemorySessionStore();
    const s = session();
    await store.set(s);
    // Another request (or replica) claims and completes the update while this page reads the item.
    const service = build(store, async () => {
      const token = (await store.claimUpdate(s.id, s.expiresAt))!;
      await store.completeUpdate(s.id, token, { value: 'PRJ-1003', at: 1 });
    });
    await service.build(s, {}, 'corr', DEFAULT_LOCALE);
    const stored = await store.get(s.id);
    expect(stored?.done?.value).toBe('PRJ-1003');
    expect(stored?.itemView?.title).toBe('Hotel');
    expect(s.done?.value).toBe('PRJ-1003');
  });

  it('a Save completed just before the page-view save is not undone by it', async () => {
    const store = new MemorySessionStore();
    const s = session();
    await store.set(s);
    const service = build(store);
    const set = store.set.bind(store);
    jest.spyOn(store, 'set').mockImplementation(async (copy: LaunchSession) => {
      const token = (await store.claimUpdate(s.id, s.expiresAt))!;
      await store.completeUpdate(s.id, token, { value: 'PRJ-1003', at: 1 });
      await set(copy);
    });
    await service.build(s, {}, 'corr', DEFAULT_LOCALE);
    expect((await store.get(s.id))?.done?.value).toBe('PRJ-1003');
    expect(s.done?.value).toBe('PRJ-1003');
  });

  it("audits an allocation of another expense as a rejected launch from the request's address, at the bounded rate", async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const db = createSqliteKysely(':memory:');
    try {
      await runMigrations(db);
      const config = loadConfig({}).config as AppConfig;
      config.audit.rejectedLaunches.limit = 1;
      const audit = new AuditService(new AuditRepository(db), new Metrics(), config);
      const rejections = new RejectedLaunchAudit(audit, config);
      const store = new MemorySessionStore();
      const s = testSession({ item: { api: 'v4', level: 'ALLOCATION', url: 'https://x/a', origin: 'https://x' }, expenseIds: ['E1'] });
      await store.set(s);
      const service = build(store, undefined, rejections, { level: 'ALLOCATION', expenseId: 'E2', percentage: 50 });
      const client = { clientIp: '192.0.2.44', userAgent: 'ua' };
      for (const correlation of ['c1', 'c2']) {
        await expect(service.build(s, {}, correlation, DEFAULT_LOCALE, client)).rejects.toBeInstanceOf(PageException);
      }
      const { events } = await audit.search({ type: 'launch.rejected' }, 10);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ clientIp: '192.0.2.44', userAgent: 'ua', correlationId: 'c1', launchId: s.id, reason: expect.stringContaining("allocation's expense E2") });
      await rejections.beforeApplicationShutdown();
      expect((await audit.search({ type: 'launch.rejected' }, 10)).events[0].reason).toMatch(/^1 more rejected launch from 192\.0\.2\.44 /);
    } finally {
      jest.restoreAllMocks();
      await db.destroy();
    }
  });
});
