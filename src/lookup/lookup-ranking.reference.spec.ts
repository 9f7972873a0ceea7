import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { cleanQuery, clampPaging, pageOf, prepareIndex, rankLookup, searchKey, type LookupIndex } from './lookup-ranking.js';
import type { LookupItem, LookupPage } from './lookup.types.js';

/**
 * The ranking as it was before the gram index: one `indexOf` scan over every key, the tier
 * worked out at each match. Kept verbatim (all but the paging, which is shared) as the reference
 * the indexed ranking must equal.
 */
function referenceRank(index: LookupIndex, rawQuery: string, rawOffset: number, rawLimit: number): LookupPage {
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
  return { items: pageOf(index, tiers, offset, limit), total: counts.reduce((sum, count) => sum + count, 0), offset, limit, query };
}

// A small alphabet so that needles hit often, with case, width, accents, a space, an astral
// character (two UTF-16 units, each a gram) and a control character (searched as a space).
const ALPHABET = ['a', 'b', 'A', 'B', 'ab', 'ba', ' ', '-', '1', 'é', 'É', 'ｂ', '東', '😀', '\u0007'];
const text = (max: number) => fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: max }).map((parts) => parts.join(''));
const entries = fc
  .uniqueArray(fc.record({ code: text(5), label: text(8) }), { selector: (entry) => entry.code, minLength: 1, maxLength: 40 })
  .map((items): LookupItem[] => items);

describe('rankLookup with the gram index', () => {
  it('answers every query, page and size exactly as the full scan does', () => {
    fc.assert(
      fc.property(
        entries,
        fc.oneof(text(6), fc.constantFrom('', ' ', 'x', 'b', 'ab', 'aba', '😀', '\ud83d', 'b a', 'ab -1')),
        fc.nat(50),
        fc.integer({ min: 0, max: 100 }),
        (items, query, offset, limit) => {
          const index = prepareIndex(items);
          expect(rankLookup(index, query, offset, limit)).toEqual(referenceRank(index, query, offset, limit));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('also for a needle that is one of an entry\'s own codes, labels or their pieces', () => {
    fc.assert(
      fc.property(entries, fc.nat(), fc.nat(), fc.nat(), (items, pick, from, span) => {
        const index = prepareIndex(items);
        const source = pick % 2 ? items[pick % items.length].code : items[pick % items.length].label;
        const start = from % source.length;
        const query = source.slice(start, start + 1 + (span % source.length));
        expect(rankLookup(index, query, 0, 100)).toEqual(referenceRank(index, query, 0, 100));
      }),
      { numRuns: 3000 },
    );
  });

  it('counts a gram once per entry, however often the entry holds it', () => {
    const index = prepareIndex([
      { code: 'AAA', label: 'aaaa' },
      { code: 'B', label: 'baa' },
    ]);
    expect(rankLookup(index, 'a', 0, 10)).toMatchObject({ total: 2, items: [{ code: 'AAA' }, { code: 'B' }] });
    expect(rankLookup(index, 'aa', 0, 10)).toMatchObject({ total: 2, items: [{ code: 'AAA' }, { code: 'B' }] });
    expect(rankLookup(index, 'aaaa', 0, 10)).toMatchObject({ total: 1, items: [{ code: 'AAA' }] });
    expect(rankLookup(index, 'a a', 0, 10).total).toBe(0);
  });
});
