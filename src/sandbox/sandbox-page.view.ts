import type { ItemLevel } from '../concur/concur.types.js';
import type { SandboxLaunch } from './sandbox.launch.js';
import { SANDBOX_USER, type RecordedRequest, type SandboxState, type V4CustomDatum } from './sandbox.store.js';

/** One form field of the sandbox page: an item's Launch URL field with its current value. */
export interface LaunchFieldRow {
  version: 1 | 4;
  level: ItemLevel;
  id: string;
  title: string;
  date: string;
  amount: string;
  /** e.g. Custom1 or custom9; null when the tenant allows no field here. */
  field: string | null;
  value: string | null;
  href: string | null;
  valueTestId: string;
  launchTestId: string;
}

export interface SandboxPageView {
  title: string;
  userName: string;
  userLogin: string;
  companyDomain: string | null;
  tenantMissing: boolean;
  header: LaunchFieldRow;
  expenses: LaunchFieldRow[];
  allocations: Array<LaunchFieldRow & { expenseTitle: string; percentage: number }>;
  entries: LaunchFieldRow[];
  requests: Array<RecordedRequest & { statusText: string; statusClass: 'ok' | 'failed' }>;
  tokenRequests: number;
  /** The demo user's language and device, sent with v4 launches (language_code, is_mobile). */
  languages: Array<{ code: string; name: string; selected: boolean }>;
  mobile: boolean;
}

/** How the demo user's v4 launches look: `?lang=de&mobile=true` on /sandbox. */
export interface SandboxUserChoice {
  lang: string;
  mobile: boolean;
}

/** The popup's languages, each in its own name, and two regional variants to show the fallback. */
const LANGUAGES = [
  ['en', 'English'],
  ['en-GB', 'English (UK)'],
  ['de', 'Deutsch'],
  ['de-CH', 'Deutsch (Schweiz)'],
  ['fr', 'Français'],
  ['es', 'Español'],
  ['ja', '日本語'],
] as const;

const RECENT_REQUESTS = 6;

function money(value: number, currency: string): string {
  return `${value.toFixed(2)} ${currency}`;
}

function customValue(data: V4CustomDatum[], field: string | undefined): string | null {
  return field ? (data.find((d) => d.id === field)?.value ?? null) : null;
}

function row(version: 1 | 4, level: ItemLevel, id: string, field: string | undefined, href: string): Omit<LaunchFieldRow, 'title' | 'date' | 'amount' | 'value'> {
  return {
    version,
    level,
    id,
    field: field ?? null,
    href: field ? href : null,
    valueTestId: `value-${level}-${id}`,
    launchTestId: `launch-${version}-${level}-${id}`,
  };
}

/** The page's view model: every string here is rendered with hbs's escaping {{ }}. */
export function buildSandboxPage(state: SandboxState, launch: SandboxLaunch, user: SandboxUserChoice = { lang: 'en', mobile: false }): SandboxPageView {
  const device = `${user.lang === 'en' ? '' : `&lang=${encodeURIComponent(user.lang)}`}${user.mobile ? '&mobile=true' : ''}`;
  const v4Href = (level: ItemLevel, id: string) => `/sandbox/launch?version=4&level=${level}&id=${encodeURIComponent(id)}${device}`;
  const headerField = launch.v4Field('HEADER');
  const entryField = launch.v4Field('ENTRY');
  const allocationField = launch.v4Field('ALLOCATION');
  const v1Field = launch.v1Field();
  const { report } = state;
  const tenant = launch.findTenant();
  return {
    title: report.name,
    userName: SANDBOX_USER.name,
    userLogin: SANDBOX_USER.login,
    companyDomain: tenant?.companyDomains[0] ?? null,
    tenantMissing: !tenant,
    header: {
      ...row(4, 'HEADER', report.reportId, headerField, v4Href('HEADER', report.reportId)),
      title: report.name,
      date: report.reportDate,
      amount: money(report.totalClaimedAmount.value, report.totalClaimedAmount.currencyCode),
      value: customValue(report.customData, headerField),
    },
    expenses: state.expenses.map((e) => ({
      ...row(4, 'ENTRY', e.expenseId, entryField, v4Href('ENTRY', e.expenseId)),
      title: e.expenseType.name,
      date: e.transactionDate,
      amount: money(e.transactionAmount.value, e.transactionAmount.currencyCode),
      value: customValue(e.customData, entryField),
    })),
    allocations: state.allocations.map((a) => ({
      ...row(4, 'ALLOCATION', a.allocationId, allocationField, v4Href('ALLOCATION', a.allocationId)),
      title: `Allocation ${a.allocationId}`,
      expenseTitle: state.expenses.find((e) => e.expenseId === a.expenseId)?.expenseType.name ?? a.expenseId,
      percentage: a.percentage,
      date: '',
      amount: money(a.allocationAmount.value, a.allocationAmount.currencyCode),
      value: customValue(a.customData, allocationField),
    })),
    entries: state.entries.map((e) => ({
      ...row(1, 'ENTRY', e.ID, v1Field, `/sandbox/launch?version=1&entry=${encodeURIComponent(e.ID)}`),
      title: e.ExpenseTypeName,
      date: e.TransactionDate.slice(0, 10),
      amount: money(e.TransactionAmount, e.TransactionCurrencyCode),
      value: v1Field ? (e[v1Field as keyof typeof e] as { Value: string | null } | undefined)?.Value ?? null : null,
    })),
    requests: state.requests.slice(0, RECENT_REQUESTS).map((r) => ({
      ...r,
      statusText: r.status === 0 ? 'reset' : String(r.status),
      statusClass: r.status > 0 && r.status < 400 ? 'ok' : 'failed',
    })),
    tokenRequests: state.tokenRequests,
    languages: LANGUAGES.map(([code, name]) => ({ code, name, selected: code === user.lang })),
    mobile: user.mobile,
  };
}
