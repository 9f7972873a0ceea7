import { Injectable } from '@nestjs/common';
import { checkContract, type ContractName } from '../concur/contract/contract.js';
import type { ItemLevel } from '../concur/concur.types.js';
import { canonicalFieldId, sameFieldId } from '../concur/field-id.js';
import { contractIssues, failure, type Failure, type ValidationIssue } from './sandbox.errors.js';
import { principalUserId, sameUserId, type Principal } from './sandbox.principal.js';
import {
  SANDBOX_REPORT_ID,
  SANDBOX_USER,
  seedEntries,
  seedReports,
  type CustomDatum,
  type ReportAllocation,
  type ReportDetails,
  type ReportExpenseDetail,
  type V3CustomField,
  type V3Entry,
  type V3FieldName,
} from './sandbox.seed.js';

export {
  SANDBOX_COMPANY,
  SANDBOX_REPORT_ID,
  SANDBOX_SUBMITTED_REPORT_ID,
  SANDBOX_USER,
  type Amount,
  type CustomDatum,
  type ReportAllocation,
  type ReportDetails,
  type ReportExpenseDetail,
  type V3CustomField,
  type V3Entry,
  type V3FieldName,
} from './sandbox.seed.js';

export type V4Item = ReportDetails | ReportExpenseDetail | ReportAllocation;

/** The parts of a v4 resource path (`/expensereports/v4/users/{userID}/context/{contextType}/reports/{reportId}...`). */
export interface V4Path {
  userId: string;
  context: string;
  reportId: string;
  expenseId?: string;
  allocationId?: string;
}

/** One call of the fake Concur. `status` 0: the connection was dropped without an answer. */
export interface RecordedRequest {
  at: string;
  method: string;
  path: string;
  correlationId: string | null;
  status: number;
  /** Who the call was made as: `company` or `user:<uuid>`; null when no valid token came with it (and for token calls). */
  principal: Principal | null;
}

export type StoreResult<T> = { ok: true; value: T } | Failure;

/** One report of the state: its header, expenses and allocations, each as the API answers it. */
export interface SandboxReportState {
  report: ReportDetails;
  expenses: ReportExpenseDetail[];
  allocations: ReportAllocation[];
}

export interface SandboxState {
  user: typeof SANDBOX_USER;
  /** The demo user's Concur UUID (same as user.uuid). */
  userId: string;
  entries: V3Entry[];
  /** The unsubmitted report SBXR1, with its expenses and allocations below. */
  report: ReportDetails;
  expenses: ReportExpenseDetail[];
  allocations: ReportAllocation[];
  /** Every report, SBXR1 first. */
  reports: SandboxReportState[];
  tokenRequests: number;
  apiRequests: number;
  updates: number;
  requests: RecordedRequest[];
}

/** Where a launchable v4 item lives, for the launcher. */
export interface LocatedItem {
  level: ItemLevel;
  reportId: string;
  ownerId: string;
  submitted: boolean;
  expenseId?: string;
  allocationId?: string;
  /** ALLOCATION: the allocation's expense (a launch's expense_ids). */
  expenseIds?: string;
}

interface ReportRecord {
  report: ReportDetails;
  expenses: Map<string, ReportExpenseDetail>;
  allocations: Map<string, ReportAllocation>;
}

interface EntryRecord {
  ownerId: string;
  entry: V3Entry;
}

/** A CustomData item of a PATCH, after the contract check. */
interface CustomDataChange {
  id: string;
  value?: string;
  isValid?: boolean;
}

const CONTEXTS = ['TRAVELER', 'PROXY'];
/** Approval statuses in which the owner may still edit: not submitted, sent back. */
const EDITABLE_STATUSES = new Set(['A_NOTF', 'A_RESU']);
const V3_FIELD = /^(Custom([1-9]|[1-3][0-9]|40)|OrgUnit[1-6])$/;
const RING_SIZE = 200;

export function isSubmitted(report: ReportDetails): boolean {
  return !EDITABLE_STATUSES.has(report.approvalStatusId);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** The request body checked against its documented schema: a 400 listing every problem, or nothing. */
function contractFailure(contract: ContractName, body: unknown): Failure | undefined {
  const check = checkContract(contract, body);
  if (check.ok) return undefined;
  return failure(400, `The request body does not match ${contract.split('.')[1]}`, contractIssues(contract, check.errors));
}

/** The page's CustomData `id` has no pattern: an id that names no custom or org unit field is refused here. */
function unknownFields(changes: CustomDataChange[], at: string): Failure | undefined {
  const issues: ValidationIssue[] = changes.flatMap((change, i) =>
    canonicalFieldId(change.id)
      ? []
      : [{ id: `${at}/${i}/id`, message: `'${change.id}' is no custom or org unit field (custom1..40, orgUnit1..6)`, source: 'customData' }],
  );
  return issues.length ? failure(400, 'customData names an unknown field', issues) : undefined;
}

/**
 * JSON Merge Patch of CustomData, item by item: an id matches the stored one whatever its case or
 * leading zeros (`custom09` is `custom9`), and the stored spelling stays; a field the item does not
 * have yet is added in its canonical spelling. A member left out stays as it is.
 */
function mergeCustomData(stored: CustomDatum[], changes: CustomDataChange[]): void {
  for (const change of changes) {
    const current = stored.find((d) => sameFieldId(d.id, change.id));
    if (current) {
      if (change.value !== undefined) current.value = change.value;
      current.isValid = change.isValid ?? true;
    } else {
      stored.push({ id: canonicalFieldId(change.id)!, value: change.value ?? null, isValid: change.isValid ?? true });
    }
  }
}

/** The fake Concur's data: the demo user's v3 entries and v4 reports, kept in memory, and the log of calls. */
@Injectable()
export class SandboxStore {
  private entries = new Map<string, EntryRecord>();
  private reports = new Map<string, ReportRecord>();
  private requests: RecordedRequest[] = [];
  private counters = { tokenRequests: 0, apiRequests: 0, updates: 0 };

  constructor() {
    this.reset();
  }

  /** Back to the seeded data, with counters and the request log emptied. */
  reset(): void {
    this.entries = new Map(seedEntries().map((entry) => [entry.ID, { ownerId: SANDBOX_USER.uuid, entry }]));
    this.reports = new Map(
      seedReports().map((seed) => [
        seed.report.reportId,
        {
          report: seed.report,
          expenses: new Map(seed.expenses.map((e) => [e.expenseId, e])),
          allocations: new Map(seed.allocations.map((a) => [a.allocationId, a])),
        },
      ]),
    );
    this.requests = [];
    this.counters = { tokenRequests: 0, apiRequests: 0, updates: 0 };
  }

  // ---- Expense Entries v3 ------------------------------------------------------------------

  /** A copy of a v3 entry, for the launcher and the page (no access check). */
  getEntry(id: string): V3Entry | undefined {
    const record = this.entries.get(id);
    return record && clone(record.entry);
  }

  /** GET /api/v3.0/expense/entries/{id} as `principal`. */
  readEntry(id: string, principal: Principal): StoreResult<V3Entry> {
    const found = this.findEntry(id, principal);
    return found.ok ? { ok: true, value: clone(found.value.entry) } : found;
  }

  /**
   * PUT /api/v3.0/expense/entries/{id}: the body must be an EntryPut (Entries.swagger2.json), whose
   * Custom1..40 and OrgUnit1..6 are plain strings. Their values are stored; other members are accepted and not applied.
   */
  updateEntry(id: string, body: unknown, principal: Principal, now = new Date()): StoreResult<void> {
    const found = this.findEntry(id, principal);
    if (!found.ok) return found;
    const refused = contractFailure('v3.EntryPut', body);
    if (refused) return refused;
    const { entry } = found.value;
    const changes = Object.entries(body as Record<string, unknown>).filter(([name]) => V3_FIELD.test(name)) as Array<[V3FieldName, string]>;
    for (const [name, value] of changes) {
      const current: V3CustomField = entry[name] ?? { Type: 'Text', Value: null, Code: null, ListItemID: null };
      entry[name] = { ...current, Value: value };
    }
    if (changes.length) {
      entry.LastModified = now.toISOString().slice(0, 19);
      this.counters.updates += 1;
    }
    return { ok: true, value: undefined };
  }

  // ---- Expense Reports v4 ------------------------------------------------------------------

  /** GET of a report header, expense or allocation on its user-context path, as `principal`. */
  readV4(path: V4Path, principal: Principal): StoreResult<V4Item> {
    const found = this.resolve(path, principal);
    if (!found.ok) return found;
    const { record, expense, allocation } = found.value;
    return { ok: true, value: clone(allocation ?? expense ?? record.report) };
  }

  /**
   * PATCH on a user-context path (JSON Merge Patch). The header takes an UpdateReport, an expense an
   * UpdateReportExpense, an allocation an UpdateReportAllocation (whose expenseIds must name the
   * allocation's expense); none of them in a submitted report. customData and businessPurpose are
   * applied; the other documented members are accepted and not applied.
   */
  patchV4(path: V4Path, body: unknown, principal: Principal): StoreResult<void> {
    const found = this.resolve(path, principal);
    if (!found.ok) return found;
    const { record, expense, allocation } = found.value;
    if (allocation) return this.patchAllocation(record, allocation, body);
    if (expense) return this.patchExpense(record, expense, body, 'v4.UpdateReportExpense');
    return this.patchHeader(record, body);
  }

  /**
   * PATCH /expensereports/v4/reports/{reportId}/expenses/{expenseId}: an expense in an unsubmitted or
   * submitted report, businessPurpose and customData only (v4.expenses.markdown, UpdateReportExpenseCompact).
   */
  patchExpenseOfReport(reportId: string, expenseId: string, body: unknown, principal: Principal): StoreResult<void> {
    const record = this.reports.get(reportId);
    if (!record) return failure(404, `Report ${reportId} was not found`);
    const denied = this.deniedOwner(principal, record.report.userId);
    if (denied) return denied;
    const expense = record.expenses.get(expenseId);
    if (!expense) return failure(404, `Expense ${expenseId} was not found in report ${reportId}`);
    return this.patchExpense(record, expense, body, 'v4.UpdateReportExpenseCompact');
  }

  /** The report, expense or allocation a launch names, in whichever report holds it. */
  locate(level: ItemLevel, id: string): LocatedItem | undefined {
    for (const record of this.reports.values()) {
      const base = { level, reportId: record.report.reportId, ownerId: record.report.userId, submitted: isSubmitted(record.report) };
      if (level === 'HEADER' && record.report.reportId === id) return base;
      if (level === 'ENTRY' && record.expenses.has(id)) return { ...base, expenseId: id };
      const allocation = level === 'ALLOCATION' ? record.allocations.get(id) : undefined;
      if (allocation) return { ...base, allocationId: id, expenseIds: allocation.expenseId };
    }
    return undefined;
  }

  // ---- counters, request log, state ----------------------------------------------------------

  countTokenRequest(): void {
    this.counters.tokenRequests += 1;
  }

  get tokenRequests(): number {
    return this.counters.tokenRequests;
  }

  record(request: Omit<RecordedRequest, 'at' | 'principal'> & { principal?: Principal | null }, at = new Date()): void {
    if (!request.path.includes('/oauth2/')) this.counters.apiRequests += 1;
    this.requests.push({ at: at.toISOString(), ...request, principal: request.principal ?? null });
    if (this.requests.length > RING_SIZE) this.requests.splice(0, this.requests.length - RING_SIZE);
  }

  /** The last `limit` recorded calls, newest first. */
  recentRequests(limit = RING_SIZE): RecordedRequest[] {
    return this.requests.slice(-limit).reverse().map((r) => ({ ...r }));
  }

  state(): SandboxState {
    const reports = [...this.reports.values()].map((r) => ({
      report: clone(r.report),
      expenses: [...r.expenses.values()].map(clone),
      allocations: [...r.allocations.values()].map(clone),
    }));
    const main = reports.find((r) => r.report.reportId === SANDBOX_REPORT_ID)!;
    return {
      user: SANDBOX_USER,
      userId: SANDBOX_USER.uuid,
      entries: [...this.entries.values()].map((r) => clone(r.entry)),
      report: main.report,
      expenses: main.expenses,
      allocations: main.allocations,
      reports,
      tokenRequests: this.counters.tokenRequests,
      apiRequests: this.counters.apiRequests,
      updates: this.counters.updates,
      requests: this.recentRequests(),
    };
  }

  // ---- private -----------------------------------------------------------------------------

  private findEntry(id: string, principal: Principal): StoreResult<EntryRecord> {
    const record = this.entries.get(id);
    if (!record) return failure(404, `Expense entry ${id} was not found`);
    const denied = this.deniedOwner(principal, record.ownerId);
    return denied ?? { ok: true, value: record };
  }

  /** A user token reads and writes its own user's reports only; the company token all of them. */
  private deniedOwner(principal: Principal, ownerId: string): Failure | undefined {
    const user = principalUserId(principal);
    if (user === undefined || sameUserId(user, ownerId)) return undefined;
    return failure(403, "This user's token may not access another user's expense data");
  }

  private resolve(
    path: V4Path,
    principal: Principal,
  ): StoreResult<{ record: ReportRecord; expense?: ReportExpenseDetail; allocation?: ReportAllocation }> {
    if (!CONTEXTS.includes(path.context)) {
      return failure(400, `contextType ${path.context} is not supported`, [
        { id: 'contextType', message: `Supported values: ${CONTEXTS.join(', ')}`, source: 'path' },
      ]);
    }
    const user = principalUserId(principal);
    if (user !== undefined && !sameUserId(user, path.userId)) {
      return failure(403, `This user's token may not act for user ${path.userId}`);
    }
    const record = this.reports.get(path.reportId);
    if (!record) return failure(404, `Report ${path.reportId} was not found`);
    const denied = this.deniedOwner(principal, record.report.userId);
    if (denied) return denied;
    if (!sameUserId(record.report.userId, path.userId)) {
      return failure(403, `Report ${path.reportId} does not belong to user ${path.userId}`);
    }
    if (path.expenseId !== undefined) {
      const expense = record.expenses.get(path.expenseId);
      return expense
        ? { ok: true, value: { record, expense } }
        : failure(404, `Expense ${path.expenseId} was not found in report ${path.reportId}`);
    }
    if (path.allocationId !== undefined) {
      const allocation = record.allocations.get(path.allocationId);
      return allocation
        ? { ok: true, value: { record, allocation } }
        : failure(404, `Allocation ${path.allocationId} was not found in report ${path.reportId}`);
    }
    return { ok: true, value: { record } };
  }

  private patchHeader(record: ReportRecord, body: unknown): StoreResult<void> {
    const refused = contractFailure('v4.UpdateReport', body);
    if (refused) return refused;
    const patch = body as { customData?: CustomDataChange[]; businessPurpose?: string };
    const unknown = unknownFields(patch.customData ?? [], '/customData');
    if (unknown) return unknown;
    const { report } = record;
    if (isSubmitted(report)) {
      return failure(400, `Report ${report.reportId} is submitted (${report.approvalStatus}): its header can no longer be changed`);
    }
    mergeCustomData(report.customData, patch.customData ?? []);
    if (patch.businessPurpose !== undefined) report.businessPurpose = patch.businessPurpose;
    this.countUpdate(patch);
    return { ok: true, value: undefined };
  }

  private patchExpense(
    record: ReportRecord,
    expense: ReportExpenseDetail,
    body: unknown,
    contract: 'v4.UpdateReportExpense' | 'v4.UpdateReportExpenseCompact',
  ): StoreResult<void> {
    const refused = contractFailure(contract, body);
    if (refused) return refused;
    const patch = body as { customData?: CustomDataChange[]; businessPurpose?: string };
    const unknown = unknownFields(patch.customData ?? [], '/customData');
    if (unknown) return unknown;
    const { report } = record;
    if (contract === 'v4.UpdateReportExpense' && isSubmitted(report)) {
      return failure(
        400,
        `Report ${report.reportId} is submitted (${report.approvalStatus}): its expense ${expense.expenseId} can only be changed with ` +
          `PATCH /expensereports/v4/reports/${report.reportId}/expenses/${expense.expenseId} (businessPurpose and customData)`,
      );
    }
    mergeCustomData(expense.customData, patch.customData ?? []);
    if (patch.businessPurpose !== undefined) expense.businessPurpose = patch.businessPurpose;
    this.countUpdate(patch);
    return { ok: true, value: undefined };
  }

  private patchAllocation(record: ReportRecord, allocation: ReportAllocation, body: unknown): StoreResult<void> {
    const refused = contractFailure('v4.UpdateReportAllocation', body);
    if (refused) return refused;
    const patch = body as { allocation: { customData?: CustomDataChange[] }; expenseIds: string[] };
    const unknown = unknownFields(patch.allocation.customData ?? [], '/allocation/customData');
    if (unknown) return unknown;
    const { report } = record;
    const issues: ValidationIssue[] = [];
    if (!patch.expenseIds.includes(allocation.expenseId)) {
      const message = `must include ${allocation.expenseId}, the expense of allocation ${allocation.allocationId}`;
      issues.push({ id: '/expenseIds', message, source: 'expenseIds' });
    }
    patch.expenseIds.forEach((id, i) => {
      if (!record.expenses.has(id)) {
        issues.push({ id: `/expenseIds/${i}`, message: `${id} is no expense of report ${report.reportId}`, source: 'expenseIds' });
      }
    });
    if (issues.length) return failure(400, 'expenseIds does not match the allocation', issues);
    if (isSubmitted(report)) {
      return failure(400, `Report ${report.reportId} is submitted (${report.approvalStatus}): its allocations can no longer be changed`);
    }
    mergeCustomData(allocation.customData, patch.allocation.customData ?? []);
    this.countUpdate({ customData: patch.allocation.customData });
    return { ok: true, value: undefined };
  }

  private countUpdate(patch: { customData?: CustomDataChange[]; businessPurpose?: string }): void {
    if ((patch.customData?.length ?? 0) > 0 || patch.businessPurpose !== undefined) this.counters.updates += 1;
  }
}
