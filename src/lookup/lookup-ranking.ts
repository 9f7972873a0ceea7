import type { LookupItem, LookupPage } from './lookup.types.js';

export const MAX_QUERY_LENGTH = 100;
export const MAX_PAGE_SIZE = 100;

const FIELD_END = '\u0000';
const RECORD_END = '\u0001';
const CONTROL = /\p{Cc}/gu;
const codeOrder = new Intl.Collator('en', { numeric: true });

/**
 * The entries of one source, sorted by code, with their search keys laid end to end in one
 * string (`code\0label\1code\0label\1...`), and a gram index over it: for every character and
 * every pair of adjacent characters (UTF-16 code units, as `indexOf` sees them) of a code or a
 * label, the entries that hold it in ascending order, each with the tier of that match. A
 * query of one or two characters is answered from its gram's list alone; a longer one checks
 * only the entries of its rarest pair instead of scanning every key.
 */
export interface LookupIndex {
  readonly items: readonly LookupItem[];
  readonly keys: string;
  /** `recordStarts[i]` is where entry i's code key begins; one extra slot marks the end. */
  readonly recordStarts: Int32Array;
  readonly labelStarts: Int32Array;
  /** Gram (see gramOf) to its number g; its entries are `gramRecords[gramStarts[g] .. gramStarts[g + 1])`. */
  readonly grams: ReadonlyMap<number, number>;
  readonly gramStarts: Int32Array;
  readonly gramRecords: Int32Array;
  /** The tier of each gram entry's match, as rankLookup would give it. */
  readonly gramTiers: Uint8Array;
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
  const keys = parts.join('');
  return { items, keys, recordStarts, labelStarts, ...gramIndex(keys, recordStarts, labelStarts) };
}

/** A number for a one- or two-unit string: the unit itself, or 2^16 plus both units. */
function gramOf(keys: string, at: number, length: 1 | 2): number {
  return length === 1 ? keys.charCodeAt(at) : 0x10000 + keys.charCodeAt(at) * 0x10000 + keys.charCodeAt(at + 1);
}

/**
 * Two passes over every record's grams, each counted once per record at its first occurrence
 * (code before label, left to right: where `indexOf` would find it): the first counts, the
 * second fills one flat array of entries per gram, already in record order.
 */
function gramIndex(keys: string, recordStarts: Int32Array, labelStarts: Int32Array) {
  const grams = new Map<number, number>();
  const counts: number[] = [];
  const lastSeen: number[] = [];
  const records = labelStarts.length;
  const visit = (each: (gram: number, length: 1 | 2, record: number, at: number) => void) => {
    for (let record = 0; record < records; record++) {
      const labelStart = labelStarts[record];
      const ends = [labelStart - 1, recordStarts[record + 1] - 1];
      for (let field = 0, from = recordStarts[record]; field < 2; field++, from = labelStart) {
        for (let at = from; at < ends[field]; at++) {
          each(gramOf(keys, at, 1), 1, record, at);
          if (at + 1 < ends[field]) each(gramOf(keys, at, 2), 2, record, at);
        }
      }
    }
  };
  visit((gram, _length, record) => {
    let number = grams.get(gram);
    if (number === undefined) {
      number = counts.length;
      grams.set(gram, number);
      counts.push(0);
      lastSeen.push(-1);
    }
    if (lastSeen[number] === record) return;
    lastSeen[number] = record;
    counts[number]++;
  });
  const gramStarts = new Int32Array(counts.length + 1);
  for (let number = 0; number < counts.length; number++) gramStarts[number + 1] = gramStarts[number] + counts[number];
  const gramRecords = new Int32Array(gramStarts[counts.length]);
  const gramTiers = new Uint8Array(gramRecords.length);
  const next = gramStarts.slice(0, counts.length);
  lastSeen.fill(-1);
  visit((gram, length, record, at) => {
    const number = grams.get(gram)!;
    if (lastSeen[number] === record) return;
    lastSeen[number] = record;
    const slot = next[number]++;
    gramRecords[slot] = record;
    gramTiers[slot] = tierAt(keys, keys.slice(at, at + length), at, recordStarts[record], labelStarts[record], recordStarts[record + 1]);
  });
  return { grams, gramStarts, gramRecords, gramTiers };
}

/**
 * The tier of a record whose first occurrence of `needle` is at `at` (in its code, or in its
 * label if the code lacks it). Tiers: 0 exact code, 1 exact label, 2 prefix code, 3 prefix
 * label, 4 substring code, 5 substring label.
 */
function tierAt(keys: string, needle: string, at: number, codeStart: number, labelStart: number, next: number): number {
  const length = needle.length;
  const codeLength = labelStart - 1 - codeStart;
  const labelLength = next - 1 - labelStart;
  if (at < labelStart) {
    const labelPrefix = keys.startsWith(needle, labelStart);
    if (at === codeStart) return codeLength === length ? 0 : labelPrefix && labelLength === length ? 1 : 2;
    return labelPrefix ? (labelLength === length ? 1 : 3) : 4;
  }
  return at === labelStart ? (labelLength === length ? 1 : 3) : 5;
}

/** Where `needle` first occurs in the record's code or label, or -1. */
function firstIn(keys: string, needle: string, codeStart: number, labelStart: number, next: number): number {
  const inCode = keys.slice(codeStart, labelStart - 1).indexOf(needle);
  if (inCode !== -1) return codeStart + inCode;
  const inLabel = keys.slice(labelStart, next - 1).indexOf(needle);
  return inLabel === -1 ? -1 : labelStart + inLabel;
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

  const { keys, recordStarts, labelStarts, grams, gramStarts, gramRecords, gramTiers } = index;
  const wanted = offset + limit;
  const counts = [0, 0, 0, 0, 0, 0];
  const tiers: number[][] = [[], [], [], [], [], []];
  if (needle.length <= 2) {
    // Every entry of the gram matches, with its tier worked out when the index was built.
    const number = grams.get(gramOf(needle, 0, needle.length as 1 | 2));
    const end = number === undefined ? 0 : gramStarts[number + 1];
    for (let slot = number === undefined ? 0 : gramStarts[number]; slot < end; slot++) {
      const tier = gramTiers[slot];
      if (counts[tier] < wanted) tiers[tier].push(gramRecords[slot]);
      counts[tier]++;
    }
  } else {
    // Only the entries holding the needle's rarest pair of characters can hold the needle.
    let rarest = -1;
    for (let at = 0; at + 1 < needle.length; at++) {
      const number = grams.get(gramOf(needle, at, 2));
      if (number === undefined) {
        rarest = -1;
        break;
      }
      if (rarest === -1 || gramStarts[number + 1] - gramStarts[number] < gramStarts[rarest + 1] - gramStarts[rarest]) rarest = number;
    }
    const end = rarest === -1 ? 0 : gramStarts[rarest + 1];
    for (let slot = rarest === -1 ? 0 : gramStarts[rarest]; slot < end; slot++) {
      const record = gramRecords[slot];
      const codeStart = recordStarts[record];
      const labelStart = labelStarts[record];
      const next = recordStarts[record + 1];
      const at = firstIn(keys, needle, codeStart, labelStart, next);
      if (at === -1) continue;
      const tier = tierAt(keys, needle, at, codeStart, labelStart, next);
      if (counts[tier] < wanted) tiers[tier].push(record);
      counts[tier]++;
    }
  }

  return { items: pageOf(index, tiers, offset, limit), total: counts.reduce((sum, count) => sum + count, 0), offset, limit, query };
}

/** The page `offset .. offset + limit` of the records listed tier after tier (each list in code order). */
export function pageOf(index: LookupIndex, tiers: readonly number[][], offset: number, limit: number): LookupItem[] {
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
  return items;
}
