import { type AllowedOrigin, type ItemRef, ItemUrlError } from './concur.types.js';

const ID = /^[A-Za-z0-9$_.-]{1,128}$/;
const MAX_ITEM_URL_LENGTH = 2048;

/** `https://Host:443` and `https://host` are the same origin; an unparsable entry only matches itself. */
export function normaliseOrigin(origin: string): string {
  try {
    return new URL(origin).origin.toLowerCase();
  } catch {
    return origin.toLowerCase().replace(/\/+$/, '');
  }
}

/** The allowed entries whose origin is the URL's origin (http only where the allowed origin itself is http). */
export function originMatches(url: URL, allowed: AllowedOrigin[]): AllowedOrigin[] {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return [];
  const origin = url.origin.toLowerCase();
  return allowed.filter((entry) => normaliseOrigin(entry.origin) === origin);
}

/** The path below the prefix, or undefined when the path is not under it. */
export function pathBelow(pathname: string, pathPrefix: string): string | undefined {
  const prefix = pathPrefix.replace(/\/+$/, '');
  if (prefix === '') return pathname;
  if (!pathname.startsWith(`${prefix}/`)) return undefined;
  return pathname.slice(prefix.length);
}

type Parts = Omit<ItemRef, 'url' | 'origin'>;

/**
 * Parses Concur's `itemurl` / `item_url` into a known item on an allow-listed origin. The returned
 * `url` is rebuilt from the parsed parts, so nothing of the raw input but validated ids reaches a request.
 */
export function parseItemUrl(raw: string, api: 'v3' | 'v4', allowed: AllowedOrigin[]): ItemRef {
  if (raw.length > MAX_ITEM_URL_LENGTH) throw new ItemUrlError('item URL is too long');
  // The URL parser resolves dot segments (also %2E%2E); an item URL never has them, so refuse rather than resolve.
  if (/(^|\/)(\.|%2e){1,2}(\/|$)/i.test(raw.replace(/^[a-z]+:\/\/[^/]*/i, ''))) {
    throw new ItemUrlError('item URL is not a known Concur expense item');
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ItemUrlError('item URL is not a valid URL');
  }
  if (url.username !== '' || url.password !== '') throw new ItemUrlError('item URL must not carry a user name or password');
  if (url.search !== '' || url.hash !== '' || url.href.includes('?') || url.href.includes('#')) {
    throw new ItemUrlError('item URL must not carry a query or fragment');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ItemUrlError('item URL must use https');
  const candidates = originMatches(url, allowed);
  if (candidates.length === 0) {
    throw new ItemUrlError(
      url.protocol === 'http:' ? 'item URL must use https' : 'item URL is not on an allowed Concur host',
    );
  }
  let underPrefix = false;
  for (const entry of candidates) {
    const rest = pathBelow(url.pathname, entry.pathPrefix);
    if (rest === undefined) continue;
    underPrefix = true;
    const parts = matchShape(rest, api);
    if (!parts) continue;
    const origin = url.origin.toLowerCase();
    const prefix = entry.pathPrefix.replace(/\/+$/, '');
    return { ...parts, origin, url: `${origin}${prefix}${canonicalPath(parts)}` };
  }
  throw new ItemUrlError(underPrefix ? 'item URL is not a known Concur expense item' : 'item URL is not on an allowed Concur host');
}

function matchShape(path: string, api: 'v3' | 'v4'): Parts | undefined {
  const raw = path.replace(/\/$/, '').split('/').slice(1);
  if (raw.length === 0 || raw.some((segment) => segment === '')) return undefined;
  const segments = raw.map(decodeSegment);
  const lower = segments.map((segment) => segment.toLowerCase());
  const is = (index: number, literal: string) => lower[index] === literal;

  if (api === 'v3') {
    if (segments.length === 5 && is(0, 'api') && is(1, 'v3.0') && is(2, 'expense') && is(3, 'entries')) {
      return { api, level: 'ENTRY', entryId: id(segments[4]) };
    }
    if (
      segments.length === 8 &&
      is(0, 'api') && is(1, 'expense') && is(2, 'expensereport') && is(3, 'v1.1') && is(4, 'report') && is(6, 'entry')
    ) {
      id(segments[5]);
      return { api, level: 'ENTRY', entryId: id(segments[7]) };
    }
    return undefined;
  }

  if (segments.length < 8 || !(is(0, 'expensereports') && is(1, 'v4') && is(2, 'users') && is(4, 'context') && is(6, 'reports'))) {
    return undefined;
  }
  const context = lower[5] === 'traveler' ? 'TRAVELER' : lower[5] === 'proxy' ? 'PROXY' : undefined;
  if (!context) return undefined;
  const report = { api, userId: id(segments[3]), context, reportId: id(segments[7]) } as const;
  if (segments.length === 8) return { ...report, level: 'HEADER' };
  if (segments.length === 10 && is(8, 'expenses')) return { ...report, level: 'ENTRY', expenseId: id(segments[9]) };
  if (segments.length === 10 && is(8, 'allocations')) return { ...report, level: 'ALLOCATION', allocationId: id(segments[9]) };
  return undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ItemUrlError('item URL is badly encoded');
  }
}

function id(value: string): string {
  if (!ID.test(value) || /^\.+$/.test(value)) throw new ItemUrlError('item URL carries an invalid id');
  return value;
}

/** The item's path below Concur's base URL (what follows https://us.api.concursolutions.com). */
export function itemApiPath(parts: Parts): string {
  const e = encodeURIComponent;
  if (parts.api === 'v3') return `/api/v3.0/expense/entries/${e(parts.entryId!)}`;
  const report = reportApiPath(parts);
  if (parts.level === 'ENTRY') return `${report}/expenses/${e(parts.expenseId!)}`;
  if (parts.level === 'ALLOCATION') return `${report}/allocations/${e(parts.allocationId!)}`;
  return report;
}

/** v4: the report an item belongs to, in the user's context (v4.reports.markdown "Retrieve a Report by ID"). */
export function reportApiPath(parts: Parts): string {
  const e = encodeURIComponent;
  return `/expensereports/v4/users/${e(parts.userId!)}/context/${parts.context}/reports/${e(parts.reportId!)}`;
}

/** v4: an expense of a submitted report (v4.expenses.markdown "Update a Specific Expense Entry in a Submitted Report"). */
export function submittedExpenseApiPath(parts: Parts): string {
  const e = encodeURIComponent;
  return `/expensereports/v4/reports/${e(parts.reportId!)}/expenses/${e(parts.expenseId!)}`;
}

const canonicalPath = itemApiPath;
