import { describe, expect, it } from '@jest/globals';
import { MAX_PAGE_SIZE, MAX_QUERY_LENGTH, cleanQuery, compareCodes, prepareIndex, rankLookup, searchKey } from './lookup-ranking.js';
import type { LookupItem } from './lookup.types.js';

const codes = (items: LookupItem[]) => items.map((item) => item.code);

describe('rankLookup', () => {
  const index = prepareIndex([
    { code: 'N-1', label: 'nothing here' },
    { code: 'Y-1', label: 'slab' },
    { code: 'XAB', label: 'q' },
    { code: 'Z-1', label: 'abacus' },
    { code: 'ABC', label: 'q' },
    { code: 'X-1', label: 'AB' },
    { code: 'ab', label: 'zzz' },
  ]);

  it('puts exact matches before prefix matches before substring matches', () => {
    const page = rankLookup(index, 'ab', 0, 20);
    expect(codes(page.items)).toEqual(['ab', 'X-1', 'ABC', 'Z-1', 'XAB', 'Y-1']);
    expect(page.total).toBe(6);
  });

  it('puts code matches before label-only matches of the same strength, then orders by code', () => {
    const page = rankLookup(
      prepareIndex([
        { code: 'A-1', label: 'prj office' },
        { code: 'PRJ-100', label: 'x' },
        { code: 'PRJ-9', label: 'x' },
        { code: 'PRJ-10', label: 'x' },
        { code: 'B-2', label: 'the prj team' },
        { code: 'OLD-PRJ-2', label: 'x' },
      ]),
      'prj',
      0,
      20,
    );
    expect(codes(page.items)).toEqual(['PRJ-9', 'PRJ-10', 'PRJ-100', 'A-1', 'OLD-PRJ-2', 'B-2']);
  });

  it('ranks an entry by its best match: an exact label beats a code prefix', () => {
    const page = rankLookup(
      prepareIndex([
        { code: 'CAFE-1', label: 'Bistro' },
        { code: 'CAFE-2', label: 'cafe' },
      ]),
      'cafe',
      0,
      20,
    );
    expect(codes(page.items)).toEqual(['CAFE-2', 'CAFE-1']);
  });

  it('is case-insensitive, also for non-ASCII text and full-width forms', () => {
    const international = prepareIndex([
      { code: 'PRJ-1040', label: 'Zürich office fit-out' },
      { code: 'PRJ-1041', label: 'Café renovation' },
      { code: 'PRJ-1042', label: '東京 office move' },
      { code: 'PRJ-1043', label: 'ÆRØSKØBING ferry' },
    ]);
    expect(codes(rankLookup(international, 'ZÜRICH', 0, 20).items)).toEqual(['PRJ-1040']);
    expect(codes(rankLookup(international, 'CAFÉ', 0, 20).items)).toEqual(['PRJ-1041']);
    expect(codes(rankLookup(international, '東京', 0, 20).items)).toEqual(['PRJ-1042']);
    expect(codes(rankLookup(international, 'ærøskøbing', 0, 20).items)).toEqual(['PRJ-1043']);
    expect(rankLookup(international, 'ＰＲＪ－１０４２', 0, 20).items).toEqual([{ code: 'PRJ-1042', label: '東京 office move' }]);
  });

  it('returns every entry ordered by code for an empty or blank query', () => {
    const all = prepareIndex([
      { code: 'PRJ-10', label: 'b' },
      { code: 'CC-4100', label: 'c' },
      { code: 'PRJ-9', label: 'a' },
    ]);
    for (const query of ['', '   ', '\t\n']) {
      const page = rankLookup(all, query, 0, 20);
      expect(codes(page.items)).toEqual(['CC-4100', 'PRJ-9', 'PRJ-10']);
      expect(page.total).toBe(3);
      expect(page.query).toBe('');
    }
  });

  it('pages through the ranked list across tiers and keeps the total', () => {
    const first = rankLookup(index, 'ab', 0, 2);
    const second = rankLookup(index, 'ab', 2, 2);
    const third = rankLookup(index, 'ab', 4, 2);
    const beyond = rankLookup(index, 'ab', 10, 2);
    expect([first, second, third].flatMap((page) => codes(page.items))).toEqual(['ab', 'X-1', 'ABC', 'Z-1', 'XAB', 'Y-1']);
    expect([first.total, second.total, third.total, beyond.total]).toEqual([6, 6, 6, 6]);
    expect(beyond.items).toEqual([]);
    expect(second).toMatchObject({ offset: 2, limit: 2, query: 'ab' });
  });

  it('caps the limit at 100 and repairs negative or missing paging values', () => {
    const many = prepareIndex(Array.from({ length: 250 }, (_, i) => ({ code: `C-${i}`, label: 'x' })));
    const capped = rankLookup(many, 'c-', 0, 1000);
    expect(capped.items).toHaveLength(MAX_PAGE_SIZE);
    expect(capped.limit).toBe(MAX_PAGE_SIZE);
    expect(capped.total).toBe(250);
    expect(rankLookup(many, '', -5, 3)).toMatchObject({ offset: 0, limit: 3 });
    expect(rankLookup(many, '', Number.NaN, Number.NaN)).toMatchObject({ offset: 0, limit: 0, items: [], total: 250 });
    expect(codes(rankLookup(many, '', 248, 10).items)).toEqual(['C-248', 'C-249']);
  });

  it('trims the query and caps it at 100 characters', () => {
    const long = prepareIndex([{ code: 'L-1', label: 'a'.repeat(MAX_QUERY_LENGTH) }]);
    const page = rankLookup(long, `  ${'a'.repeat(MAX_QUERY_LENGTH)}bbbb  `, 0, 20);
    expect(page.query).toBe('a'.repeat(MAX_QUERY_LENGTH));
    expect(codes(page.items)).toEqual(['L-1']);
    expect(cleanQuery(`  ${'東'.repeat(150)}`)).toBe('東'.repeat(MAX_QUERY_LENGTH));
    expect(cleanQuery('😀'.repeat(150))).toBe('😀'.repeat(MAX_QUERY_LENGTH));
    expect(cleanQuery(undefined)).toBe('');
  });

  it('never matches across the boundary between code and label or between entries', () => {
    const pair = prepareIndex([
      { code: 'AB', label: 'CD' },
      { code: 'EF', label: 'GH' },
    ]);
    expect(rankLookup(pair, 'ab\u0000cd', 0, 20).total).toBe(0);
    expect(rankLookup(pair, 'cd\u0001ef', 0, 20).total).toBe(0);
    expect(rankLookup(pair, 'bc', 0, 20).total).toBe(0);
    expect(rankLookup(pair, 'dE', 0, 20).total).toBe(0);
  });

  it('agrees with a straightforward sort-based ranking on generated data', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const alphabet = ['a', 'b', 'B', 'ä', '1', '2', '-', ' '];
    const word = (n: number) => Array.from({ length: 1 + Math.floor(random() * n) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    const items = new Map<string, LookupItem>();
    while (items.size < 400) {
      const code = word(5);
      items.set(code, { code, label: word(7) });
    }
    const data = prepareIndex([...items.values()]);
    for (const query of ['a', 'b', 'ä1', '1', '12', 'B-', 'ab', 'x']) {
      const needle = searchKey(query);
      const strength = (text: string) => {
        const key = searchKey(text);
        return key === needle ? 0 : key.startsWith(needle) ? 1 : key.includes(needle) ? 2 : 3;
      };
      const expected = [...items.values()]
        .map((item) => {
          const code = strength(item.code);
          const best = Math.min(code, strength(item.label));
          return { item, tier: best * 2 + (code === best ? 0 : 1), best };
        })
        .filter((entry) => entry.best < 3)
        .sort((x, y) => x.tier - y.tier || compareCodes(x.item.code, y.item.code))
        .map((entry) => entry.item.code);
      const page = rankLookup(data, query, 3, 50);
      expect(page.total).toBe(expected.length);
      expect(codes(page.items)).toEqual(expected.slice(3, 53));
    }
  });

  it('ranks correctly over 100,000 entries', () => {
    const big = prepareIndex(Array.from({ length: 100_000 }, (_, i) => ({ code: `PRJ-${i}`, label: `Project number ${i}` })));
    const exact = rankLookup(big, 'prj-99999', 0, 5);
    expect(codes(exact.items)).toEqual(['PRJ-99999']);
    const prefix = rankLookup(big, 'PRJ-1234', 0, 3);
    expect(codes(prefix.items)).toEqual(['PRJ-1234', 'PRJ-12340', 'PRJ-12341']);
    expect(prefix.total).toBe(11);
    expect(rankLookup(big, 'project', 99_990, 100).items).toHaveLength(10);
  });
});
