import { csvField, csvTrailer, ndjsonTrailer } from './export-format.js';

describe('export format', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=SUM(A1)', "'=SUM(A1)"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@cmd', "'@cmd"],
    ['=A1,B1', `"'=A1,B1"`],
    [null, ''],
    [42, '42'],
  ])('writes %j as the CSV cell %s', (value, cell) => {
    expect(csvField(value)).toBe(cell);
  });

  it('ends an export with the filter, the row count and the chain head', () => {
    const summary = { exportedAt: '2026-01-01T00:00:00.000Z', filter: { user: 'a,"b"' }, rows: 3, chainHead: { seq: 9, hash: 'ab' } };
    expect(csvTrailer(summary)).toBe(`# export: 3 row(s); chain head #9 ab,"${JSON.stringify(summary).replaceAll('"', '""')}"\r\n`);
    expect(JSON.parse(ndjsonTrailer(summary))).toEqual({ export: summary });
  });
});
