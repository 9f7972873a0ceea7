import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertContract, checkContract, contractSource, ContractViolation, type ContractName } from './contract.js';
import { CONTRACT_SCHEMAS } from './schemas.js';

const root = join(import.meta.dirname, '..', '..', '..');
const fixtures = join(root, 'test', 'fixtures', 'concur-docs');
const docs = join(root, '..', 'shared', 'concur-docs');
const docsPresent = existsSync(docs);
if (!docsPresent) console.log(`contract.spec: ${docs} is absent, so the tests that read Concur's pages are skipped (CI has it)`);
const itWithDocs = docsPresent ? it : it.skip;

interface IndexEntry {
  file: string;
  contract: ContractName;
  source: string;
  repairs?: string[];
  each?: boolean;
}
const index = JSON.parse(readFileSync(join(fixtures, 'index.json'), 'utf8')) as IndexEntry[];
const fixture = (file: string): unknown => JSON.parse(readFileSync(join(fixtures, file), 'utf8'));

const names = Object.keys(CONTRACT_SCHEMAS) as ContractName[];
type Schema = Record<string, unknown>;
const schemaOf = (name: ContractName): Schema => CONTRACT_SCHEMAS[name].schema;

const CUSTOM_DATA = [{ id: 'custom9', value: 'PRJ-1', isValid: true }];

/** Expects a refusal whose errors include every `expected` text. */
function expectRefused(name: ContractName, value: unknown, ...expected: string[]): string[] {
  const check = checkContract(name, value);
  expect(check.ok).toBe(false);
  for (const text of expected) expect(check.errors.join('\n')).toContain(text);
  return check.errors;
}
function expectAccepted(name: ContractName, value: unknown): void {
  expect(checkContract(name, value)).toEqual({ ok: true, errors: [] });
}

// ---------------------------------------------------------------------------------------------
// Reading the doc pages

/** `file#anchor` split; a markdown anchor is an `<a name>` (the reports page spells one `name="#..."`) or a heading. */
function splitSource(source: string): { file: string; anchor: string } {
  const at = source.indexOf('#');
  return at < 0 ? { file: source, anchor: '' } : { file: source.slice(0, at), anchor: source.slice(at + 1) };
}
const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');

/** Where the anchor is in the page, or -1. */
function anchorAt(page: string, anchor: string): number {
  for (const form of [`name="${anchor}"`, `name="#${anchor}"`]) {
    const at = page.indexOf(form);
    if (at >= 0) return at;
  }
  const heading = /^#+ (.*)$/gm;
  for (let m = heading.exec(page); m; m = heading.exec(page)) if (slug(m[1]) === anchor) return m.index;
  return -1;
}

function resolvePointer(document: unknown, pointer: string): unknown {
  let node = document;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !(key in node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function sourceExists(source: string): boolean {
  const { file, anchor } = splitSource(source);
  const path = join(docs, file);
  if (!existsSync(path)) return false;
  if (!anchor) return true;
  const text = readFileSync(path, 'utf8');
  if (file.endsWith('.json')) return resolvePointer(JSON.parse(text), anchor) !== undefined;
  return anchorAt(text, anchor) >= 0;
}

interface Row {
  name: string;
  type: string;
  required: boolean;
}
/** The `nth` table after the anchor: its rows as name, type cell and **Required** marker. */
function tableAfter(source: string, nth = 0): Row[] {
  const { file, anchor } = splitSource(source);
  const page = readFileSync(join(docs, file), 'utf8');
  const lines = page.slice(anchorAt(page, anchor)).split('\n');
  const cells = (line: string): string[] => line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
  let seen = -1;
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i].includes('|') || !/^\s*\|?\s*-{3,}/.test(lines[i + 1])) continue;
    if (++seen < nth) continue;
    const rows: Row[] = [];
    for (let j = i + 2; j < lines.length && lines[j].includes('|'); j++) {
      const [name, type, , description = ''] = cells(lines[j]);
      rows.push({ name: name.replace(/`/g, '').trim(), type, required: description.includes('**Required**') });
    }
    return rows;
  }
  throw new Error(`no table ${nth} after ${source}`);
}

/** The JSON types a property schema accepts (through `type` and `anyOf`). */
function typesOf(schema: Schema): string[] {
  const own = schema.type === undefined ? [] : ([] as string[]).concat(schema.type as string | string[]);
  const nested = Array.isArray(schema.anyOf) ? (schema.anyOf as Schema[]).flatMap(typesOf) : [];
  return [...own, ...nested];
}
/** The type the page's Type cell names: a primitive, or a link to another schema (an object or a list of them). */
function documentedTypes(cell: string): string[] {
  if (cell.includes('](')) return ['object', 'array'];
  const word = cell.replace(/`/g, '').trim().toLowerCase();
  return [{ decimal: 'number', int32: 'integer' }[word] ?? word];
}

/** Where a schema knowingly differs from its table (each explained in the schema's $comment). */
const TABLE_CHECKS: Partial<Record<ContractName, { nth?: number; extraRequired?: string[]; extraProperties?: string[]; types?: Record<string, string> }>> = {
  'v4.ReportDetails': {},
  'v4.UpdateReport': {},
  'v4.ReportExpenseDetail': {},
  'v4.UpdateReportExpense': {},
  'v4.UpdateReportExpenseCompact': {},
  'v4.ReportAllocationResponse': {},
  'v4.UpdateReportAllocation': { types: { expenseIds: 'array' } },
  'v4.ErrorMessage': {},
  'oauth.RefreshTokenRequest': {},
  // The second table after #auth_grant is the token exchange (the first is GET /authorize); it marks nothing Required.
  'oauth.AuthorizationCodeRequest': { nth: 1, extraRequired: ['client_id', 'client_secret', 'redirect_uri', 'code', 'grant_type'] },
  // The "Access Tokens" table marks nothing Required; refresh_expires_in is named in #enterprise-business-applications.
  'oauth.TokenResponse': { extraRequired: ['access_token'], extraProperties: ['refresh_expires_in'] },
};

/** The sub-schema at `path`: property names, `[]` for the items of a list. */
function at(schema: Schema, path: string): Schema {
  let node = schema;
  for (const step of path.split('/')) node = (step === '[]' ? node.items : (node.properties as Record<string, Schema>)[step]) as Schema;
  if (!node) throw new Error(`no sub-schema at ${path}`);
  return node;
}

/** Nested types: [table source, contract, path of the sub-schema written from it]. */
const NESTED: [string, ContractName, string][] = [
  ['v4.reports.markdown#custom-data-schema', 'v4.UpdateReport', 'customData/[]'],
  ['v4.reports.markdown#custom-data-schema', 'v4.ReportDetails', 'customData/[]'],
  ['v4.reports.markdown#amount-schema', 'v4.UpdateReport', 'redirectFund/amount'],
  ['v4.reports.markdown#amount-schema', 'v4.ReportDetails', 'reportTotal'],
  ['v4.reports.markdown#redirect-fund-schema', 'v4.UpdateReport', 'redirectFund'],
  ['v4.reports.markdown#redirect-fund-schema', 'v4.ReportDetails', 'redirectFund'],
  ['v4.reports.markdown#link-schema', 'v4.ReportDetails', 'links/[]'],
  ['v4.reports.markdown#validation-errors-schema', 'v4.ErrorMessage', 'validationErrors/[]'],
  ['v4.expenses.markdown#report-expense-custom-data-schema', 'v4.UpdateReportExpenseCompact', 'customData/[]'],
  ['v4.expenses.markdown#custom-data-schema', 'v4.UpdateReportExpense', 'customData/[]'],
  ['v4.expenses.markdown#custom-data-schema', 'v4.ReportExpenseDetail', 'customData/[]'],
  ['v4.expenses.markdown#amount-schema', 'v4.UpdateReportExpense', 'transactionAmount'],
  ['v4.expenses.markdown#amount-schema', 'v4.ReportExpenseDetail', 'postedAmount'],
  ['v4.expenses.markdown#expense-source-identifiers-schema', 'v4.ReportExpenseDetail', 'expenseSourceIdentifiers'],
  ['v4.expenses.markdown#expense-tax-summary-schema', 'v4.ReportExpenseDetail', 'expenseTaxSummary'],
  ['v4.expenses.markdown#link-schema', 'v4.ReportExpenseDetail', 'links/[]'],
  ...(['exchangeRate', 'expenseType', 'location', 'mileage', 'paymentType', 'receiptType', 'travel', 'travelAllowance', 'vendor'] as const).flatMap(
    (key): [string, ContractName, string][] => {
      const anchor = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      return [
        [`v4.expenses.markdown#${anchor}-schema`, 'v4.UpdateReportExpense', key],
        [`v4.expenses.markdown#${anchor}-schema`, 'v4.ReportExpenseDetail', key],
      ];
    },
  ),
  ['v4.expenses.markdown#smart-expense-schema', 'v4.UpdateReportExpense', 'smartExpense'],
  ['v4.expenses.markdown#ereceipt-schema', 'v4.UpdateReportExpense', 'smartExpense/ereceipt'],
  ['v4.expenses.markdown#hotel-ereceipt-schema', 'v4.UpdateReportExpense', 'smartExpense/ereceipt/hotelEReceipt'],
  ['v4.expenses.markdown#car-ereceipt-schema', 'v4.UpdateReportExpense', 'smartExpense/ereceipt/carEReceipt'],
  ['v4.expenses.markdown#expense-attendees-schema', 'v4.UpdateReportExpense', 'smartExpense/expenseAttendees'],
  ['v4.expenses.markdown#expense-attendee-schema', 'v4.UpdateReportExpense', 'smartExpense/expenseAttendees/expenseAttendeeList/[]'],
  ['v4.expenses.markdown#trip-schema', 'v4.UpdateReportExpense', 'smartExpense/trip'],
  ['v4.expenses.markdown#hotel-trip-schema', 'v4.UpdateReportExpense', 'smartExpense/trip/hotelTrip'],
  ['v4.expenses.markdown#air-trip-schema', 'v4.UpdateReportExpense', 'smartExpense/trip/airTrip'],
  ['v4.expenses.markdown#ride-trip-schema', 'v4.UpdateReportExpense', 'smartExpense/trip/rideTrip'],
  ['v4.expenses.markdown#car-trip-schema', 'v4.UpdateReportExpense', 'smartExpense/trip/carTrip'],
  ['v4.expenses.markdown#tax-schema', 'v4.UpdateReportExpense', 'tax'],
  ['v4.expenses.markdown#expense-tax-schema', 'v4.UpdateReportExpense', 'tax/expenseTax1'],
  ['v4.expenses.markdown#expense-tax-schema', 'v4.UpdateReportExpense', 'tax/expenseTax2'],
  ['v4.allocations.markdown#update-allocation-schema', 'v4.UpdateReportAllocation', 'allocation'],
  ['v4.allocations.markdown#custom-data-schema', 'v4.UpdateReportAllocation', 'allocation/customData/[]'],
  ['v4.allocations.markdown#custom-data-schema', 'v4.ReportAllocationResponse', 'customData/[]'],
  ['v4.allocations.markdown#amount-schema', 'v4.ReportAllocationResponse', 'allocationAmount'],
];

/** The schema's properties, required list and types against the page's table. */
function expectTable(label: string, schema: Schema, rows: Row[], check: { extraRequired?: string[]; extraProperties?: string[]; types?: Record<string, string> } = {}): void {
  const properties = schema.properties as Record<string, Schema>;
  expect({ label, properties: Object.keys(properties).sort() }).toEqual({
    label,
    properties: [...rows.map((r) => r.name), ...(check.extraProperties ?? [])].sort(),
  });
  const required = new Set([...rows.filter((r) => r.required).map((r) => r.name), ...(check.extraRequired ?? [])]);
  expect({ label, required: ((schema.required as string[] | undefined) ?? []).slice().sort() }).toEqual({ label, required: [...required].sort() });
  for (const row of rows) {
    const expected = check.types?.[row.name] ? [check.types[row.name]] : documentedTypes(row.type);
    const actual = typesOf(properties[row.name]);
    expect({ label, property: row.name, documented: expected.some((t) => actual.includes(t)) }).toEqual({ label, property: row.name, documented: true });
  }
}

// ---------------------------------------------------------------------------------------------

describe('Concur contract schemas', () => {
  it('has one draft 2020-12 schema per contract name, its $id and $comment naming it and its source', () => {
    expect(names).toHaveLength(15);
    for (const name of names) {
      const { source, schema } = CONTRACT_SCHEMAS[name];
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema.$id).toBe(`urn:concur-contract:${name}`);
      expect(schema.$comment).toContain(source);
      expect(contractSource(name)).toBe(source);
    }
  });

  it('lists every fixture file in index.json, and every listed file exists', () => {
    const files = readdirSync(fixtures).filter((f) => f.endsWith('.json') && f !== 'index.json');
    expect(index.map((e) => e.file).sort()).toEqual(files.sort());
  });

  describe.each(index)('the doc example $file', (entry) => {
    it(`is valid ${entry.contract}${entry.each ? ' (each item)' : ''}`, () => {
      const value = fixture(entry.file);
      const items = entry.each ? (value as unknown[]) : [value];
      if (entry.each) expect(Array.isArray(value) && items.length > 0).toBe(true);
      for (const item of items) expect(checkContract(entry.contract, item)).toEqual({ ok: true, errors: [] });
    });
  });

  itWithDocs("names an existing doc page and section for every contract and fixture", () => {
    for (const source of [...names.map(contractSource), ...index.map((e) => e.source)]) {
      expect({ source, exists: sourceExists(source) }).toEqual({ source, exists: true });
    }
  });

  itWithDocs("has the properties, Required markers and types of the page's table", () => {
    for (const [name, check] of Object.entries(TABLE_CHECKS) as [ContractName, NonNullable<(typeof TABLE_CHECKS)[ContractName]>][]) {
      expectTable(name, schemaOf(name), tableAfter(contractSource(name), check.nth), check);
    }
  });

  itWithDocs("has, in each nested type, the properties, Required markers and types of that type's table", () => {
    for (const [source, name, path] of NESTED) {
      expect(sourceExists(source)).toBe(true);
      expectTable(`${name} ${path} (${source})`, at(schemaOf(name), path), tableAfter(source));
    }
  });

  itWithDocs('has the properties and types of the swagger definitions (v3)', () => {
    const swagger = JSON.parse(readFileSync(join(docs, 'Entries.swagger2.json'), 'utf8')) as unknown;
    for (const name of ['v3.EntryPut', 'v3.EntryGet'] as const) {
      const definition = resolvePointer(swagger, splitSource(contractSource(name)).anchor) as { properties: Record<string, Schema> };
      const properties = schemaOf(name).properties as Record<string, Schema>;
      expect(Object.keys(properties).sort()).toEqual(Object.keys(definition.properties).sort());
      for (const [key, documented] of Object.entries(definition.properties)) {
        const expected = documented.$ref ? 'object' : (documented.type as string);
        expect({ name, key, types: typesOf(properties[key]) }).toEqual({ name, key, types: expect.arrayContaining([expected]) });
      }
    }
    // The nested definitions: Journey in both, CustomField in EntryGet's Custom1..40 / OrgUnit1..6.
    for (const [pointer, name, key] of [
      ['/definitions/Journey', 'v3.EntryPut', 'Journey'],
      ['/definitions/Journey', 'v3.EntryGet', 'Journey'],
      ['/definitions/CustomField', 'v3.EntryGet', 'Custom40'],
      ['/definitions/CustomField', 'v3.EntryGet', 'OrgUnit6'],
    ] as const) {
      const definition = resolvePointer(swagger, pointer) as { properties: Record<string, Schema> };
      const nested = at(schemaOf(name), key).properties as Record<string, Schema>;
      expect(Object.keys(nested).sort()).toEqual(Object.keys(definition.properties).sort());
      for (const [prop, documented] of Object.entries(definition.properties)) {
        expect({ name, key, prop, types: typesOf(nested[prop]) }).toEqual({ name, key, prop, types: expect.arrayContaining([documented.type]) });
      }
    }
  });

  describe('the bodies the connector used to send are refused', () => {
    it('v3: a custom field as an object', () => {
      expectRefused('v3.EntryPut', { Custom1: { Value: 'PRJ-1' } }, '/Custom1: must be string');
    });
    it('v4 expense: customData without expenseSource (both expense contracts)', () => {
      for (const name of ['v4.UpdateReportExpense', 'v4.UpdateReportExpenseCompact'] as const) {
        expectRefused(name, { customData: CUSTOM_DATA }, "/: must have required property 'expenseSource'");
      }
    });
    it('v4 report header: customData without reportSource', () => {
      expectRefused('v4.UpdateReport', { customData: CUSTOM_DATA }, "/: must have required property 'reportSource'");
    });
    it('v4 allocation: customData at the top, without allocation and expenseIds', () => {
      expectRefused(
        'v4.UpdateReportAllocation',
        { customData: CUSTOM_DATA },
        "/: must have required property 'allocation'",
        "/: must have required property 'expenseIds'",
        "/: must NOT have additional property 'customData'",
      );
    });
  });

  describe('the right bodies pass', () => {
    it('v3', () => {
      expectAccepted('v3.EntryPut', { Custom1: 'PRJ-1' });
      expectAccepted('v3.EntryPut', { OrgUnit2: 'X' });
    });
    it('v4 expense (both contracts)', () => {
      expectAccepted('v4.UpdateReportExpense', { customData: CUSTOM_DATA, expenseSource: 'OTHER' });
      expectAccepted('v4.UpdateReportExpenseCompact', { customData: CUSTOM_DATA, expenseSource: 'OTHER' });
    });
    it('v4 report header', () => {
      expectAccepted('v4.UpdateReport', { customData: CUSTOM_DATA, reportSource: 'OTHER' });
    });
    it('v4 allocation', () => {
      expectAccepted('v4.UpdateReportAllocation', { allocation: { customData: CUSTOM_DATA }, expenseIds: ['E1'] });
    });
    it('OAuth requests', () => {
      expectAccepted('oauth.RefreshTokenRequest', { client_id: 'c', client_secret: 's', refresh_token: 'r', grant_type: 'refresh_token' });
      expectAccepted('oauth.AuthorizationCodeRequest', {
        client_id: 'c',
        client_secret: 's',
        redirect_uri: 'https://connector.example/callback',
        code: 'x',
        grant_type: 'authorization_code',
      });
    });
  });

  describe('refusals', () => {
    const v49 = 'x'.repeat(49);
    it('a value of 49 characters (48 pass)', () => {
      const customData = [{ id: 'custom9', value: v49 }];
      expectRefused('v4.UpdateReportExpense', { customData, expenseSource: 'OTHER' }, '/customData/0/value: must NOT have more than 48 characters');
      expectRefused('v4.UpdateReport', { customData, reportSource: 'OTHER' }, '/customData/0/value: must NOT have more than 48 characters');
      expectRefused('v4.UpdateReportAllocation', { allocation: { customData }, expenseIds: ['E1'] }, '/allocation/customData/0/value');
      expectRefused('v3.EntryPut', { Custom1: v49 }, '/Custom1: must NOT have more than 48 characters');
      expectAccepted('v3.EntryPut', { Custom1: 'x'.repeat(48) });
    });
    it('an unknown expenseSource or reportSource, naming the supported values', () => {
      expectRefused('v4.UpdateReportExpenseCompact', { expenseSource: 'API' }, '/expenseSource: must be equal to one of the allowed values: EA, MOB, OTHER, SE, TA, TR, UI');
      expectRefused('v4.UpdateReport', { reportSource: 'TA' }, '/reportSource: must be equal to one of the allowed values: EA, MOB, OTHER, SE, TR, UI');
    });
    it('an undocumented property in a request, at the top or nested', () => {
      expectRefused('v4.UpdateReport', { reportSource: 'OTHER', foo: 1 }, "/: must NOT have additional property 'foo'");
      expectRefused(
        'v4.UpdateReportExpense',
        { expenseSource: 'OTHER', customData: [{ id: 'custom9', value: 'A', listItemUrl: 'https://x' }] },
        "/customData/0: must NOT have additional property 'listItemUrl'",
      );
      expectRefused('v3.EntryPut', { Custom41: 'A' }, "/: must NOT have additional property 'Custom41'");
      expectRefused('oauth.RefreshTokenRequest', { client_id: 'c', client_secret: 's', refresh_token: 'r', grant_type: 'refresh_token', extra: 'x' }, "additional property 'extra'");
    });
    it('an empty custom field id, and no expense id', () => {
      expectRefused('v4.UpdateReportExpenseCompact', { expenseSource: 'OTHER', customData: [{ value: 'A' }] }, "/customData/0: must have required property 'id'");
      expectRefused('v4.UpdateReportExpenseCompact', { expenseSource: 'OTHER', customData: [{ id: '' }] }, '/customData/0/id: must NOT have fewer than 1 characters');
      expectRefused('v4.UpdateReportAllocation', { allocation: {}, expenseIds: [] }, '/expenseIds: must NOT have fewer than 1 items');
      expectRefused('v4.UpdateReportAllocation', { allocation: {}, expenseIds: 'E1' }, '/expenseIds: must be array');
    });
    it('OAuth requests with the wrong grant or a missing field', () => {
      expectRefused('oauth.RefreshTokenRequest', { client_id: 'c', client_secret: 's', refresh_token: 'r', grant_type: 'password' }, "/grant_type: must be equal to constant 'refresh_token'");
      expectRefused(
        'oauth.AuthorizationCodeRequest',
        { client_id: 'c', client_secret: 's', code: 'x', grant_type: 'authorization_code' },
        "/: must have required property 'redirect_uri'",
      );
    });
    it('expires_in as "3600" or 3600, never "soon"', () => {
      expectAccepted('oauth.TokenResponse', { access_token: 'a', expires_in: '3600' });
      expectAccepted('oauth.TokenResponse', { access_token: 'a', expires_in: 3600, refresh_expires_in: 1700000000 });
      expectAccepted('oauth.TokenResponse', { access_token: 'a', refresh_expires_in: '1700000000' });
      expectRefused('oauth.TokenResponse', { access_token: 'a', expires_in: 'soon' }, '/expires_in');
      expectRefused('oauth.TokenResponse', { expires_in: '3600' }, "/: must have required property 'access_token'");
    });
    it('an oauth error with code, error and description passes; one with neither code nor error does not', () => {
      expectAccepted('oauth.Error', { code: 108, error: 'invalid_grant', error_description: 'bad or expired refresh token' });
      expectAccepted('oauth.Error', { code: '108' });
      expectAccepted('oauth.Error', { error: 'invalid_grant', geolocation: 'https://us.api.concursolutions.com' });
      expectRefused('oauth.Error', { error_description: 'bad or expired refresh token' }, 'must match a schema in anyOf');
      expectRefused('oauth.Error', { code: null, error: null }, 'must match a schema in anyOf');
    });
    it('a response missing a Required field', () => {
      const allocation = fixture('v4.allocations.allocation.response.json') as Record<string, unknown>;
      delete allocation.expenseId;
      expectRefused('v4.ReportAllocationResponse', allocation, "/: must have required property 'expenseId'");
      const report = fixture('v4.reports.report-details.response.json') as Record<string, unknown>;
      delete (report.reportTotal as Record<string, unknown>).currencyCode;
      expectRefused('v4.ReportDetails', report, "/reportTotal: must have required property 'currencyCode'");
      expectRefused('v3.Error', { Error: { 'Server-Time': 'now' } }, "/Error: must have required property 'Message'");
      expectRefused('v4.ErrorMessage', { errorMessage: 'x', httpStatus: '400 BAD_REQUEST', path: '/p' }, "/: must have required property 'timestamp'");
    });
    it('non-required nulls pass; a Required property may not be null', () => {
      const allocation = { ...(fixture('v4.allocations.allocation.response.json') as object), accountCode: null, customData: null, allocationAmount: null };
      expectAccepted('v4.ReportAllocationResponse', allocation);
      expectRefused('v4.ReportAllocationResponse', { ...allocation, allocationId: null }, '/allocationId: must be string');
      expectAccepted('v3.EntryGet', { ID: 'e1', Custom1: null, Custom2: { Type: 'Text', Value: 'PRJ-1', Code: null, ListItemID: null }, Journey: null });
      expectRefused('v3.EntryGet', { Custom1: 'PRJ-1' }, '/Custom1: must be object,null');
      expectAccepted('v3.Error', { Error: { Message: 'Bad Request', 'Server-Time': null, Id: null } });
      expectAccepted('oauth.TokenResponse', { access_token: 'a', refresh_token: null, expires_in: null });
    });
    it('responses keep undocumented properties (listItemUrl)', () => {
      const report = fixture('v4.reports.report-details.response.json') as { customData: { listItemUrl?: string }[] };
      expect(report.customData[0].listItemUrl).toBeDefined();
      expectAccepted('v4.ReportDetails', { ...report, somethingNew: { a: 1 } });
    });
  });

  describe('errors', () => {
    it('at most 10 of at most 200 characters for a hostile value', () => {
      const hostile: Record<string, unknown> = { expenseSource: 'nope', customData: 'x'.repeat(10_000) };
      for (let i = 0; i < 5000; i++) hostile[`undocumented_${i}_${'y'.repeat(i % 7 === 0 ? 1000 : 3)}`] = i;
      hostile['z'.repeat(100_000)] = 1;
      for (const name of ['v4.UpdateReportExpense', 'v4.UpdateReport', 'v3.EntryPut', 'oauth.RefreshTokenRequest'] as const) {
        const check = checkContract(name, hostile);
        expect(check.ok).toBe(false);
        expect(check.errors.length).toBeGreaterThan(0);
        expect(check.errors.length).toBeLessThanOrEqual(10);
        for (const e of check.errors) expect(e.length).toBeLessThanOrEqual(200);
      }
      const deep = { expenseSource: 'OTHER', customData: [{ id: 'custom9', ['k'.repeat(5000)]: 1 }] };
      for (const e of expectRefused('v4.UpdateReportExpense', deep, '/customData/0: must NOT have additional property')) {
        expect(e.length).toBeLessThanOrEqual(200);
      }
    });
    it('a non-object is refused with one line', () => {
      expect(checkContract('v4.UpdateReport', 'text')).toEqual({ ok: false, errors: ['/: must be object'] });
      expect(checkContract('v4.UpdateReport', null).ok).toBe(false);
      expect(checkContract('v4.UpdateReport', [1]).ok).toBe(false);
    });
    it('assertContract throws ContractViolation naming the contract and the errors', () => {
      expect(() => assertContract('v4.UpdateReport', { reportSource: 'OTHER' })).not.toThrow();
      try {
        assertContract('v4.UpdateReport', { customData: CUSTOM_DATA });
        throw new Error('not thrown');
      } catch (error) {
        expect(error).toBeInstanceOf(ContractViolation);
        const violation = error as ContractViolation;
        expect(violation.contract).toBe('v4.UpdateReport');
        expect(violation.errors).toEqual(["/: must have required property 'reportSource'"]);
        expect(violation.message).toBe("request body does not match v4.UpdateReport: /: must have required property 'reportSource'");
      }
    });
  });
});
