import { Injectable, Logger } from '@nestjs/common';
import { LaunchSessionService } from '../auth/launch-session.service.js';
import { auditSubjectOf, type LaunchSession } from '../auth/launch.types.js';
import { CLOSE_AND_RELAUNCH, PageException } from '../common/page.exception.js';
import { type TenantConfig, Tenants } from '../config/index.js';
import { ConcurClient } from '../concur/concur.client.js';
import { ConcurError, type ItemView, ItemMismatchError } from '../concur/concur.types.js';
import { checkAllocationExpense } from '../concur/concur.client.js';
import { RejectedLaunchAudit } from '../audit/rejected-launch.audit.js';
import type { RequestMeta } from '../common/request-meta.js';
import { LaunchTokensService } from './launch-tokens.service.js';
import { LookupService } from '../lookup/lookup.service.js';
import { concurErrorPage, itemMismatchPage } from './concur-error-page.js';
import { cached, msg, type PageLocale } from '../i18n/i18n.js';

/** How long a read of the item serves further page views (searching, paging) of the same window. */
const ITEM_FRESH_MS = 30_000;
const PAGE_SIZE = 20;
const LEVEL_LABELS = { HEADER: msg('Report header'), ENTRY: msg('Expense'), ALLOCATION: msg('Allocation') } as const;

export interface SessionPageQuery {
  q?: unknown;
  page?: unknown;
}

/** Builds what the session page shows: the item's context from Concur and a page of lookup results. */
@Injectable()
export class SessionPageService {
  private readonly logger = new Logger(SessionPageService.name);

  constructor(
    private readonly tenants: Tenants,
    private readonly concur: ConcurClient,
    private readonly lookup: LookupService,
    private readonly sessions: LaunchSessionService,
    private readonly launchTokens: LaunchTokensService,
    private readonly rejections: RejectedLaunchAudit,
  ) {}

  /**
   * `locale`: the page's (pageLocale): its language for the words, its format for amounts and dates.
   * `client`: where the request came from, which a rejection's audit event records and is counted by.
   */
  async build(
    session: LaunchSession,
    query: SessionPageQuery,
    correlationId: string,
    locale: PageLocale,
    client: Pick<RequestMeta, 'clientIp' | 'userAgent'> = { clientIp: null, userAgent: null },
  ) {
    const tenant = this.tenants.findById(session.tenantId);
    if (!tenant) throw new PageException(410, { title: msg('This window has expired'), message: CLOSE_AND_RELAUNCH });
    const view = await this.itemView(tenant, session, correlationId);
    await this.checkItem(session, view, correlationId, client);
    const q = typeof query.q === 'string' ? query.q.slice(0, 100) : '';
    const requestedPage = typeof query.page === 'string' && /^\d{1,6}$/.test(query.page) ? Math.max(1, Number(query.page)) : 1;
    const results = await this.lookup.search(tenant, q, requestedPage, PAGE_SIZE);
    const pages = Math.max(1, Math.ceil(results.total / PAGE_SIZE));
    const self = `/launch/s/${session.id}`;
    const pageUrl = (page: number) => `${self}?${new URLSearchParams({ q, page: String(page) }).toString()}`;
    return {
      pageTitle: msg('Choose a value'),
      // Search as you type; the page works the same without it.
      script: 'search.js',
      // Amounts and dates carry their own lang when their locale's language is not the page's (en-GB numbers stay en).
      formatLang: formatLanguageOf(locale),
      isMobile: session.isMobile,
      selectUrl: `${self}/select`,
      searchUrl: self,
      csrf: session.csrfToken,
      fieldName: session.field,
      item: {
        levelLabel: LEVEL_LABELS[view.level],
        title: view.level === 'ALLOCATION' ? formatPercentage(view.percentage ?? null, locale.format) : view.title,
        amount: formatAmount(view.amount, view.currency, locale.format),
        date: formatDate(view.date, locale.format),
        fieldValue: view.fieldValue,
      },
      query: q,
      total: results.total,
      results: results.items.map((item) => ({ ...item, current: item.code === view.fieldValue })),
      page: requestedPage,
      pages,
      prevUrl: requestedPage > 1 ? pageUrl(requestedPage - 1) : null,
      nextUrl: requestedPage < pages ? pageUrl(requestedPage + 1) : null,
    };
  }

  /**
   * An allocation whose expense (as Concur says) is not among the launch's unsigned expense_ids:
   * the window gets a 400 page and the audit a launch.rejected event, and nothing is written.
   */
  private async checkItem(session: LaunchSession, view: ItemView, correlationId: string, client: Pick<RequestMeta, 'clientIp' | 'userAgent'>): Promise<void> {
    if (session.item.level !== 'ALLOCATION' || !view.expenseId) return;
    try {
      checkAllocationExpense(view.expenseId, session.expenseIds);
    } catch (error) {
      if (!(error instanceof ItemMismatchError)) throw error;
      this.logger.warn(`launch rejected [${correlationId}]: ${error.message}`);
      await this.rejections
        .record({
          type: 'launch.rejected',
          outcome: 'failure',
          reason: error.message,
          ...auditSubjectOf(session),
          correlationId,
          clientIp: client.clientIp,
          userAgent: client.userAgent,
        })
        .catch((auditError: unknown) => {
          this.logger.error(`launch.rejected could not be audited [${correlationId}]: ${(auditError as Error).message}`);
        });
      throw itemMismatchPage(error.message);
    }
  }

  private async itemView(tenant: TenantConfig, session: LaunchSession, correlationId: string): Promise<ItemView> {
    if (session.itemView && Date.now() - session.itemView.readAt < ITEM_FRESH_MS) return session.itemView;
    try {
      const view = await this.concur.readItem(tenant, session.item, session.field, correlationId, this.launchTokens.tokensOf(session));
      session.itemView = { ...view, readAt: Date.now() };
      // The store keeps a Save's `done` apart from the session, so this save cannot erase it;
      // reading back tells the page about a Save that finished while Concur answered.
      await this.sessions.save(session);
      const current = await this.sessions.current(session);
      if (current?.done) session.done = current.done;
      return view;
    } catch (error) {
      if (!(error instanceof ConcurError)) throw error;
      throw concurErrorPage(error, 'reading', { method: 'GET', action: `/launch/s/${session.id}` });
    }
  }
}

function formatLanguageOf(locale: PageLocale): string | null {
  const language = locale.format.split('-')[0].toLowerCase();
  return language === locale.lang ? null : language;
}

export function formatPercentage(percentage: number | null, locale: string): string | null {
  if (percentage === null) return null;
  return cached(`percent:${locale}`, () => new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 2 })).format(percentage / 100);
}

export function formatAmount(amount: number | null, currency: string | null, locale: string): string | null {
  if (amount === null) return null;
  try {
    return cached(`amount:${locale}:${currency ?? ''}`, () => new Intl.NumberFormat(locale, currency ? { style: 'currency', currency } : {})).format(amount);
  } catch {
    return `${amount}${currency ? ` ${currency}` : ''}`;
  }
}

export function formatDate(date: string | null, locale: string): string | null {
  if (!date || !/^\d{4}-\d{2}-\d{2}$/.test(date)) return date;
  try {
    return cached(`date:${locale}`, () => new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' })).format(new Date(`${date}T00:00:00Z`));
  } catch {
    return date;
  }
}
