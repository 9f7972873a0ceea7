import type { LookupItem, LookupPage } from './lookup.types.js';

export const MAX_QUERY_LENGTH = 100;
export const MAX_PAGE_SIZE = 100;

const FIELD_END = '\u0000';
const RECORD_END = '\u0001';
const CONTROL = /\p{Cc}/gu;
const codeOrder = new Intl.Collator('en', { numeric: true });

/**
 * The entries of one source, sorted by code, with their search keys laid end to end in one
 * string (`code\0label\1code\0label\1...`) so a query is a native `indexOf` scan that jumps
 * from match to match instead of visiting every record.
 */
export interface LookupIndex {
  readonly items: readonly LookupItem[];
  readonly keys: string;
  /** `recordStarts[i]` is where entry i's code key begins; one extra slot marks the end. */
  readonly recordStarts: Int32Array;
  readonly labelStarts: Int32Array;
}

/** Case- and width-insensitive form used for both the index and the query. */
export function searchKey(text: string): string {
  // Control characters become spaces, so the separators above can never occur inside a key.
  return text.normalize('NFKC').toLocaleLowerCase('en').replace(CONTROL, ' ');
}

export function compareCodes(a: string, b: string): number {
  return codeOrder.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** Trims the query and caps it at MAX_QUERY_LENGTH characters. */
export function cleanQuery(query: unknown): string {
  const trimmed = typeof query === 'string' ? query.trim() : '';
  if (trimmed.length <= MAX_QUERY_LENGTH) return trimmed;
  return Array.from(trimmed.slice(0, MAX_QUERY_LENGTH * 2)).slice(0, MAX_QUERY_LENGTH).join('').trimEnd();
}

/** Whole, non-negative offset; limit between 0 and MAX_PAGE_SIZE. */
export function clampPaging(offset: number, limit: number): { offset: number; limit: number } {
  return {
    offset: Number.isFinite(offset) ? Math.max(0, Math.floor(offset)) : 0,
    limit: Math.min(MAX_PAGE_SIZE, Math.max(0, Math.floor(limit) || 0)),
  };
}

export function prepareIndex(entries: readonly LookupItem[]): LookupIndex {
  const items = entries
    .map((entry) => Object.freeze({ code: entry.code, label: entry.label }))
    .sort((a, b) => compareCodes(a.code, b.code));
  const recordStarts = new Int32Array(items.length + 1);
  const labelStarts = new Int32Array(items.length);
  const parts: string[] = [];
  let at = 0;
  items.forEach((item, i) => {
    const code = searchKey(item.code);
    const label = searchKey(item.label);
    recordStarts[i] = at;
    labelStarts[i] = at + code.length + 1;
    at = labelStarts[i] + label.length + 1;
    parts.push(code, FIELD_END, label, RECORD_END);
  });
  recordStarts[items.length] = at;
  return { items, keys: parts.join(''), recordStarts, labelStarts };
}

/**
 * Ranks by match strength (exact, then prefix, then substring, on code or label); within a
 * strength entries whose code matches come before label-only matches, then by code.
 * Tiers: 0 exact code, 1 exact label, 2 prefix code, 3 prefix label, 4 substring code, 5 substring label.
 */
export function rankLookup(index: LookupIndex, rawQuery: string, rawOffset: number, rawLimit: number): LookupPage {
  const query = cleanQuery(rawQuery);
  const { offset, limit } = clampPaging(rawOffset, rawLimit);
  const needle = searchKey(query).trim();
  if (needle.length === 0) {
    return { items: index.items.slice(offset, offset + limit), total: index.items.length, offset, limit, query };
  }

  const { keys, recordStarts, labelStarts } = index;
  const length = needle.length;
  const wanted = offset + limit;
  const counts = [0, 0, 0, 0, 0, 0];
  const tiers: number[][] = [[], [], [], [], [], []];
  let record = 0;
  let at = keys.indexOf(needle);
  while (at !== -1) {
    while (recordStarts[record + 1] <= at) record++;
    const codeStart = recordStarts[record];
    const labelStart = labelStarts[record];
    const next = recordStarts[record + 1];
    const codeLength = labelStart - 1 - codeStart;
    const labelLength = next - 1 - labelStart;
    let tier: number;
    if (at < labelStart) {
      const labelPrefix = keys.startsWith(needle, labelStart);
      if (at === codeStart) tier = codeLength === length ? 0 : labelPrefix && labelLength === length ? 1 : 2;
      else tier = labelPrefix ? (labelLength === length ? 1 : 3) : 4;
    } else {
      tier = at === labelStart ? (labelLength === length ? 1 : 3) : 5;
    }
    if (counts[tier] < wanted) tiers[tier].push(record);
    counts[tier]++;
    at = keys.indexOf(needle, next);
  }

  const items: LookupItem[] = [];
  let skip = offset;
  for (const tier of tiers) {
    if (items.length === limit) break;
    if (skip >= tier.length) {
      skip -= tier.length;
      continue;
    }
    for (let i = skip; i < tier.length && items.length < limit; i++) items.push(index.items[tier[i]]);
    skip = 0;
  }
  const total = counts.reduce((sum, count) => sum + count, 0);
  return { items, total, offset, limit, query };
}
