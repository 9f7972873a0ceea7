import { Injectable } from '@nestjs/common';
import { MAX_FIELD_VALUE_LENGTH } from '../concur/concur.types.js';

/** The one demo user who owns every sandbox report. */
export const SANDBOX_USER = {
  uuid: '5c1f0e2a-7b3d-4c8e-9f10-2a3b4c5d6e7f',
  login: 'sam.employee@sandbox.example.com',
  employeeId: 'E1001',
  name: 'Sam Employee',
} as const;

export const SANDBOX_REPORT_ID = 'SBXR1';

/** Expense Entries v3 custom field. */
export interface V3CustomField {
  Type: 'Text';
  Value: string | null;
  Code: string | null;
  ListItemID: null;
}

export type V3FieldName = `Custom${number}` | `OrgUnit${number}`;

export type V3Entry = {
  ID: string;
  ReportID: string;
  ExpenseTypeName: string;
  TransactionAmount: number;
  TransactionCurrencyCode: string;
  TransactionDate: string;
} & { [field in V3FieldName]?: V3CustomField };

export interface V4CustomDatum {
  id: string;
  value: string | null;
  isValid: boolean;
}

export interface V4Amount {
  value: number;
  currencyCode: string;
}

export interface V4Report {
  reportId: string;
  name: string;
  reportDate: string;
  totalClaimedAmount: V4Amount;
  customData: V4CustomDatum[];
}

export interface V4Expense {
  expenseId: string;
  reportId: string;
  expenseType: { id: string; name: string };
  transactionDate: string;
  transactionAmount: V4Amount;
  customData: V4CustomDatum[];
}

export interface V4Allocation {
  allocationId: string;
  expenseId: string;
  percentage: number;
  allocationAmount: V4Amount;
  customData: V4CustomDatum[];
}

export type V4Item = V4Report | V4Expense | V4Allocation;

/** The parts of a v4 resource path. */
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
}

export type StoreResult<T> = { ok: true; value: T } | { ok: false; status: 400 | 403 | 404; message: string };

export interface SandboxState {
  user: typeof SANDBOX_USER;
  /** The demo user's Concur UUID (same as user.uuid). */
  userId: string;
  entries: V3Entry[];
  report: V4Report;
  expenses: V4Expense[];
  allocations: V4Allocation[];
  tokenRequests: number;
  apiRequests: number;
  updates: number;
  requests: RecordedRequest[];
}

const V3_FIELD = /^(Custom([1-9]|[1-3][0-9]|40)|OrgUnit[1-6])$/;
const V4_FIELD = /^(custom([1-9]|[1-3][0-9]|40)|orgUnit[1-6])$/;
const RING_SIZE = 200;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function valueProblem(value: unknown, name: string): string | undefined {
  if (value === null) return undefined;
  if (typeof value !== 'string') return `${name}: value must be a string or null`;
  if (value.length > MAX_FIELD_VALUE_LENGTH) return `${name}: value is longer than ${MAX_FIELD_VALUE_LENGTH} characters`;
  return undefined;
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

function v4CustomData(): V4CustomDatum[] {
  return [
    ...Array.from({ length: 10 }, (_, i) => ({ id: `custom${i + 1}`, value: null, isValid: true })),
    ...Array.from({ length: 3 }, (_, i) => ({ id: `orgUnit${i + 1}`, value: null, isValid: true })),
  ];
}

/** The fake Concur's data: one demo user's v3 entries and one v4 report, kept in memory. */
@Injectable()
export class SandboxStore {
  private entries = new Map<string, V3Entry>();
  private report: V4Report;
  private expenses = new Map<string, V4Expense>();
  private allocations = new Map<string, V4Allocation>();
  private requests: RecordedRequest[] = [];
  private counters = { tokenRequests: 0, apiRequests: 0, updates: 0 };

  constructor() {
    this.reset();
  }

  /** Back to the seeded data, with counters and the request log emptied. */
  reset(): void {
    this.entries = new Map(
      [
        {
          ID: 'SBXE1$a7Kq',
          ReportID: 'SBXV3R1',
          ExpenseTypeName: 'Hotel',
          TransactionAmount: 189.0,
          TransactionCurrencyCode: 'EUR',
          TransactionDate: '2026-11-02T00:00:00',
          ...v3Fields(),
        },
        {
          ID: 'SBXE2$b8Lr',
          ReportID: 'SBXV3R1',
          ExpenseTypeName: 'Taxi',
          TransactionAmount: 42.5,
          TransactionCurrencyCode: 'EUR',
          TransactionDate: '2026-11-03T00:00:00',
          ...v3Fields(),
        },
      ].map((entry) => [entry.ID, entry]),
    );
    const expenses: V4Expense[] = [
      {
        expenseId: 'SBXX1',
        reportId: SANDBOX_REPORT_ID,
        expenseType: { id: 'LODNG', name: 'Hotel' },
        transactionDate: '2026-11-02',
        transactionAmount: { value: 240.0, currencyCode: 'EUR' },
        customData: v4CustomData(),
      },
      {
        expenseId: 'SBXX2',
        reportId: SANDBOX_REPORT_ID,
        expenseType: { id: 'TRAIN', name: 'Train' },
        transactionDate: '2026-11-04',
        transactionAmount: { value: 86.4, currencyCode: 'EUR' },
        customData: v4CustomData(),
      },
    ];
    this.expenses = new Map(expenses.map((e) => [e.expenseId, e]));
    this.allocations = new Map([
      [
        'SBXA1',
        {
          allocationId: 'SBXA1',
          expenseId: 'SBXX1',
          percentage: 50,
          allocationAmount: { value: 120.0, currencyCode: 'EUR' },
          customData: v4CustomData(),
        },
      ],
    ]);
    this.report = {
      reportId: SANDBOX_REPORT_ID,
      name: 'November client visits',
      reportDate: '2026-11-05',
      totalClaimedAmount: { value: 326.4, currencyCode: 'EUR' },
      customData: v4CustomData(),
    };
    this.requests = [];
    this.counters = { tokenRequests: 0, apiRequests: 0, updates: 0 };
  }

  getEntry(id: string): V3Entry | undefined {
    const entry = this.entries.get(id);
    return entry && structuredClone(entry);
  }

  /** Applies the `Value` of each CustomN/OrgUnitN in a partial v3 entry; anything else in the body is ignored. */
  updateEntry(id: string, body: unknown): StoreResult<V3Entry> {
    const entry = this.entries.get(id);
    if (!entry) return { ok: false, status: 404, message: `Expense entry ${id} was not found` };
    if (!isRecord(body)) return { ok: false, status: 400, message: 'The body must be a JSON object' };
    const changes: Array<[V3FieldName, string | null]> = [];
    for (const [name, field] of Object.entries(body)) {
      if (!V3_FIELD.test(name)) continue;
      if (!isRecord(field) || !('Value' in field)) return { ok: false, status: 400, message: `${name}: expected { "Value": ... }` };
      const problem = valueProblem(field.Value, name);
      if (problem) return { ok: false, status: 400, message: problem };
      changes.push([name as V3FieldName, field.Value as string | null]);
    }
    for (const [name, value] of changes) {
      const current = entry[name] ?? { Type: 'Text', Value: null, Code: null, ListItemID: null };
      entry[name] = { ...current, Value: value };
    }
    if (changes.length) this.counters.updates += 1;
    return { ok: true, value: structuredClone(entry) };
  }

  getV4(path: V4Path): StoreResult<V4Item> {
    const found = this.findV4(path);
    return found.ok ? { ok: true, value: structuredClone(found.value) } : found;
  }

  /** JSON Merge Patch of `customData`, merged by id; other members of the body are ignored. */
  patchV4(path: V4Path, body: unknown): StoreResult<void> {
    const found = this.findV4(path);
    if (!found.ok) return found;
    if (!isRecord(body)) return { ok: false, status: 400, message: 'The body must be a JSON object' };
    if (body.customData === undefined) return { ok: true, value: undefined };
    if (!Array.isArray(body.customData)) return { ok: false, status: 400, message: 'customData must be an array' };
    const changes: V4CustomDatum[] = [];
    for (const datum of body.customData) {
      if (!isRecord(datum) || typeof datum.id !== 'string' || !V4_FIELD.test(datum.id)) {
        return { ok: false, status: 400, message: 'customData: each item needs an id such as custom9 or orgUnit1' };
      }
      const problem = valueProblem(datum.value, datum.id);
      if (problem) return { ok: false, status: 400, message: problem };
      if (datum.isValid !== undefined && typeof datum.isValid !== 'boolean') {
        return { ok: false, status: 400, message: `${datum.id}: isValid must be a boolean` };
      }
      changes.push({ id: datum.id, value: datum.value as string | null, isValid: datum.isValid ?? true });
    }
    const customData = found.value.customData;
    for (const change of changes) {
      const index = customData.findIndex((d) => d.id === change.id);
      if (index >= 0) customData[index] = change;
      else customData.push(change);
    }
    if (changes.length) this.counters.updates += 1;
    return { ok: true, value: undefined };
  }

  countTokenRequest(): void {
    this.counters.tokenRequests += 1;
  }

  get tokenRequests(): number {
    return this.counters.tokenRequests;
  }

  record(request: Omit<RecordedRequest, 'at'>, at = new Date()): void {
    if (!request.path.includes('/oauth2/')) this.counters.apiRequests += 1;
    this.requests.push({ at: at.toISOString(), ...request });
    if (this.requests.length > RING_SIZE) this.requests.splice(0, this.requests.length - RING_SIZE);
  }

  /** The last `limit` recorded calls, newest first. */
  recentRequests(limit = RING_SIZE): RecordedRequest[] {
    return this.requests.slice(-limit).reverse().map((r) => ({ ...r }));
  }

  state(): SandboxState {
    return {
      user: SANDBOX_USER,
      userId: SANDBOX_USER.uuid,
      entries: [...this.entries.values()].map((e) => structuredClone(e)),
      report: structuredClone(this.report),
      expenses: [...this.expenses.values()].map((e) => structuredClone(e)),
      allocations: [...this.allocations.values()].map((a) => structuredClone(a)),
      tokenRequests: this.counters.tokenRequests,
      apiRequests: this.counters.apiRequests,
      updates: this.counters.updates,
      requests: this.recentRequests(),
    };
  }

  private findV4(path: V4Path): StoreResult<V4Item> {
    if (path.context !== 'TRAVELER' && path.context !== 'PROXY') {
      return { ok: false, status: 404, message: `Unknown context ${path.context}` };
    }
    if (path.userId !== SANDBOX_USER.uuid) return { ok: false, status: 403, message: 'No access to this user' };
    if (path.reportId !== this.report.reportId) return { ok: false, status: 404, message: `Report ${path.reportId} was not found` };
    if (path.expenseId !== undefined) {
      const expense = this.expenses.get(path.expenseId);
      return expense ? { ok: true, value: expense } : { ok: false, status: 404, message: `Expense ${path.expenseId} was not found` };
    }
    if (path.allocationId !== undefined) {
      const allocation = this.allocations.get(path.allocationId);
      return allocation
        ? { ok: true, value: allocation }
        : { ok: false, status: 404, message: `Allocation ${path.allocationId} was not found` };
    }
    return { ok: true, value: this.report };
  }
}
