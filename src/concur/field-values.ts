import type { TenantConfig } from '../config/index.js';
import { ConcurError, type ItemRef, type ItemView, MAX_FIELD_VALUE_LENGTH } from './concur.types.js';
import type { ContractName } from './contract/contract.js';
import { canonicalFieldId, sameFieldId, v3FieldName } from './field-id.js';

type Json = Record<string, unknown>;

/** The report statuses in which an expense is changed through the user-context path (v4.expenses.markdown). */
const UNSUBMITTED = new Set(['A_NOTF']);

/** Which answer contract a GET of this item reads. */
export function itemContract(item: ItemRef): ContractName {
  if (item.api === 'v3') return 'v3.EntryGet';
  return { HEADER: 'v4.ReportDetails', ENTRY: 'v4.ReportExpenseDetail', ALLOCATION: 'v4.ReportAllocationResponse' }[item.level] as ContractName;
}

/** What the session page shows of a Concur item, read by the names of Concur's schemas; tolerant of missing or oddly typed parts. */
export function readItemView(item: ItemRef, field: string, body: unknown): ItemView {
  if (!isObject(body)) throw new ConcurError('rejected', 'Concur answered with an unexpected item');
  if (item.api === 'v3') {
    const name = Object.keys(body).find((key) => sameFieldId(key, field));
    const custom = name !== undefined && isObject(body[name]) ? (body[name] as Json) : undefined;
    return {
      level: item.level,
      title: text(body.ExpenseTypeName),
      amount: number(body.TransactionAmount),
      currency: text(body.TransactionCurrencyCode),
      date: isoDate(body.TransactionDate),
      fieldValue: custom ? text(custom.Value) : null,
      fieldId: name ?? null,
    };
  }
  const datum = customDatum(body.customData, field);
  const base = { level: item.level, fieldValue: datum ? text(datum.value) : null, fieldId: datum ? text(datum.id) : null };
  switch (item.level) {
    case 'HEADER':
      return {
        ...base,
        title: text(body.name),
        // ReportDetails: reportTotal is "the total amount on the report"; claimedAmount leaves out personal expenses.
        ...money(isObject(body.reportTotal) ? body.reportTotal : body.claimedAmount),
        date: isoDate(body.reportDate),
        approvalStatusId: text(body.approvalStatusId),
      };
    case 'ENTRY':
      return {
        ...base,
        title: isObject(body.expenseType) ? text(body.expenseType.name) : null,
        ...money(body.transactionAmount),
        date: isoDate(body.transactionDate),
      };
    case 'ALLOCATION': {
      const percentage = number(body.percentage);
      return {
        ...base,
        // The page names the level and formats the share for the user's locale.
        title: null,
        percentage,
        ...money(body.allocationAmount),
        date: null,
        expenseId: text(body.expenseId),
      };
    }
  }
}

/** One write as Concur documents it: where it goes (below the API base), how, the body and its contract. */
export interface FieldWrite {
  method: 'PUT' | 'PATCH';
  path: string;
  body: Record<string, unknown>;
  contract: ContractName;
}

export interface WriteTarget {
  item: ItemRef;
  tenant: TenantConfig;
  /** The canonical field id (custom9) or v3 name (Custom9) the tenant's rules chose. */
  field: string;
  /** The field's id as Concur spelled it when the item was read (custom09), if it was listed. */
  fieldId?: string | null;
  value: string;
}

export function checkFieldValue(value: string): void {
  if (value.length > MAX_FIELD_VALUE_LENGTH) {
    throw new Error(`a Concur field value is at most ${MAX_FIELD_VALUE_LENGTH} characters`);
  }
}

/** Expense Entries v3 (Entries.swagger2.json EntryPut): custom and org-unit fields are plain strings. */
export function v3EntryWrite(target: WriteTarget, path: string): FieldWrite {
  checkFieldValue(target.value);
  const name = v3FieldName(target.field);
  if (!name) throw new Error(`"${target.field}" is not a writable v3 entry field`);
  return { method: 'PUT', path, body: { [name]: target.value }, contract: 'v3.EntryPut' };
}

/** The customData item of a v4 write, with the id as Concur spells it for this item. */
function customData(target: WriteTarget): Array<{ id: string; value: string; isValid: boolean }> {
  checkFieldValue(target.value);
  const canonical = canonicalFieldId(target.field);
  if (!canonical) throw new Error(`"${target.field}" is not a writable v4 custom field`);
  const id = target.fieldId && sameFieldId(target.fieldId, canonical) ? target.fieldId : canonical;
  return [{ id, value: target.value, isValid: true }];
}

/** v4.reports.markdown UpdateReport: customData plus the Required reportSource. */
export function reportHeaderWrite(target: WriteTarget, path: string): FieldWrite {
  return {
    method: 'PATCH',
    path,
    body: { customData: customData(target), reportSource: target.tenant.fields.v4.reportSource },
    contract: 'v4.UpdateReport',
  };
}

/**
 * v4.expenses.markdown: an expense of an unsubmitted report through the user-context path
 * (UpdateReportExpense), any other through the submitted-report path (its compact schema); both
 * need expenseSource. The report's status is Concur's approvalStatusId, never a launch parameter.
 */
export function expenseWrite(target: WriteTarget, approvalStatusId: string, paths: { unsubmitted: string; submitted: string }): FieldWrite {
  const body = { customData: customData(target), expenseSource: target.tenant.fields.v4.expenseSource };
  return UNSUBMITTED.has(approvalStatusId)
    ? { method: 'PATCH', path: paths.unsubmitted, body, contract: 'v4.UpdateReportExpense' }
    : { method: 'PATCH', path: paths.submitted, body, contract: 'v4.UpdateReportExpenseCompact' };
}

/** v4.allocations.markdown UpdateReportAllocation: the custom data in `allocation`, and the expense it belongs to. */
export function allocationWrite(target: WriteTarget, expenseId: string, path: string): FieldWrite {
  return { method: 'PATCH', path, body: { allocation: { customData: customData(target) }, expenseIds: [expenseId] }, contract: 'v4.UpdateReportAllocation' };
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

function number(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : null;
  }
  return null;
}

function isoDate(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const match = /^(\d{4}-\d{2}-\d{2})(?:$|T)/.exec(value);
  return match ? match[1] : null;
}

function money(value: unknown): { amount: number | null; currency: string | null } {
  if (!isObject(value)) return { amount: null, currency: null };
  return { amount: number(value.value), currency: text(value.currencyCode) };
}

function customDatum(data: unknown, field: string): Json | undefined {
  if (!Array.isArray(data)) return undefined;
  return data.find((candidate): candidate is Json => isObject(candidate) && typeof candidate.id === 'string' && sameFieldId(candidate.id, field));
}
