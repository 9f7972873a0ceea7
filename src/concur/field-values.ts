import { ConcurError, type ItemRef, type ItemView, MAX_FIELD_VALUE_LENGTH } from './concur.types.js';

type Json = Record<string, unknown>;

const V3_FIELD = /^(Custom([1-9]|[1-3][0-9]|40)|OrgUnit[1-6])$/;
const V4_FIELD = /^(custom([1-9]|[1-3][0-9]|40)|orgUnit[1-6])$/;

/** What the session page shows of a Concur item: tolerant of missing or oddly typed parts. */
export function readItemView(item: ItemRef, field: string, body: unknown): ItemView {
  if (!isObject(body)) throw new ConcurError('rejected', 'Concur answered with an unexpected item');
  if (item.api === 'v3') {
    return {
      level: item.level,
      title: text(body.ExpenseTypeName),
      amount: number(body.TransactionAmount),
      currency: text(body.TransactionCurrencyCode),
      date: isoDate(body.TransactionDate),
      fieldValue: Object.hasOwn(body, field) && isObject(body[field]) ? text((body[field] as Json).Value) : null,
    };
  }
  const base = { level: item.level, fieldValue: customValue(body.customData, field) };
  switch (item.level) {
    case 'HEADER':
      return {
        ...base,
        title: text(body.name),
        ...money(body.totalClaimedAmount),
        date: isoDate(body.reportDate),
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
      };
    }
  }
}

/** The request that writes `value` into `field` of the item: v3 PUT of a partial entry, v4 merge PATCH. */
export function buildUpdate(
  item: ItemRef,
  field: string,
  value: string,
): { method: 'PUT' | 'PATCH'; body: Record<string, unknown> } {
  if (value.length > MAX_FIELD_VALUE_LENGTH) {
    throw new Error(`a Concur field value is at most ${MAX_FIELD_VALUE_LENGTH} characters`);
  }
  if (item.api === 'v3') {
    if (!V3_FIELD.test(field)) throw new Error(`"${field}" is not a writable v3 entry field`);
    return { method: 'PUT', body: { [field]: { Value: value } } };
  }
  if (!V4_FIELD.test(field)) throw new Error(`"${field}" is not a writable v4 custom field`);
  return { method: 'PATCH', body: { customData: [{ id: field, value, isValid: true }] } };
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

function customValue(customData: unknown, field: string): string | null {
  if (!Array.isArray(customData)) return null;
  const entry = customData.find((candidate) => isObject(candidate) && candidate.id === field);
  return isObject(entry) ? text(entry.value) : null;
}
