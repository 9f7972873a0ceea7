import type { ItemLevel } from '../concur/concur.types.js';
import type { SandboxLaunch } from './sandbox.launch.js';
import {
  SANDBOX_USER,
  isSubmitted,
  type CustomDatum,
  type RecordedRequest,
  type SandboxReportState,
  type SandboxState,
} from './sandbox.store.js';

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

/** One expense report of the page: its header card, expenses and allocations. */
export interface ReportView {
  id: string;
  title: string;
  /** The approval status in the user's language, as Concur shows it. */
  status: string;
  submitted: boolean;
  header: LaunchFieldRow;
  expenses: LaunchFieldRow[];
  allocations: Array<LaunchFieldRow & { expenseTitle: string; percentage: number }>;
}

export interface SandboxPageView {
  title: string;
  userName: string;
  userLogin: string;
  companyDomain: string | null;
  tenantMissing: boolean;
  reports: ReportView[];
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

function customValue(data: CustomDatum[], field: string | undefined): string | null {
  return field ? (data.find((d) => d.id === field)?.value ?? null) : null;
}

type RowBase = Omit<LaunchFieldRow, 'title' | 'date' | 'amount' | 'value'>;

function row(version: 1 | 4, level: ItemLevel, id: string, field: string | undefined, href: string): RowBase {
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
export function buildSandboxPage(
  state: SandboxState,
  launch: SandboxLaunch,
  user: SandboxUserChoice = { lang: 'en', mobile: false },
): SandboxPageView {
  const device = `${user.lang === 'en' ? '' : `&lang=${encodeURIComponent(user.lang)}`}${user.mobile ? '&mobile=true' : ''}`;
  const v4Href = (level: ItemLevel, id: string) => `/sandbox/launch?version=4&level=${level}&id=${encodeURIComponent(id)}${device}`;
  const fields = { HEADER: launch.v4Field('HEADER'), ENTRY: launch.v4Field('ENTRY'), ALLOCATION: launch.v4Field('ALLOCATION') };
  const v1Field = launch.v1Field();
  const tenant = launch.findTenant();

  const reportView = ({ report, expenses, allocations }: SandboxReportState): ReportView => ({
    id: report.reportId,
    title: report.name,
    status: report.approvalStatus,
    submitted: isSubmitted(report),
    header: {
      ...row(4, 'HEADER', report.reportId, fields.HEADER, v4Href('HEADER', report.reportId)),
      title: report.name,
      date: report.reportDate,
      amount: money(report.claimedAmount.value, report.claimedAmount.currencyCode),
      value: customValue(report.customData, fields.HEADER),
    },
    expenses: expenses.map((e) => ({
      ...row(4, 'ENTRY', e.expenseId, fields.ENTRY, v4Href('ENTRY', e.expenseId)),
      title: e.expenseType.name,
      date: e.transactionDate,
      amount: money(e.transactionAmount.value, e.transactionAmount.currencyCode),
      value: customValue(e.customData, fields.ENTRY),
    })),
    allocations: allocations.map((a) => ({
      ...row(4, 'ALLOCATION', a.allocationId, fields.ALLOCATION, v4Href('ALLOCATION', a.allocationId)),
      title: `Allocation ${a.allocationId}`,
      expenseTitle: expenses.find((e) => e.expenseId === a.expenseId)?.expenseType.name ?? a.expenseId,
      percentage: a.percentage,
      date: '',
      amount: money(a.allocationAmount.value, a.allocationAmount.currencyCode),
      value: customValue(a.customData, fields.ALLOCATION),
    })),
  });

  return {
    title: state.report.name,
    userName: SANDBOX_USER.name,
    userLogin: SANDBOX_USER.login,
    companyDomain: tenant?.companyDomains[0] ?? null,
    tenantMissing: !tenant,
    reports: state.reports.map(reportView),
    entries: state.entries.map((e) => ({
      ...row(1, 'ENTRY', e.ID, v1Field, `/sandbox/launch?version=1&entry=${encodeURIComponent(e.ID)}`),
      title: e.ExpenseTypeName,
      date: e.TransactionDate.slice(0, 10),
      amount: money(e.TransactionAmount, e.TransactionCurrencyCode),
      value: v1Field ? ((e[v1Field as keyof typeof e] as { Value: string | null } | undefined)?.Value ?? null) : null,
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
