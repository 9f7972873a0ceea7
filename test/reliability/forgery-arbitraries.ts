/**
 * Generators for the forgery corpus (forgery.reliability-spec.ts): valid Concur launches and
 * mutations of them, each labelled with what the connector must answer according to
 * ../shared/CONCUR-PROTOCOL.md. Signing here is an independent implementation of the protocol
 * (node:crypto only), not the connector's own signature.ts, so a fault there cannot hide itself.
 */
import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import type { SandboxIds } from '../harness.js';

export type Version = 1 | 4;
export type Algorithm = 'sha1' | 'sha256';
export type Level = 'HEADER' | 'ENTRY' | 'ALLOCATION';
const LEVELS: readonly Level[] = ['HEADER', 'ENTRY', 'ALLOCATION'];

/**
 * What the answer to one URL must be.
 * - accept: correctly signed, fresh nonce, valid launch: 303 to /launch/s/{id}.
 * - refuse: correctly signed but not acceptable for another reason the connector documents
 *   (invalid unsigned input, an item that is not allowed, a version the tenant has off): 4xx.
 * - forgery: not what Concur signed: 4xx, never accepted.
 * - replay: correctly signed, but its nonce was accepted before: 4xx, never accepted.
 * - tolerated: the signed content in a spelling the protocol does not define (base64url,
 *   form-encoded '+', extra parameters...): accepted or 4xx, never 5xx.
 * - observe: the original URL after a forgery whose MAC still matched (a boundary shift):
 *   whether the nonce was used up is recorded, not asserted.
 * - race: one fresh URL sent `parallel` times at once: exactly one accepted.
 */
export type Expect = 'accept' | 'refuse' | 'forgery' | 'replay' | 'tolerated' | 'observe' | 'race';

export interface Step {
  url: string;
  expect: Expect;
  /** The untouched original sent after a forgery (is its nonce still unused?). */
  followUp?: boolean;
  /** Send this many copies at once (expect 'race'). */
  parallel?: number;
}

export interface Case {
  index: number;
  op: string;
  /** The op, plus `~accept` / `~tolerated` where the mutation turned out not to change what is signed. */
  kind: string;
  version: Version;
  tenant: string;
  steps: Step[];
}

export interface TenantDef {
  id: string;
  domains: string[];
  username: string;
  password: string;
  versions: Version[];
  v4Algorithm: Algorithm;
  v4Fields: Record<Level, string[]>;
}

export interface Ctx {
  /** http://127.0.0.1:port of the app (the sandbox's item URLs live there). */
  origin: string;
  paths: Record<Version, string>;
  tenants: TenantDef[];
  ids: SandboxIds;
}

/** The signed values of the base string, in its order (nonce and credentials follow). */
export const BASE: Record<Version, readonly string[]> = {
  1: ['xcompanydomain', 'xuserid', 'itemurl'],
  4: ['company_domain', 'logged_in_user_id', 'report_owner_user_id', 'report_owner_employee_id', 'item_url'],
};
const UNSIGNED = ['source', 'custom_field_launched_from', 'expense_ids', 'is_mobile', 'client_auth_code', 'language_code'];
const KNOWN: Record<Version, ReadonlySet<string>> = {
  1: new Set([...BASE[1], 'nonce', 'signature']),
  4: new Set([...BASE[4], 'nonce', 'signature', ...UNSIGNED]),
};

// ---------------------------------------------------------------------------------------------
// The protocol's signature, written from CONCUR-PROTOCOL.md sections 2 and 3.

export function baseString(version: Version, values: Record<string, string>, nonce: string, username: string, password: string, sep = ''): string {
  return [...BASE[version].map((name) => values[name] ?? ''), username, password, nonce].join(sep);
}

/** HMAC keyed with the username lower-cased and the password as registered. */
export function macOf(version: Version, algorithm: string, values: Record<string, string>, nonce: string, username: string, password: string): Buffer {
  return createHmac(algorithm, username.toLowerCase() + password)
    .update(baseString(version, values, nonce, username, password), 'utf8')
    .digest();
}

export interface Launch {
  tenant: TenantDef;
  version: Version;
  level?: Level;
  /** Signed values (URL-decoded), BASE[version] only. */
  values: Record<string, string>;
  nonce: string;
  /** v4's unsigned parameters, in query order. */
  unsigned: Array<[string, string]>;
  /** base64, before URL encoding */
  signature: string;
}

function algorithmOf(tenant: TenantDef, version: Version): Algorithm {
  return version === 1 ? 'sha1' : tenant.v4Algorithm;
}

function signed(l: Omit<Launch, 'signature'>, tenant: TenantDef = l.tenant, algorithm: string = algorithmOf(tenant, l.version)): Launch {
  const signature = macOf(l.version, algorithm, l.values, l.nonce, tenant.username, tenant.password).toString('base64');
  return { ...l, signature };
}

// ---------------------------------------------------------------------------------------------
// Queries as sent: raw (percent-encoded) pieces, so mutations control every byte.

interface Piece {
  name: string;
  /** undefined: a piece without '=' */
  value?: string;
}

const enc = encodeURIComponent;

function piecesOf(l: Launch): Piece[] {
  const named: Array<[string, string]> = [
    ...BASE[l.version].map((name): [string, string] => [name, l.values[name]]),
    ...l.unsigned,
    ['nonce', l.nonce],
    ['signature', l.signature],
  ];
  return named.map(([name, value]) => ({ name: enc(name), value: enc(value) }));
}

function queryOf(pieces: Piece[]): string {
  return pieces.map((p) => (p.value === undefined ? p.name : `${p.name}=${p.value}`)).join('&');
}

function urlOf(ctx: Ctx, version: Version, pieces: Piece[], path = ctx.paths[version]): string {
  return `${path}?${queryOf(pieces)}`;
}

export function originalUrl(ctx: Ctx, l: Launch): string {
  return urlOf(ctx, l.version, piecesOf(l));
}

function withRaw(pieces: Piece[], name: string, raw: string | undefined): Piece[] {
  const at = pieces.findIndex((p) => p.name === name);
  const out = pieces.slice();
  if (at < 0) out.push({ name, value: raw });
  else out[at] = { name, value: raw };
  return out;
}

function without(pieces: Piece[], name: string): Piece[] {
  return pieces.filter((p) => p.name !== name);
}

function decodedOf(l: Launch, name: string): string {
  if (name === 'nonce') return l.nonce;
  if (name === 'signature') return l.signature;
  return l.values[name] ?? l.unsigned.find(([n]) => n === name)?.[1] ?? '';
}

/** Every UTF-8 byte as %XX. */
function encAll(s: string, lower = false): string {
  const hex = [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  return lower ? hex : hex.toUpperCase();
}

// ---------------------------------------------------------------------------------------------
// A strict reading of a URL, per the protocol: split on '&', URL-decode each name and value once.

interface Decoded {
  version?: Version;
  params: Map<string, string[]>;
}

function strictDecode(ctx: Ctx, url: string): Decoded | undefined {
  const at = url.indexOf('?');
  const path = (at < 0 ? url : url.slice(0, at)).toLowerCase().replace(/\/+$/, '');
  const version = ([1, 4] as const).find((v) => ctx.paths[v].toLowerCase() === path);
  const params = new Map<string, string[]>();
  try {
    for (const piece of (at < 0 ? '' : url.slice(at + 1)).split('&')) {
      if (piece === '') continue;
      const eq = piece.indexOf('=');
      const name = decodeURIComponent(eq < 0 ? piece : piece.slice(0, eq));
      const value = decodeURIComponent(eq < 0 ? '' : piece.slice(eq + 1));
      params.set(name, [...(params.get(name) ?? []), value]);
    }
  } catch {
    return undefined;
  }
  return { version, params };
}

/**
 * Whether the URL carries exactly the signed content of `l`. `spaced`: the connector's documented
 * tolerance of form encoding (a '+' in a signed value may stand for a space). `missingEmpty`:
 * v4's report_owner_employee_id absent where Concur signed it empty.
 */
function carriesSigned(d: Decoded, l: Launch, opts: { spaced?: boolean; missingEmpty?: boolean } = {}): boolean {
  if (d.version !== l.version) return false;
  for (const name of BASE[l.version]) {
    const got = d.params.get(name) ?? (opts.missingEmpty && name === 'report_owner_employee_id' ? [''] : undefined);
    if (got?.length !== 1) return false;
    const value = opts.spaced ? got[0].replaceAll('+', ' ') : got[0];
    if (value !== l.values[name]) return false;
  }
  const one = (name: string) => (d.params.get(name)?.length === 1 ? d.params.get(name)![0] : undefined);
  return one('nonce') === l.nonce && one('signature') === l.signature;
}

/**
 * Whether the connector, following the protocol (plus its '+'-as-space tolerance), would find the
 * signature of this URL valid, and so use up its nonce. Errs towards true: it only decides
 * whether the original is then expected to be accepted (false) or only observed (true).
 */
export function macMayMatch(ctx: Ctx, url: string): boolean {
  const d = strictDecode(ctx, url);
  if (!d?.version) return false;
  const version = d.version;
  for (const [name, values] of d.params) if (KNOWN[version].has(name) && values.length > 1) return false;
  const one = (name: string) => d.params.get(name)?.[0];
  const domain = (one(version === 1 ? 'xcompanydomain' : 'company_domain') ?? '').toLowerCase();
  const tenant = ctx.tenants.find((t) => t.domains.some((x) => x.toLowerCase() === domain));
  const nonce = one('nonce');
  const signature = one('signature')?.replaceAll(' ', '+');
  if (!tenant || !tenant.versions.includes(version) || !nonce || !signature) return false;
  const received = Buffer.from(signature, 'base64');
  const values = Object.fromEntries(BASE[version].map((name) => [name, one(name) ?? '']));
  const spaced = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v.replaceAll('+', ' ')]));
  const algorithm = algorithmOf(tenant, version);
  return [values, spaced].some((v) => macOf(version, algorithm, v, nonce, tenant.username, tenant.password).equals(received));
}

// ---------------------------------------------------------------------------------------------
// Valid launches.

/** A deterministic PRNG (mulberry32), seeded by fast-check, for the choices inside one mutation. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor(this.next() * n);
  }
  bool(): boolean {
    return this.next() < 0.5;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}

const ALNUM = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'];
const PUNCT = [...'.-_@+ &=%#/?;:,\'"<>()*!~$[]{}|\\^`'];
const UNICODE = ['ü', 'ß', 'é', 'Å', 'ø', 'ç', 'ñ', '漢', '字', '€', '😀', 'Ω'];
const textArb = (minLength: number, maxLength: number) =>
  fc.string({
    unit: fc.oneof(
      { arbitrary: fc.constantFrom(...ALNUM), weight: 12 },
      { arbitrary: fc.constantFrom(...PUNCT), weight: 3 },
      { arbitrary: fc.constantFrom(...UNICODE), weight: 1 },
    ),
    minLength,
    maxLength,
  });
const idArb = fc.stringMatching(/^[A-Za-z0-9$_.-]{1,32}$/).filter((s) => !/^\.+$/.test(s));
const caseOf = (s: string, how: number) => (how === 1 ? s.toUpperCase() : how === 2 ? s.toLowerCase() : s);

export interface LaunchSpec {
  tenant: number;
  version: Version;
  level?: Level;
  values: Record<string, string>;
  unsigned: Array<[string, string]>;
  /** The first 24 characters of the nonce GUID; the rest is the case number, so nonces never collide. */
  nonceHead: string;
  upperNonce: boolean;
}

function domainArb(t: TenantDef) {
  return fc.tuple(fc.constantFrom(...t.domains), fc.constantFrom(0, 0, 0, 1, 3)).map(([d, how]) =>
    how === 3 ? [...d].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('') : caseOf(d, how),
  );
}

function v1Arb(ctx: Ctx, t: TenantDef): fc.Arbitrary<Record<string, string>> {
  const sandbox = `${ctx.origin}/sandbox/concur`;
  const userArb = fc.oneof(
    { arbitrary: fc.constantFrom('sam.employee@sandbox.example.com', 'jürgen.straße@müller-gmbh.de', 'ann+expenses@globex.example', "O'Brien, Pat & Co", 'li na@initech.example'), weight: 3 },
    { arbitrary: fc.tuple(textArb(1, 30), fc.constantFrom('@sandbox.example.com', '@globex.example', '')).map(([a, b]) => a + b), weight: 6 },
    { arbitrary: fc.integer({ min: 200, max: 256 }).map((n) => 'x'.repeat(n)), weight: 1 },
  );
  const itemArb = fc
    .record({
      base: fc.constantFrom(sandbox, sandbox, sandbox, 'https://www.concursolutions.com', 'https://us.api.concursolutions.com', 'https://US.API.concursolutions.com:443'),
      shape: fc.constantFrom('v3', 'v3', 'V3', 'v1.1'),
      entry: fc.oneof(fc.constantFrom(...ctx.ids.entryIds), idArb),
      report: idArb,
      slash: fc.boolean(),
    })
    .map(({ base, shape, entry, report, slash }) => {
      const path =
        shape === 'v1.1'
          ? `/api/expense/expensereport/v1.1/report/${enc(report)}/entry/${enc(entry)}`
          : `/${shape === 'V3' ? 'API/V3.0/Expense/Entries' : 'api/v3.0/expense/entries'}/${enc(entry)}`;
      return `${base}${path}${slash ? '/' : ''}`;
    });
  return fc.record({ xcompanydomain: domainArb(t), xuserid: userArb, itemurl: itemArb });
}

function v4Arb(ctx: Ctx, t: TenantDef): fc.Arbitrary<{ level: Level; values: Record<string, string>; unsigned: Array<[string, string]> }> {
  const sandbox = `${ctx.origin}/sandbox/concur`;
  const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });
  return fc
    .record({
      level: fc.constantFrom(...LEVELS),
      domain: domainArb(t),
      owner: fc.oneof({ arbitrary: fc.constant(ctx.ids.userId), weight: 3 }, { arbitrary: fc.uuid(), weight: 1 }),
      ownerCase: fc.constantFrom(0, 0, 1),
      segmentCase: fc.constantFrom(0, 0, 1, 2),
      delegate: opt(fc.oneof(fc.uuid(), fc.uuid().map((u) => u.toUpperCase()))),
      employee: fc.oneof(fc.constantFrom('', 'E1001', 'E12345'), textArb(1, 24)),
      base: fc.constantFrom(sandbox, sandbox, sandbox, 'https://us.api.concursolutions.com', 'https://eu2.api.concursolutions.com'),
      context: fc.constantFrom('TRAVELER', 'TRAVELER', 'PROXY', 'traveler'),
      report: fc.oneof(fc.constant(ctx.ids.reportId), idArb),
      expense: fc.oneof(fc.constantFrom(...ctx.ids.expenseIds), idArb),
      allocation: fc.oneof(fc.constantFrom(...ctx.ids.allocationIds), idArb),
      source: opt(fc.constantFrom('LEVEL', 'level', '')),
      field: opt(fc.integer({ min: -1, max: 5 })),
      mobile: opt(fc.constantFrom('true', 'false', 'TRUE', 'False', '')),
      authCode: opt(fc.stringMatching(/^[A-Za-z0-9._~-]{1,64}$/)),
      language: opt(fc.constantFrom('en', 'en-GB', 'de', 'de-CH', 'fr', 'es', 'ja', 'pt_BR', 'EN', 'zh-TW', '')),
      expenseIds: opt(fc.array(fc.oneof(fc.constantFrom(...ctx.ids.expenseIds), idArb.filter((s) => !s.includes('$'))), { minLength: 1, maxLength: 4 })),
      separator: fc.constantFrom(',', ', '),
    })
    .map((g) => {
      const report = `${g.base}/expensereports/v4/users/${enc(caseOf(g.owner, g.segmentCase))}/context/${g.context}/reports/${enc(g.report)}`;
      const item =
        g.level === 'HEADER' ? report : g.level === 'ENTRY' ? `${report}/expenses/${enc(g.expense)}` : `${report}/allocations/${enc(g.allocation)}`;
      const owner = caseOf(g.owner, g.ownerCase);
      const values = {
        company_domain: g.domain,
        logged_in_user_id: g.delegate ?? owner,
        report_owner_user_id: owner,
        report_owner_employee_id: g.employee,
        item_url: item,
      };
      const allowed = t.v4Fields[g.level];
      const unsigned: Array<[string, string]> = [];
      if (g.source !== undefined) unsigned.push(['source', g.source === 'LEVEL' ? g.level : g.source === 'level' ? g.level.toLowerCase() : '']);
      if (g.field !== undefined) unsigned.push(['custom_field_launched_from', g.field < 0 ? '' : allowed[g.field % allowed.length]]);
      if (g.level === 'ALLOCATION' && g.expenseIds) unsigned.push(['expense_ids', g.expenseIds.join(g.separator)]);
      if (g.mobile !== undefined) unsigned.push(['is_mobile', g.mobile]);
      if (g.authCode !== undefined) unsigned.push(['client_auth_code', g.authCode]);
      if (g.language !== undefined) unsigned.push(['language_code', g.language]);
      return { level: g.level, values, unsigned };
    });
}

function launchArbFor(ctx: Ctx, tenant: number, version: Version): fc.Arbitrary<LaunchSpec> {
  const t = ctx.tenants[tenant];
  const nonce = fc.record({ nonceHead: fc.uuid().map((u) => u.slice(0, 24)), upperNonce: fc.boolean() });
  if (version === 1) {
    return fc.record({ values: v1Arb(ctx, t), n: nonce }).map(({ values, n }) => ({ tenant, version, values, unsigned: [], ...n }));
  }
  return fc.record({ v: v4Arb(ctx, t), n: nonce }).map(({ v, n }) => ({ tenant, version, ...v, ...n }));
}

function launchArb(ctx: Ctx): fc.Arbitrary<LaunchSpec> {
  const weights = [3, 2, 1];
  return fc
    .oneof(...ctx.tenants.map((_, i) => ({ arbitrary: fc.constant(i), weight: weights[i] ?? 1 })))
    .chain((tenant) => fc.constantFrom(...ctx.tenants[tenant].versions).chain((version) => launchArbFor(ctx, tenant, version)));
}

function toLaunch(ctx: Ctx, spec: LaunchSpec, index: number, tag: string): Launch {
  const nonce = `${spec.nonceHead}${tag}${index.toString(16).padStart(11, '0')}`;
  return signed({
    tenant: ctx.tenants[spec.tenant],
    version: spec.version,
    level: spec.level,
    values: spec.values,
    unsigned: spec.unsigned,
    nonce: spec.upperNonce ? nonce.toUpperCase() : nonce,
  });
}

// ---------------------------------------------------------------------------------------------
// Mutations.

interface OpInput {
  ctx: Ctx;
  l: Launch;
  /** Another valid launch of the same tenant and version (never sent by itself). */
  other: Launch;
  rnd: Rng;
}

interface OpResult {
  kind: string;
  steps: Step[];
}

type Op = (i: OpInput) => OpResult;

/**
 * A mutated URL expected to be a forgery, unless it turns out to carry exactly the signed content
 * (then it is a correctly signed launch: accept) or that content under the connector's documented
 * form-encoding tolerance (tolerated). After a forgery, the untouched original: it must still be
 * accepted, since a refused launch must not use up the nonce; where the forgery's MAC still
 * matched (a boundary shift), the original is only observed.
 */
function forge(i: OpInput, kind: string, url: string, declared: Expect = 'forgery'): OpResult {
  let expect = declared;
  if (declared === 'forgery') {
    const d = strictDecode(i.ctx, url);
    if (d && carriesSigned(d, i.l)) expect = 'accept';
    else if (d && (carriesSigned(d, i.l, { spaced: true }) || carriesSigned(d, i.l, { missingEmpty: true }))) expect = 'tolerated';
  }
  const steps: Step[] = [{ url, expect }];
  if (expect === 'forgery') {
    steps.push({ url: originalUrl(i.ctx, i.l), expect: macMayMatch(i.ctx, url) ? 'observe' : 'accept', followUp: true });
  }
  return { kind: expect === declared ? kind : `${kind}~${expect}`, steps };
}

/** A spelling that decodes to exactly the signed content: must be accepted. Checks itself. */
function equivalent(i: OpInput, kind: string, url: string): OpResult {
  const d = strictDecode(i.ctx, url);
  if (!d || !carriesSigned(d, i.l)) throw new Error(`test bug: ${kind} changed the signed content: ${url}`);
  return { kind, steps: [{ url, expect: 'accept' }] };
}

const pieces = (i: OpInput) => piecesOf(i.l);
const url = (i: OpInput, ps: Piece[], path?: string) => urlOf(i.ctx, i.l.version, ps, path);
const valueFields = (l: Launch) => [...BASE[l.version], 'nonce'];
/** Signed parameters with a value to re-spell (v4's report_owner_employee_id may be empty). */
const spelledFields = (l: Launch) => [...BASE[l.version], 'nonce', 'signature'].filter((name) => decodedOf(l, name) !== '');
const setValue = (i: OpInput, name: string, value: string) => url(i, withRaw(pieces(i), name, enc(value)));
const swapCase = (c: string) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase());

function nextChar(c: string): string {
  const cp = c.codePointAt(0)! + 1;
  return cp >= 0xd800 && cp <= 0xdfff ? 'x' : String.fromCodePoint(cp);
}

const HOMOGLYPHS: Record<string, string> = {
  a: '\u0430', e: '\u0435', o: '\u043e', p: '\u0440', c: '\u0441', x: '\u0445', i: '\u0456', s: '\u0455',
  A: '\u0410', E: '\u0415', O: '\u041e', C: '\u0421', S: '\u0405', T: '\u0422', '-': '\u2010', '.': '\u2024', '0': '\u041e', '1': 'l',
};

/** Re-signs the launch's values and nonce with other credentials or another construction. */
function resigned(i: OpInput, mac: Buffer | string, l: Launch = i.l): string {
  const signature = typeof mac === 'string' ? mac : mac.toString('base64');
  return urlOf(i.ctx, l.version, piecesOf({ ...l, signature }));
}

function otherTenant(i: OpInput, version: Version = i.l.version): TenantDef | undefined {
  const others = i.ctx.tenants.filter((t) => t !== i.l.tenant && t.versions.includes(version));
  return others.length ? i.rnd.pick(others) : undefined;
}

const domainField = (v: Version) => (v === 1 ? 'xcompanydomain' : 'company_domain');

const OPS: Record<string, { versions: Version[]; run: Op }> = {
  control: { versions: [1, 4], run: (i) => ({ kind: 'control', steps: [{ url: originalUrl(i.ctx, i.l), expect: 'accept' }] }) },

  // --- one signed value altered (every base-string value and the nonce) ---
  'value.char-changed': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(valueFields(i.l));
      const cps = [...decodedOf(i.l, name)];
      if (cps.length === 0) cps.push('x');
      const at = i.rnd.int(cps.length);
      const c = cps[at];
      cps[at] = i.rnd.pick([swapCase(c), nextChar(c), 'x', '0', '-', '.'].filter((x) => x !== c));
      return forge(i, 'value.char-changed', setValue(i, name, cps.join('')));
    },
  },
  'value.truncated': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(valueFields(i.l));
      const cps = [...decodedOf(i.l, name)];
      return forge(i, 'value.truncated', setValue(i, name, cps.slice(0, i.rnd.int(cps.length)).join('')));
    },
  },
  'value.extended': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(valueFields(i.l));
      const extra = i.rnd.pick([...ALNUM, ...PUNCT, ...UNICODE]);
      const value = decodedOf(i.l, name);
      return forge(i, 'value.extended', setValue(i, name, i.rnd.bool() ? value + extra : extra + value));
    },
  },
  'value.dropped': {
    versions: [1, 4],
    run: (i) => forge(i, 'value.dropped', url(i, without(pieces(i), i.rnd.pick(valueFields(i.l))))),
  },
  'value.emptied': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(valueFields(i.l));
      return forge(i, 'value.emptied', url(i, withRaw(pieces(i), name, i.rnd.bool() ? '' : undefined)));
    },
  },
  'value.case-changed': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(valueFields(i.l));
      const value = decodedOf(i.l, name);
      const how = i.rnd.int(3);
      const changed = how === 0 ? value.toUpperCase() : how === 1 ? value.toLowerCase() : [...value].map(swapCase).join('');
      return forge(i, 'value.case-changed', setValue(i, name, changed));
    },
  },
  'value.homoglyph': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(valueFields(i.l));
      const cps = [...decodedOf(i.l, name)];
      const at = cps.findIndex((c, k) => k >= i.rnd.int(cps.length) && HOMOGLYPHS[c]);
      const first = at >= 0 ? at : cps.findIndex((c) => HOMOGLYPHS[c]);
      if (first >= 0) cps[first] = HOMOGLYPHS[cps[first]];
      else cps.push('\u0430');
      return forge(i, 'value.homoglyph', setValue(i, name, cps.join('')));
    },
  },
  'value.invisible-char': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(valueFields(i.l));
      const cps = [...decodedOf(i.l, name)];
      cps.splice(i.rnd.int(cps.length + 1), 0, i.rnd.pick(['\u200b', '\u200d', '\ufeff', '\u00ad', '\u2060']));
      return forge(i, 'value.invisible-char', setValue(i, name, cps.join('')));
    },
  },
  'value.unicode-normalised': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(valueFields(i.l));
      const value = decodedOf(i.l, name);
      let changed = value.normalize(i.rnd.pick(['NFD', 'NFKD'] as const));
      if (changed === value) {
        // Nothing to decompose: add a combining accent, which NFC would compose with the letter before it.
        const cps = [...value];
        cps.splice(1 + i.rnd.int(cps.length), 0, '\u0301');
        changed = cps.join('');
      }
      return forge(i, 'value.unicode-normalised', setValue(i, name, changed));
    },
  },
  'value.null-byte': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(valueFields(i.l));
      const cps = [...decodedOf(i.l, name)];
      cps.splice(i.rnd.pick([0, cps.length, i.rnd.int(cps.length + 1)]), 0, '\u0000');
      return forge(i, 'value.null-byte', setValue(i, name, cps.join('')));
    },
  },
  'value.control-char': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(valueFields(i.l));
      const cps = [...decodedOf(i.l, name)];
      cps.splice(i.rnd.int(cps.length + 1), 0, i.rnd.pick(['\n', '\r\n', '\t', '\u007f', '\u001b', '\u0085', '\u2028']));
      return forge(i, 'value.control-char', setValue(i, name, cps.join('')));
    },
  },
  'value.overlong': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(valueFields(i.l));
      const value = decodedOf(i.l, name);
      const limit = name === 'itemurl' || name === 'item_url' ? 2048 : 256;
      const pad = i.rnd.pick(['a', '0', '-', 'ü']);
      return forge(i, 'value.overlong', setValue(i, name, value + pad.repeat(Math.max(1, limit + 1 - value.length + i.rnd.int(50)))));
    },
  },
  'value.swapped-fields': {
    versions: [1, 4],
    run: (i) => {
      const [a, b] = i.rnd.shuffle(valueFields(i.l));
      const ps = withRaw(withRaw(pieces(i), a, enc(decodedOf(i.l, b))), b, enc(decodedOf(i.l, a)));
      return forge(i, 'value.swapped-fields', url(i, ps));
    },
  },
  'value.from-other-launch': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(valueFields(i.l));
      return forge(i, 'value.from-other-launch', setValue(i, name, decodedOf(i.other, name)));
    },
  },
  // The base string has no separators: moving characters across the boundary of two adjacent
  // values keeps the MAC valid. Only the checks after the signature can refuse these.
  'value.boundary-shift': {
    versions: [1, 4],
    run: (i) => {
      const names = BASE[i.l.version];
      const j = i.rnd.int(names.length - 1);
      const [a, b] = [names[j], names[j + 1]];
      const va = [...i.l.values[a]];
      const vb = [...i.l.values[b]];
      const leftToRight = va.length > 0 && (vb.length === 0 || i.rnd.bool());
      const k = 1 + i.rnd.int(Math.min(4, leftToRight ? va.length : vb.length));
      if (leftToRight) vb.unshift(...va.splice(va.length - k, k));
      else va.push(...vb.splice(0, k));
      return forge(i, 'value.boundary-shift', url(i, withRaw(withRaw(pieces(i), a, enc(va.join(''))), b, enc(vb.join('')))));
    },
  },

  // --- the same values, spelt differently ---
  'encoding.all-percent': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(spelledFields(i.l));
      return equivalent(i, 'encoding.all-percent', url(i, withRaw(pieces(i), name, encAll(decodedOf(i.l, name)))));
    },
  },
  'encoding.lowercase-hex': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(spelledFields(i.l));
      return equivalent(i, 'encoding.lowercase-hex', url(i, withRaw(pieces(i), name, encAll(decodedOf(i.l, name), true))));
    },
  },
  'encoding.partial': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(spelledFields(i.l));
      const raw = [...decodedOf(i.l, name)].map((c) => (i.rnd.bool() ? encAll(c, i.rnd.bool()) : enc(c))).join('');
      return equivalent(i, 'encoding.partial', url(i, withRaw(pieces(i), name, raw)));
    },
  },
  'encoding.minimal': {
    versions: [1, 4],
    run: (i) => {
      const ps = pieces(i).map((p, k) => {
        const name = decodeURIComponent(p.name);
        const value = k < BASE[i.l.version].length || name === 'nonce' || name === 'signature' ? decodedOf(i.l, name) : undefined;
        return value === undefined ? p : { name: p.name, value: [...value].map((c) => (/^[A-Za-z0-9\-._~!$'()*,;:@/?]$/.test(c) ? c : encAll(c))).join('') };
      });
      return equivalent(i, 'encoding.minimal', url(i, ps));
    },
  },
  'encoding.double': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(spelledFields(i.l));
      const cps = [...decodedOf(i.l, name)];
      const at = i.rnd.int(cps.length);
      const raw = cps.map((c, k) => (k === at ? encAll(c).replaceAll('%', '%25') : enc(c))).join('');
      return forge(i, 'encoding.double', url(i, withRaw(pieces(i), name, raw)));
    },
  },
  'encoding.not-utf8': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(spelledFields(i.l).filter((n) => n !== 'signature'));
      const cps = [...decodedOf(i.l, name)];
      const latin = cps.findIndex((c) => c.codePointAt(0)! >= 0x80 && c.codePointAt(0)! <= 0xff);
      const at = latin >= 0 ? latin : i.rnd.int(cps.length);
      const code = (cps[at] ?? 'A').codePointAt(0)!;
      // ISO-8859-1 for a Latin-1 letter; otherwise an overlong UTF-8 form of an ASCII one.
      const bad =
        latin >= 0 ? `%${code.toString(16).toUpperCase()}` : code < 0x80 ? `%${(0xc0 | (code >> 6)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}` : '%ED%A0%80';
      const raw = cps.map((c, k) => (k === at ? bad : enc(c))).join('');
      return forge(i, 'encoding.not-utf8', url(i, withRaw(pieces(i), name, raw)));
    },
  },
  'encoding.raw-bytes': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(spelledFields(i.l).filter((n) => n !== 'signature'));
      const cps = [...decodedOf(i.l, name)];
      if (cps.some((c) => c.codePointAt(0)! >= 0x80)) {
        // Raw UTF-8 bytes instead of %XX (the HTTP client sends the path as Latin-1, byte for byte).
        // Node's HTTP parser answers a raw byte above 0x7F with 400 before the app sees it.
        const raw = cps.map((c) => (c.codePointAt(0)! < 0x80 ? enc(c) : Buffer.from(c, 'utf8').toString('latin1'))).join('');
        return forge(i, 'encoding.raw-utf8', url(i, withRaw(pieces(i), name, raw)), 'tolerated');
      }
      const at = i.rnd.int(cps.length + 1);
      const raw = [...cps.slice(0, at).map(enc), '\u00e9', ...cps.slice(at).map(enc)].join('');
      return forge(i, 'encoding.raw-latin1-inserted', url(i, withRaw(pieces(i), name, raw)));
    },
  },
  'encoding.plus-for-space': {
    versions: [1, 4],
    run: (i) => {
      const withSpace = BASE[i.l.version].filter((n) => i.l.values[n].includes(' '));
      if (withSpace.length) {
        const name = i.rnd.pick(withSpace);
        return forge(i, 'encoding.plus-for-space', url(i, withRaw(pieces(i), name, enc(i.l.values[name]).replaceAll('%20', '+'))), 'tolerated');
      }
      // No space to spell as '+': a '+' inserted into a value is a different value.
      const name = i.rnd.pick(valueFields(i.l));
      const cps = [...decodedOf(i.l, name)].map(enc);
      cps.splice(i.rnd.int(cps.length + 1), 0, i.rnd.pick(['+', '%2B']));
      return forge(i, 'encoding.plus-inserted', url(i, withRaw(pieces(i), name, cps.join(''))));
    },
  },
  'encoding.raw-plus': {
    versions: [1, 4],
    run: (i) => {
      const withPlus = [...BASE[i.l.version], 'signature'].filter((n) => decodedOf(i.l, n).includes('+'));
      const name = withPlus.length ? i.rnd.pick(withPlus) : 'signature';
      return forge(i, 'encoding.raw-plus', url(i, withRaw(pieces(i), name, enc(decodedOf(i.l, name)).replaceAll('%2B', '+'))), 'tolerated');
    },
  },
  'encoding.name-encoded': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(spelledFields(i.l));
      const ps = pieces(i).map((p) => (p.name === name ? { name: i.rnd.bool() ? encAll(name) : encAll(name[0]) + name.slice(1), value: p.value } : p));
      return forge(i, 'encoding.name-encoded', url(i, ps), 'tolerated');
    },
  },
  'encoding.name-case': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(spelledFields(i.l));
      const renamed = i.rnd.bool() ? name.toUpperCase() : name[0].toUpperCase() + name.slice(1);
      const ps = pieces(i).map((p) => (p.name === name ? { name: renamed, value: p.value } : p));
      return forge(i, 'encoding.name-case', url(i, ps));
    },
  },
  'encoding.semicolon-separator': {
    versions: [1, 4],
    run: (i) => {
      const ps = pieces(i);
      // Join a signed parameter to the next one (joining two unsigned ones would not touch what is signed).
      const at = i.rnd.bool() ? ps.length - 1 : 1 + i.rnd.int(BASE[i.l.version].length);
      const joined = [...ps.slice(0, at - 1), { name: ps[at - 1].name, value: `${ps[at - 1].value};${ps[at].name}=${ps[at].value}` }, ...ps.slice(at + 1)];
      return forge(i, 'encoding.semicolon-separator', url(i, joined));
    },
  },
  'encoding.bad-escape': {
    versions: [1, 4],
    run: (i) => {
      const name = i.rnd.pick(spelledFields(i.l));
      const raw = enc(decodedOf(i.l, name)) + i.rnd.pick(['%', '%4', '%G1', '%%', '%u0041']);
      return forge(i, 'encoding.bad-escape', url(i, withRaw(pieces(i), name, raw)));
    },
  },

  // --- parameters duplicated, reordered, added ---
  'dup.same-value': {
    versions: [1, 4],
    run: (i) => {
      const ps = pieces(i);
      const p = i.rnd.pick(ps.slice(0, BASE[i.l.version].length).concat(ps.slice(-2)));
      const at = i.rnd.int(ps.length + 1);
      return forge(i, 'dup.same-value', url(i, [...ps.slice(0, at), p, ...ps.slice(at)]), 'tolerated');
    },
  },
  'dup.different-value': {
    versions: [1, 4],
    run: (i) => {
      const ps = pieces(i);
      const name = i.rnd.pick([...valueFields(i.l), 'signature']);
      const value = decodedOf(i.other, name) === decodedOf(i.l, name) ? `${decodedOf(i.l, name)}x` : decodedOf(i.other, name);
      const dup = { name: i.rnd.pick([name, name, encAll(name)]), value: enc(value) };
      return forge(i, 'dup.different-value', url(i, i.rnd.bool() ? [dup, ...ps] : [...ps, dup]));
    },
  },
  'dup.unsigned': {
    versions: [4],
    run: (i) => {
      const [name, value] = i.rnd.pick<[string, string]>([['is_mobile', 'true'], ['language_code', 'de'], ['source', i.l.level!], ['client_auth_code', 'abc123']]);
      const ps = pieces(i);
      return forge(i, 'dup.unsigned', url(i, [...ps, { name, value }, { name, value: i.rnd.bool() ? value : enc(value.toLowerCase()) }]), 'tolerated');
    },
  },
  'order.shuffled': { versions: [1, 4], run: (i) => equivalent(i, 'order.shuffled', url(i, i.rnd.shuffle(pieces(i)))) },
  'extra.params': {
    versions: [1, 4],
    run: (i) => {
      const field = i.rnd.pick(BASE[i.l.version]);
      const crossVersion = i.l.version === 1 ? ['company_domain=evil.example', 'language_code=de', 'item_url=https%3A%2F%2Fevil.example%2F'] : ['xuserid=eve', 'xcompanydomain=evil.example', 'itemurl=x'];
      const extras = i.rnd
        .shuffle(['foo=bar', '__proto__=x', 'constructor=y', 'hasOwnProperty=1', `${field}[]=evil`, `${field}.x=evil`, 'signature2=AAAA', 'flag', '', ...crossVersion])
        .slice(0, 1 + i.rnd.int(4));
      const ps = pieces(i);
      const at = i.rnd.int(ps.length + 1);
      const added = extras.map((e) => (e.includes('=') ? { name: e.slice(0, e.indexOf('=')), value: e.slice(e.indexOf('=') + 1) } : { name: e }));
      return forge(i, 'extra.params', url(i, [...ps.slice(0, at), ...added, ...ps.slice(at)]), 'tolerated');
    },
  },
  'extra.oversized-query': {
    versions: [1, 4],
    run: (i) => forge(i, 'extra.oversized-query', url(i, [...pieces(i), { name: 'pad', value: 'x'.repeat(8200) }]), 'tolerated'),
  },
  'path.variant': {
    versions: [1, 4],
    run: (i) => {
      const path = i.ctx.paths[i.l.version];
      const variant = i.rnd.pick([path.toUpperCase(), `${path}/`, [...path].map((c, k) => (k % 2 ? c.toUpperCase() : c)).join('')]);
      return forge(i, 'path.variant', url(i, pieces(i), variant), 'tolerated');
    },
  },

  // --- v1 and v4 swapped ---
  'swap.other-path': {
    versions: [1, 4],
    run: (i) => forge(i, 'swap.other-path', url(i, pieces(i), i.ctx.paths[i.l.version === 1 ? 4 : 1])),
  },
  'swap.renamed-params': {
    versions: [1, 4],
    run: (i) => {
      const v = i.l.values;
      const named: Array<[string, string]> =
        i.l.version === 1
          ? [['company_domain', v.xcompanydomain], ['logged_in_user_id', v.xuserid], ['report_owner_user_id', v.xuserid], ['item_url', v.itemurl]]
          : [['xcompanydomain', v.company_domain], ['xuserid', v.logged_in_user_id], ['itemurl', v.item_url]];
      const ps = [...named, ['nonce', i.l.nonce], ['signature', i.l.signature]].map(([name, value]) => ({ name, value: enc(value) }));
      return forge(i, 'swap.renamed-params', urlOf(i.ctx, i.l.version === 1 ? 4 : 1, ps));
    },
  },
  // The other version's base string over the same values (the MAC a confused sender would make).
  'swap.other-construction': {
    versions: [1, 4],
    run: (i) => {
      const v = i.l.values;
      const t = i.l.tenant;
      const mac =
        i.l.version === 1
          ? macOf(4, i.rnd.pick(['sha1', 'sha256']), { company_domain: v.xcompanydomain, logged_in_user_id: v.xuserid, report_owner_user_id: v.xuserid, item_url: v.itemurl }, i.l.nonce, t.username, t.password)
          : macOf(1, algorithmOf(t, 4), { xcompanydomain: v.company_domain, xuserid: v.logged_in_user_id, itemurl: v.item_url }, i.l.nonce, t.username, t.password);
      return forge(i, 'swap.other-construction', resigned(i, mac));
    },
  },
  // A v1 launch re-cut as a v4 one (or back) so that both base strings are the same: its MAC stays
  // valid wherever v4 is HMAC-SHA1. Only the item URL's shape can refuse it.
  'swap.same-base-string': {
    versions: [1, 4],
    run: (i) => {
      const v = i.l.values;
      let named: Array<[string, string]>;
      if (i.l.version === 1) {
        const user = [...v.xuserid];
        const cut = Math.max(1, i.rnd.int(user.length));
        named = [['company_domain', v.xcompanydomain], ['logged_in_user_id', user.slice(0, cut).join('')], ['report_owner_user_id', user.slice(cut).join('') || 'x'], ['report_owner_employee_id', ''], ['item_url', v.itemurl]];
      } else {
        named = [['xcompanydomain', v.company_domain], ['xuserid', v.logged_in_user_id + v.report_owner_user_id + v.report_owner_employee_id], ['itemurl', v.item_url]];
      }
      const ps = [...named, ['nonce', i.l.nonce], ['signature', i.l.signature]].map(([name, value]) => ({ name, value: enc(value) }));
      return forge(i, 'swap.same-base-string', urlOf(i.ctx, i.l.version === 1 ? 4 : 1, ps));
    },
  },

  // --- the wrong credentials or tenant ---
  'cred.other-tenant': {
    versions: [1, 4],
    run: (i) => {
      const t = otherTenant(i, i.rnd.pick([1, 4])) ?? i.ctx.tenants.find((x) => x !== i.l.tenant)!;
      const algorithm = i.rnd.pick([algorithmOf(t, i.l.version), algorithmOf(i.l.tenant, i.l.version)]);
      return forge(i, 'cred.other-tenant', resigned(i, macOf(i.l.version, algorithm, i.l.values, i.l.nonce, t.username, t.password)));
    },
  },
  'cred.wrong-password': {
    versions: [1, 4],
    run: (i) => {
      const { username, password } = i.l.tenant;
      const wrong = i.rnd.pick([`${password} `, password.toUpperCase(), password.slice(0, -1), `${password}x`, ` ${password}`, password.normalize('NFD') === password ? `${password}\u0301` : password.normalize('NFD')]);
      return forge(i, 'cred.wrong-password', resigned(i, macOf(i.l.version, algorithmOf(i.l.tenant, i.l.version), i.l.values, i.l.nonce, username, wrong)));
    },
  },
  // The key lower-cases the username, the base string does not: a username in another case signs differently.
  'cred.username-case': {
    versions: [1, 4],
    run: (i) => {
      const { username, password } = i.l.tenant;
      const other = i.rnd.bool() ? username.toLowerCase() : username.toUpperCase();
      return forge(i, 'cred.username-case', resigned(i, macOf(i.l.version, algorithmOf(i.l.tenant, i.l.version), i.l.values, i.l.nonce, other, password)));
    },
  },
  'cred.key-not-lowercased': {
    versions: [1, 4],
    run: (i) => {
      const { username, password } = i.l.tenant;
      const mac = createHmac(algorithmOf(i.l.tenant, i.l.version), username + password)
        .update(baseString(i.l.version, i.l.values, i.l.nonce, username, password), 'utf8')
        .digest();
      return forge(i, 'cred.key-not-lowercased', resigned(i, mac));
    },
  },
  'cred.empty': {
    versions: [1, 4],
    run: (i) => forge(i, 'cred.empty', resigned(i, macOf(i.l.version, algorithmOf(i.l.tenant, i.l.version), i.l.values, i.l.nonce, '', ''))),
  },
  'tenant.other-domain': {
    versions: [1, 4],
    run: (i) => {
      const t = otherTenant(i) ?? i.ctx.tenants.find((x) => x !== i.l.tenant)!;
      return forge(i, 'tenant.other-domain', setValue(i, domainField(i.l.version), i.rnd.pick(t.domains)));
    },
  },
  'tenant.other-domain-own-credentials': {
    versions: [1, 4],
    run: (i) => {
      const t = otherTenant(i) ?? i.ctx.tenants.find((x) => x !== i.l.tenant)!;
      const domain = i.rnd.pick([...t.domains, 'unknown.example', `${i.l.tenant.domains[0]}.evil.test`]);
      const moved = signed({ ...i.l, values: { ...i.l.values, [domainField(i.l.version)]: domain } });
      return forge(i, 'tenant.other-domain-own-credentials', originalUrl(i.ctx, moved));
    },
  },
  // Signed with the other tenant's credentials, for the other tenant's domain, but for this version
  // the other tenant has off (v1 at a v4-only tenant): correctly signed, refused.
  'tenant.version-disabled': {
    versions: [1, 4],
    run: (i) => {
      const off = i.ctx.tenants.find((t) => !t.versions.includes(1));
      if (!off) return OPS.control.run(i);
      const values = { xcompanydomain: off.domains[0], xuserid: i.l.version === 1 ? i.l.values.xuserid : i.l.values.logged_in_user_id, itemurl: `${i.ctx.origin}/sandbox/concur/api/v3.0/expense/entries/${enc(i.ctx.ids.entryIds[0])}` };
      const l = signed({ tenant: off, version: 1, values, nonce: i.l.nonce, unsigned: [] });
      return { kind: 'tenant.version-disabled', steps: [{ url: originalUrl(i.ctx, l), expect: 'refuse' }] };
    },
  },

  // --- the wrong algorithm ---
  'alg.other-hmac': {
    versions: [1, 4],
    run: (i) => {
      const right = algorithmOf(i.l.tenant, i.l.version);
      const algorithm = i.rnd.pick(['sha1', 'sha256', 'sha512', 'sha384', 'sha224', 'md5'].filter((a) => a !== right));
      const { username, password } = i.l.tenant;
      return forge(i, 'alg.other-hmac', resigned(i, macOf(i.l.version, algorithm, i.l.values, i.l.nonce, username, password)));
    },
  },
  'alg.plain-hash': {
    versions: [1, 4],
    run: (i) => {
      const { username, password } = i.l.tenant;
      const hash = createHash(i.rnd.pick(['sha1', 'sha256'])).update(baseString(i.l.version, i.l.values, i.l.nonce, username, password), 'utf8').digest();
      return forge(i, 'alg.plain-hash', resigned(i, hash));
    },
  },
  'alg.hex-digest': {
    versions: [1, 4],
    run: (i) => {
      const { username, password } = i.l.tenant;
      const mac = macOf(i.l.version, algorithmOf(i.l.tenant, i.l.version), i.l.values, i.l.nonce, username, password);
      return forge(i, 'alg.hex-digest', resigned(i, i.rnd.bool() ? mac.toString('hex') : mac.toString('hex').toUpperCase()));
    },
  },
  'alg.separated-base-string': {
    versions: [1, 4],
    run: (i) => {
      const { username, password } = i.l.tenant;
      const sep = i.rnd.pick(['&', '\n', ',', ' ', '|']);
      const mac = createHmac(algorithmOf(i.l.tenant, i.l.version), username.toLowerCase() + password)
        .update(baseString(i.l.version, i.l.values, i.l.nonce, username, password, sep), 'utf8')
        .digest();
      return forge(i, 'alg.separated-base-string', resigned(i, mac));
    },
  },

  // --- the signature itself ---
  'sig.bit-flip': {
    versions: [1, 4],
    run: (i) => {
      const mac = Buffer.from(i.l.signature, 'base64');
      const bit = i.rnd.int(mac.length * 8);
      mac[bit >> 3] ^= 1 << (bit & 7);
      return forge(i, 'sig.bit-flip', resigned(i, mac));
    },
  },
  'sig.truncated': {
    versions: [1, 4],
    run: (i) => {
      const s = i.l.signature;
      return forge(i, 'sig.truncated', resigned(i, i.rnd.pick([s.slice(0, -4), s.slice(0, -1), s.slice(0, 4), s.slice(4), s.slice(0, s.length / 2)])));
    },
  },
  'sig.extended': {
    versions: [1, 4],
    run: (i) => {
      const mac = Buffer.from(i.l.signature, 'base64');
      return forge(i, 'sig.extended', resigned(i, i.rnd.bool() ? `${i.l.signature}AAAA` : Buffer.concat([mac, Buffer.from([i.rnd.int(256)])]).toString('base64')));
    },
  },
  'sig.case-swapped': {
    versions: [1, 4],
    run: (i) => {
      const chars = [...i.l.signature];
      const at = chars.findIndex((c, k) => k >= i.rnd.int(chars.length) && /[A-Za-z]/.test(c));
      const all = i.rnd.bool() || at < 0;
      return forge(i, 'sig.case-swapped', resigned(i, all ? chars.map(swapCase).join('') : chars.map((c, k) => (k === at ? swapCase(c) : c)).join('')));
    },
  },
  'sig.of-other-launch': { versions: [1, 4], run: (i) => forge(i, 'sig.of-other-launch', resigned(i, i.other.signature)) },
  'sig.missing': {
    versions: [1, 4],
    run: (i) => {
      const how = i.rnd.int(3);
      const ps = how === 0 ? without(pieces(i), 'signature') : withRaw(pieces(i), 'signature', how === 1 ? '' : undefined);
      return forge(i, 'sig.missing', url(i, ps));
    },
  },
  'sig.double-encoded': {
    versions: [1, 4],
    run: (i) => forge(i, 'sig.double-encoded', url(i, withRaw(pieces(i), 'signature', enc(enc(i.l.signature))))),
  },
  'sig.padding-stripped': {
    versions: [1, 4],
    run: (i) => forge(i, 'sig.padding-stripped', resigned(i, i.l.signature.replace(/=+$/, '')), 'tolerated'),
  },
  'sig.base64url': {
    versions: [1, 4],
    run: (i) => {
      const url64 = i.l.signature.replaceAll('+', '-').replaceAll('/', '_');
      return forge(i, 'sig.base64url', resigned(i, i.rnd.bool() ? url64 : url64.replace(/=+$/, '')), 'tolerated');
    },
  },
  // The bits below the last full byte are ignored by base64 decoders: the same MAC, another spelling.
  'sig.noncanonical-bits': {
    versions: [1, 4],
    run: (i) => {
      const s = i.l.signature;
      const pad = s.length - s.replace(/=+$/, '').length;
      const free = pad === 1 ? 2 : pad === 2 ? 4 : 0;
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
      const at = s.length - pad - 1;
      const changed = free ? s.slice(0, at) + alphabet[alphabet.indexOf(s[at]) ^ (1 + i.rnd.int((1 << free) - 1))] + s.slice(at + 1) : s;
      return forge(i, 'sig.noncanonical-bits', resigned(i, changed), 'tolerated');
    },
  },
  'sig.space-for-plus': {
    versions: [1, 4],
    run: (i) => forge(i, 'sig.space-for-plus', url(i, withRaw(pieces(i), 'signature', enc(i.l.signature).replaceAll('%2B', i.rnd.pick(['%20', '+'])))), 'tolerated'),
  },
  'sig.whitespace': {
    versions: [1, 4],
    run: (i) => {
      const ws = i.rnd.pick(['%20', '%0A', '%09', '+']);
      const raw = i.rnd.bool() ? ws + enc(i.l.signature) : enc(i.l.signature) + ws;
      return forge(i, 'sig.whitespace', url(i, withRaw(pieces(i), 'signature', raw)), 'tolerated');
    },
  },

  // --- the nonce used again ---
  'replay.exact': { versions: [1, 4], run: (i) => replay(i, 'replay.exact', originalUrl(i.ctx, i.l)) },
  'replay.reencoded': {
    versions: [1, 4],
    run: (i) => {
      const ps = pieces(i).map((p) => (p.value === undefined ? p : { name: p.name, value: encAll(decodeURIComponent(p.value), i.rnd.bool()) }));
      return replay(i, 'replay.reencoded', url(i, i.rnd.bool() ? ps : i.rnd.shuffle(ps)));
    },
  },
  'replay.path-variant': {
    versions: [1, 4],
    run: (i) => replay(i, 'replay.path-variant', url(i, pieces(i), i.rnd.pick([`${i.ctx.paths[i.l.version]}/`, i.ctx.paths[i.l.version].toUpperCase()]))),
  },
  'replay.unsigned-changed': {
    versions: [1, 4],
    run: (i) => {
      const ps = i.l.version === 4 ? [...without(pieces(i), 'language_code'), { name: 'language_code', value: i.rnd.pick(['de', 'fr', 'ja']) }] : [...pieces(i), { name: 'language_code', value: 'de' }];
      return replay(i, 'replay.unsigned-changed', url(i, ps));
    },
  },
  // Correctly signed, other values, a nonce already accepted.
  'replay.new-values-same-nonce': {
    versions: [1, 4],
    run: (i) => replay(i, 'replay.new-values-same-nonce', originalUrl(i.ctx, signed({ ...i.other, nonce: i.l.nonce }))),
  },
  'replay.concurrent': {
    versions: [1, 4],
    run: (i) => ({ kind: 'replay.concurrent', steps: [{ url: originalUrl(i.ctx, i.l), expect: 'race', parallel: 6 }] }),
  },
  // The connector keeps nonces per tenant; a GUID signed by another tenant is that tenant's launch.
  'replay.same-nonce-other-tenant': {
    versions: [1, 4],
    run: (i) => {
      const t = otherTenant(i);
      if (!t) return replay(i, 'replay.exact', originalUrl(i.ctx, i.l));
      const values = { ...i.l.values, [domainField(i.l.version)]: t.domains[0] };
      const unsigned = i.l.unsigned.filter(([name]) => name !== 'custom_field_launched_from');
      const theirs = signed({ ...i.l, tenant: t, values, unsigned });
      return { kind: 'replay.same-nonce-other-tenant', steps: [{ url: originalUrl(i.ctx, i.l), expect: 'accept' }, { url: originalUrl(i.ctx, theirs), expect: 'tolerated' }] };
    },
  },

  // --- v4's unsigned parameters: untrusted input, not forgeries ---
  'unsigned.valid-change': {
    versions: [4],
    run: (i) => {
      const allowed = i.l.tenant.v4Fields[i.l.level!];
      const changes: Array<[string, string | undefined]> = [
        ['is_mobile', i.rnd.pick(['true', 'false', undefined])],
        ['language_code', i.rnd.pick(['de', 'fr-CA', 'ja', 'es', undefined])],
        ['client_auth_code', i.rnd.pick(['9a1b2c3d-aaaa-bbbb-cccc-0123456789ab', 'x.y~z_1', undefined])],
        ['custom_field_launched_from', i.rnd.pick([...allowed, '', undefined])],
        ['source', i.rnd.pick([i.l.level!, i.l.level!.toLowerCase(), undefined])],
      ];
      let ps = pieces(i);
      for (const [name, value] of i.rnd.shuffle(changes).slice(0, 1 + i.rnd.int(changes.length))) {
        ps = value === undefined ? without(ps, name) : withRaw(ps, name, enc(value));
      }
      return { kind: 'unsigned.valid-change', steps: [{ url: url(i, ps), expect: 'accept' }] };
    },
  },
  'unsigned.all-dropped': {
    versions: [4],
    run: (i) => ({ kind: 'unsigned.all-dropped', steps: [{ url: url(i, pieces(i).filter((p) => !UNSIGNED.includes(p.name))), expect: 'accept' }] }),
  },
  // Loose where Concur's pages are loose (issue 16): a field id in another spelling is the same field,
  // an unusable is_mobile or language_code falls back to its default instead of failing the launch.
  'unsigned.lenient': {
    versions: [4],
    run: (i) => {
      const allowed = i.l.tenant.v4Fields[i.l.level!];
      const [name, value] = i.rnd.pick<[string, string]>([
        ['custom_field_launched_from', allowed[0].toUpperCase()],
        ['custom_field_launched_from', allowed[0].replace(/(\d+)$/, '0$1')],
        ['is_mobile', i.rnd.pick(['yes', '1', 'on'])],
        ['language_code', i.rnd.pick(['english', 'en_GB;x', 'e', 'de-CH-x'])],
      ]);
      return { kind: `unsigned.lenient.${name}`, steps: [{ url: url(i, withRaw(pieces(i), name, enc(value))), expect: 'accept' }] };
    },
  },
  'unsigned.invalid': {
    versions: [4],
    run: (i) => {
      const level = i.l.level!;
      const allowed = i.l.tenant.v4Fields[level];
      const notAllowed = ['custom1', 'custom40', 'orgUnit6', 'custom9', 'custom12'].filter((f) => !allowed.includes(f));
      const [name, value] = i.rnd.pick<[string, string]>([
        ['source', 'REPORT'],
        ['source', i.rnd.pick(LEVELS.filter((x) => x !== level))],
        ['source', '<script>alert(1)</script>'],
        ['custom_field_launched_from', 'custom99'],
        ['custom_field_launched_from', i.rnd.pick(notAllowed)],
        level === 'ALLOCATION' ? ['expense_ids', i.rnd.pick(['a b', 'X1,,<y>', Array.from({ length: 101 }, (_, k) => `E${k}`).join(',')])] : ['expense_ids', 'X1'],
        ['client_auth_code', i.rnd.pick(['a b', 'code/with/slash', 'a+b'])],
      ]);
      return { kind: `unsigned.invalid.${name}`, steps: [{ url: url(i, withRaw(pieces(i), name, enc(value))), expect: 'refuse' }] };
    },
  },
  'unsigned.control-char': {
    versions: [4],
    run: (i) => {
      const name = i.rnd.pick(UNSIGNED.filter((n) => n !== 'expense_ids'));
      const value = i.rnd.pick(['en%00', 'ENTRY%0A', '%1B', 'true%0D%0A']);
      return { kind: 'unsigned.control-char', steps: [{ url: url(i, withRaw(pieces(i), name, value)), expect: 'refuse' }] };
    },
  },
  'unsigned.overlong': {
    versions: [4],
    run: (i) => {
      const name = i.rnd.pick(['client_auth_code', 'language_code', 'source', 'custom_field_launched_from']);
      return { kind: 'unsigned.overlong', steps: [{ url: url(i, withRaw(pieces(i), name, 'a'.repeat(257 + i.rnd.int(100)))), expect: 'refuse' }] };
    },
  },

  // --- correctly signed, refused for what it names ---
  'signed.item-not-allowed': {
    versions: [1, 4],
    run: (i) => {
      const field = i.l.version === 1 ? 'itemurl' : 'item_url';
      const item = i.l.values[field];
      const bad = i.rnd.pick([
        item.replace(/^https?:\/\/[^/]+/, 'https://us.api.concursolutions.com.evil.test'),
        item.replace(/^https:/, 'http:').replace(/^http:\/\/127/, 'https://127'),
        `${item.replace(/\/$/, '')}?x=1`,
        `${item.replace(/\/$/, '')}/../../../users/me`,
        item.replace('://', '://user:pw@'),
        `${i.ctx.origin}/sandbox/concur/api/v3.0/users/me`,
        i.l.version === 1 ? `${i.ctx.origin}/sandbox/concur/expensereports/v4/users/u/context/TRAVELER/reports/R` : `${i.ctx.origin}/sandbox/concur/api/v3.0/expense/entries/E1`,
      ]);
      const l = signed({ ...i.l, values: { ...i.l.values, [field]: bad } });
      return { kind: 'signed.item-not-allowed', steps: [{ url: originalUrl(i.ctx, l), expect: 'refuse' }] };
    },
  },
  'signed.owner-mismatch': {
    versions: [4],
    run: (i) => {
      const owner = i.l.values.report_owner_user_id;
      const other = i.rnd.pick(['00000000-0000-0000-0000-000000000000', `${owner}0`, owner.slice(1)].filter((o) => o.toLowerCase() !== owner.toLowerCase()));
      const l = signed({ ...i.l, values: { ...i.l.values, report_owner_user_id: other } });
      return { kind: 'signed.owner-mismatch', steps: [{ url: originalUrl(i.ctx, l), expect: 'refuse' }] };
    },
  },
};

/** The original, accepted, then a variant of it with the same nonce: a replay. */
function replay(i: OpInput, kind: string, again: string): OpResult {
  return { kind, steps: [{ url: originalUrl(i.ctx, i.l), expect: 'accept' }, { url: again, expect: 'replay' }] };
}

export const OP_NAMES = Object.keys(OPS);

export interface CaseSpec {
  launch: LaunchSpec;
  other: LaunchSpec;
  op: string;
  seed: number;
}

/** A valid launch, another of the same tenant and version, and one operation: a control (about 1 in 7) or a mutation. */
export function caseArb(ctx: Ctx): fc.Arbitrary<CaseSpec> {
  return launchArb(ctx).chain((launch) => {
    const ops = OP_NAMES.filter((name) => name !== 'control' && OPS[name].versions.includes(launch.version));
    return fc.record({
      launch: fc.constant(launch),
      other: launchArbFor(ctx, launch.tenant, launch.version),
      op: fc.oneof({ arbitrary: fc.constant('control'), weight: Math.round(ops.length / 6) }, { arbitrary: fc.constantFrom(...ops), weight: ops.length }),
      seed: fc.integer(),
    });
  });
}

export function materialise(ctx: Ctx, spec: CaseSpec, index: number): Case {
  const l = toLaunch(ctx, spec.launch, index, 'a');
  const other = toLaunch(ctx, spec.other, index, 'b');
  const result = OPS[spec.op].run({ ctx, l, other, rnd: new Rng(spec.seed) });
  return { index, op: spec.op, kind: result.kind, version: l.version, tenant: l.tenant.id, steps: result.steps };
}

/** The independent signer against published vectors: a failure here is a fault of the test, not of the connector. */
export function signVector(v: { version: Version; algorithm: Algorithm; username: string; password: string; params: Record<string, string> }): string {
  return macOf(v.version, v.algorithm, v.params, v.params.nonce, v.username, v.password).toString('base64');
}
