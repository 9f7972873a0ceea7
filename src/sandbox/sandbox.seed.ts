import { createHash } from 'node:crypto';

/**
 * The sandbox's demo data, shaped as Concur's pages show it: every Required member of
 * ReportDetails (v4.reports.markdown), ReportExpenseDetail (v4.expenses.markdown),
 * ReportAllocationResponse (v4.allocations.markdown) and an EntryGet of Entries.swagger2.json.
 */

/** The one demo user who owns every sandbox report. */
export const SANDBOX_USER = {
  uuid: '5c1f0e2a-7b3d-4c8e-9f10-2a3b4c5d6e7f',
  login: 'sam.employee@sandbox.example.com',
  employeeId: 'E1001',
  name: 'Sam Employee',
} as const;

/** The company the sandbox tenant's own (company) tokens speak for: the `sub` of their id_token. */
export const SANDBOX_COMPANY = { uuid: '0d5b7c1e-3f2a-4b6c-8d9e-1a2b3c4d5e6f', name: 'Sandbox Company' } as const;

/** The unsubmitted report every launch test uses. */
export const SANDBOX_REPORT_ID = 'SBXR1';
/** A submitted report: only the submitted-report PATCH of an expense may change it. */
export const SANDBOX_SUBMITTED_REPORT_ID = 'SBXR2';

export interface Amount {
  value: number;
  currencyCode: string;
}

/** v4 CustomData; `value` null for a field nobody has filled. */
export interface CustomDatum {
  id: string;
  value: string | null;
  isValid: boolean;
}

/** The members of ReportDetails the sandbox answers: all the Required ones and a few more. */
export interface ReportDetails {
  reportId: string;
  name: string;
  businessPurpose: string | null;
  reportDate: string;
  creationDate: string;
  submitDate: string | null;
  approvalStatus: string;
  approvalStatusId: string;
  paymentStatus: string;
  paymentStatusId: string;
  concurAuditStatus: string;
  currency: string;
  currencyCode: string;
  country: string;
  countryCode: string;
  claimedAmount: Amount;
  reportTotal: Amount;
  approvedAmount: Amount;
  amountDueEmployee: Amount;
  amountCompanyPaid: Amount;
  amountDueCompany: Amount;
  amountDueCompanyCard: Amount;
  amountNotApproved: Amount;
  paymentConfirmedAmount: Amount;
  personalAmount: Amount;
  canRecall: boolean;
  canReopen: boolean;
  isReopened: boolean;
  isFinancialIntegrationEnabled: boolean;
  isPaperReceiptsReceived: boolean;
  isReceiptImageAvailable: boolean;
  isReceiptImageRequired: boolean;
  ledger: string;
  ledgerId: string;
  policy: string;
  policyId: string;
  reportFormId: string;
  allocationFormId: string;
  hierarchyNodeId: string;
  analyticsGroupId: string;
  reportType: string;
  reportVersion: number;
  submitterId: string | null;
  userId: string;
  customData: CustomDatum[];
}

export interface ReportExpenseDetail {
  expenseId: string;
  expenseType: { id: string; name: string; code: string; isDeleted: boolean };
  transactionDate: string;
  transactionAmount: Amount;
  postedAmount: Amount;
  claimedAmount: Amount;
  approvedAmount: Amount;
  exchangeRate: { value: number; operation: 'MULTIPLY' | 'DIVIDE' };
  businessPurpose: string | null;
  allocationState: 'FULLY_ALLOCATED' | 'NOT_ALLOCATED' | 'PARTIALLY_ALLOCATED';
  allocationSetId: string | null;
  paymentType: { id: string; name: string; code: string };
  receiptType: { id: 'N' | 'R' | 'T'; status: string };
  location: { id: string; name: string; city: string; countrySubDivisionCode: string; countryCode: string };
  attendeeCount: number;
  hasBlockingExceptions: boolean;
  hasExceptions: boolean;
  hasMissingReceiptDeclaration: boolean;
  isAutoCreated: boolean;
  isExcludedFromCashAdvanceByUser: boolean;
  isExpenseBillable: boolean;
  isExpenseRejected: boolean;
  isImageRequired: boolean;
  isPaperReceiptReceived: boolean;
  isPaperReceiptRequired: boolean;
  isPersonalExpense: boolean;
  taxRateLocation: 'HOME' | 'FOREIGN' | 'OUT_OF_PROVINCE';
  customData: CustomDatum[];
}

export interface ReportAllocation {
  allocationId: string;
  expenseId: string;
  percentage: number;
  allocationAmount: Amount;
  approvedAmount: Amount;
  claimedAmount: Amount;
  accountCode: string | null;
  overLimitAccountCode: string | null;
  isSystemAllocation: boolean;
  isPercentEdited: boolean;
  customData: CustomDatum[];
}

/** A v3 CustomField (Entries.swagger2.json#/definitions/CustomField). */
export interface V3CustomField {
  Type: string;
  Value: string | null;
  Code: string | null;
  ListItemID: string | null;
}

export type V3FieldName = `Custom${number}` | `OrgUnit${number}`;

/** An EntryGet (Entries.swagger2.json#/definitions/EntryGet): the members the sandbox answers. */
export type V3Entry = {
  ID: string;
  ReportID: string;
  ReportOwnerID: string;
  ExpenseTypeCode: string;
  ExpenseTypeName: string;
  PaymentTypeID: string;
  PaymentTypeName: string;
  TransactionAmount: number;
  TransactionCurrencyCode: string;
  TransactionDate: string;
  PostedAmount: number;
  ApprovedAmount: number;
  AllocationType: 'P' | 'F' | 'N';
  IsPersonal: boolean;
  IsBillable: boolean;
  IsImageRequired: boolean;
  HasExceptions: boolean;
  HasAttendees: boolean;
  HasComments: boolean;
  HasImage: boolean;
  HasItemizations: boolean;
  HasVAT: boolean;
  LocationCountry: string;
  LocationName: string;
  LastModified: string;
} & { [field in V3FieldName]?: V3CustomField };

/** One v4 report with its expenses and allocations, as the store keeps it. */
export interface SeedReport {
  report: ReportDetails;
  expenses: ReportExpenseDetail[];
  allocations: ReportAllocation[];
}

/** A stable 32-character id in Concur's style (upper-case hex), the same on every start. */
function concurId(label: string): string {
  return createHash('sha256').update(`sandbox:${label}`).digest('hex').slice(0, 32).toUpperCase();
}

const EUR = 'EUR';
const eur = (value: number): Amount => ({ value, currencyCode: EUR });

/** The report form's fields: custom1..10 and orgUnit1..3, all empty. */
function customData(): CustomDatum[] {
  return [
    ...Array.from({ length: 10 }, (_, i) => ({ id: `custom${i + 1}`, value: null, isValid: true })),
    ...Array.from({ length: 3 }, (_, i) => ({ id: `orgUnit${i + 1}`, value: null, isValid: true })),
  ];
}

function v3Fields(): { [field in V3FieldName]?: V3CustomField } {
  const fields: { [field in V3FieldName]?: V3CustomField } = {};
  const names = [
    ...Array.from({ length: 10 }, (_, i) => `Custom${i + 1}` as V3FieldName),
    ...Array.from({ length: 3 }, (_, i) => `OrgUnit${i + 1}` as V3FieldName),
  ];
  for (const name of names) fields[name] = { Type: 'Text', Value: null, Code: null, ListItemID: null };
  return fields;
}

const BERLIN = { id: concurId('location:berlin'), name: 'Berlin, Berlin', city: 'Berlin', countrySubDivisionCode: 'DE-BE', countryCode: 'DE' };
const HAMBURG = { id: concurId('location:hamburg'), name: 'Hamburg, Hamburg', city: 'Hamburg', countrySubDivisionCode: 'DE-HH', countryCode: 'DE' };

function expense(
  expenseId: string,
  type: { id: string; name: string },
  transactionDate: string,
  amount: number,
  businessPurpose: string,
  location: ReportExpenseDetail['location'],
  allocationState: ReportExpenseDetail['allocationState'],
): ReportExpenseDetail {
  return {
    expenseId,
    expenseType: { ...type, code: type.id, isDeleted: false },
    transactionDate,
    transactionAmount: eur(amount),
    postedAmount: eur(amount),
    claimedAmount: eur(amount),
    approvedAmount: eur(amount),
    exchangeRate: { value: 1, operation: 'MULTIPLY' },
    businessPurpose,
    allocationState,
    allocationSetId: allocationState === 'NOT_ALLOCATED' ? null : concurId(`allocation-set:${expenseId}`),
    paymentType: { id: 'CASH', name: 'Cash', code: 'CASH' },
    receiptType: { id: 'R', status: 'Regular Receipt' },
    location,
    attendeeCount: 1,
    hasBlockingExceptions: false,
    hasExceptions: false,
    hasMissingReceiptDeclaration: false,
    isAutoCreated: false,
    isExcludedFromCashAdvanceByUser: false,
    isExpenseBillable: false,
    isExpenseRejected: false,
    isImageRequired: true,
    isPaperReceiptReceived: false,
    isPaperReceiptRequired: false,
    isPersonalExpense: false,
    taxRateLocation: 'HOME',
    customData: customData(),
  };
}

function allocation(allocationId: string, of: ReportExpenseDetail, percentage: number): ReportAllocation {
  const amount = eur(Math.round(of.transactionAmount.value * percentage) / 100);
  return {
    allocationId,
    expenseId: of.expenseId,
    percentage,
    allocationAmount: amount,
    approvedAmount: amount,
    claimedAmount: amount,
    accountCode: null,
    overLimitAccountCode: null,
    isSystemAllocation: false,
    isPercentEdited: false,
    customData: customData(),
  };
}

interface ReportFacts {
  reportId: string;
  name: string;
  businessPurpose: string;
  reportDate: string;
  creationDate: string;
  submitDate: string | null;
  expenses: ReportExpenseDetail[];
}

function report(facts: ReportFacts): ReportDetails {
  const total = Math.round(facts.expenses.reduce((sum, e) => sum + e.claimedAmount.value, 0) * 100) / 100;
  const submitted = facts.submitDate !== null;
  return {
    reportId: facts.reportId,
    name: facts.name,
    businessPurpose: facts.businessPurpose,
    reportDate: facts.reportDate,
    creationDate: facts.creationDate,
    submitDate: facts.submitDate,
    approvalStatus: submitted ? 'Submitted & Pending Approval' : 'Not Submitted',
    approvalStatusId: submitted ? 'A_PEND' : 'A_NOTF',
    paymentStatus: 'Not Paid',
    paymentStatusId: 'P_NOTP',
    concurAuditStatus: 'NOTR',
    currency: 'Euro',
    currencyCode: EUR,
    country: 'GERMANY',
    countryCode: 'DE',
    claimedAmount: eur(total),
    reportTotal: eur(total),
    approvedAmount: eur(total),
    amountDueEmployee: eur(total),
    amountCompanyPaid: eur(0),
    amountDueCompany: eur(0),
    amountDueCompanyCard: eur(0),
    amountNotApproved: eur(0),
    paymentConfirmedAmount: eur(0),
    personalAmount: eur(0),
    canRecall: submitted,
    canReopen: false,
    isReopened: false,
    isFinancialIntegrationEnabled: false,
    isPaperReceiptsReceived: false,
    isReceiptImageAvailable: false,
    isReceiptImageRequired: true,
    ledger: 'DEFAULT',
    ledgerId: concurId('ledger:default'),
    policy: 'Sandbox Expense Policy',
    policyId: concurId('policy:sandbox'),
    reportFormId: concurId('form:report'),
    allocationFormId: concurId('form:allocation'),
    hierarchyNodeId: concurId('hierarchy:sandbox'),
    analyticsGroupId: concurId('analytics:sandbox'),
    reportType: 'Regular',
    reportVersion: 0,
    submitterId: submitted ? SANDBOX_USER.uuid : null,
    userId: SANDBOX_USER.uuid,
    customData: customData(),
  };
}

/** Fresh copies of the seeded v4 reports: SBXR1 unsubmitted first, then SBXR2 submitted. */
export function seedReports(): SeedReport[] {
  const hotel = expense('SBXX1', { id: 'LODNG', name: 'Hotel' }, '2026-11-02', 240.0, 'Two nights near the client', BERLIN, 'FULLY_ALLOCATED');
  const train = expense('SBXX2', { id: 'TRAIN', name: 'Train' }, '2026-11-04', 86.4, 'Return to Hamburg', BERLIN, 'NOT_ALLOCATED');
  const dinner = expense('SBXX3', { id: 'BUSML', name: 'Business Meal' }, '2026-10-20', 64.8, 'Dinner with exhibitors', HAMBURG, 'FULLY_ALLOCATED');
  return [
    {
      report: report({
        reportId: SANDBOX_REPORT_ID,
        name: 'November client visits',
        businessPurpose: 'Client visits in Berlin',
        reportDate: '2026-11-05',
        creationDate: '2026-11-05T08:12:00Z',
        submitDate: null,
        expenses: [hotel, train],
      }),
      expenses: [hotel, train],
      allocations: [allocation('SBXA1', hotel, 50), allocation('SBXA2', hotel, 50)],
    },
    {
      report: report({
        reportId: SANDBOX_SUBMITTED_REPORT_ID,
        name: 'October trade fair',
        businessPurpose: 'Trade fair in Hamburg',
        reportDate: '2026-10-21',
        creationDate: '2026-10-21T07:45:00Z',
        submitDate: '2026-10-21T16:30:00Z',
        expenses: [dinner],
      }),
      expenses: [dinner],
      allocations: [allocation('SBXA3', dinner, 100)],
    },
  ];
}

function entry(ID: string, type: { code: string; name: string }, amount: number, date: string): V3Entry {
  return {
    ID,
    ReportID: 'SBXV3R1',
    ReportOwnerID: SANDBOX_USER.login,
    ExpenseTypeCode: type.code,
    ExpenseTypeName: type.name,
    PaymentTypeID: 'CASH',
    PaymentTypeName: 'Cash',
    TransactionAmount: amount,
    TransactionCurrencyCode: EUR,
    TransactionDate: `${date}T00:00:00`,
    PostedAmount: amount,
    ApprovedAmount: amount,
    AllocationType: 'N',
    IsPersonal: false,
    IsBillable: false,
    IsImageRequired: true,
    HasExceptions: false,
    HasAttendees: false,
    HasComments: false,
    HasImage: false,
    HasItemizations: false,
    HasVAT: false,
    LocationCountry: 'DE',
    LocationName: 'Berlin',
    LastModified: `${date}T18:00:00`,
    ...v3Fields(),
  };
}

/** Fresh copies of the seeded v3 entries; one id carries a "$", as Concur's do. */
export function seedEntries(): V3Entry[] {
  return [
    entry('SBXE1$a7Kq', { code: 'LODNG', name: 'Hotel' }, 189.0, '2026-11-02'),
    entry('SBXE2$b8Lr', { code: 'TAXIX', name: 'Taxi' }, 42.5, '2026-11-03'),
  ];
}
