import type { AuditEvent } from '../audit.types.js';
import { csvCell, csvField, csvTrailer, ndjsonRow, ndjsonTrailer } from './export-format.js';

describe('export format', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
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

  describe('defuses every cell a spreadsheet would run as a formula (OWASP CSV injection)', () => {
    it.each([
      ['=1+1', "'=1+1"],
      ['+cmd|x', `"'+cmd|x"`],
      ['-2+3', "'-2+3"],
      ['@SUM(A1)', "'@SUM(A1)"],
      ['\tTAB', `"'\tTAB"`],
      ['\rCR', `"'\rCR"`],
      [';=1+1', `"';=1+1"`],
      [';+1', `"';+1"`],
      [';-1', `"';-1"`],
      [';@x', `"';@x"`],
      [';\t=1', `"';\t=1"`],
      [';\r=1', `"';\r=1"`],
    ])('%j becomes %s', (text, cell) => {
      expect(csvCell(text)).toBe(cell);
    });

    it.each(['a=1', 'x-1', ';a', ' =1'])('leaves %j undefused (no formula start)', (text) => {
      expect(csvCell(text).startsWith("'") || csvCell(text).startsWith(`"'`)).toBe(false);
    });
  });

  it.each([
    ['a;b', '"a;b"'],
    ['a\tb', '"a\tb"'],
    ['a|b', '"a|b"'],
    ['a,b', '"a,b"'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rhere', '"cr\rhere"'],
    ['q"q', '"q""q"'],
  ])('quotes %j, which holds a separator of some locale, a quote or a line end', (text, cell) => {
    expect(csvCell(text)).toBe(cell);
  });

  it('writes control, bidi and invisible characters as visible escapes, and backslashes doubled', () => {
    expect(csvField('acme\u202Emoc.evil')).toBe('acme\\u202Emoc.evil');
    expect(csvField('al\u200Bice')).toBe('al\\u200Bice');
    expect(csvField('two\nlines')).toBe('two\\u000Alines');
    expect(csvField('\u0085\u061C\u00AD\uFEFF\u{E0041}')).toBe('\\u0085\\u061C\\u00AD\\uFEFF\\u{E0041}');
    expect(csvField('DOMAIN\\user \\u202E')).toBe('DOMAIN\\\\user \\\\u202E');
    // An escaped tab no longer starts the cell, and ";" still gets the cell quoted.
    expect(csvField('\t=1;2')).toBe('"\\u0009=1;2"');
    expect(csvField('\u202E=1')).toBe('\\u202E=1');
  });

  it('writes NDJSON that a JSON parser reads back as the stored text, with bidi and invisible characters as \\u escapes', () => {
    const stored = 'acme\u202Emoc.evil\u200B\u2066x\u2069\u{E0041}\u0000\n\\u202E';
    const event = { seq: 1, companyDomain: stored, actingUser: 'al\u200Bice' } as unknown as AuditEvent;
    const line = ndjsonRow(event);
    expect(line).not.toMatch(/[\u202E\u200B\u2066\u2069\u0000]/u);
    expect(line).toContain('acme\\u202emoc.evil\\u200b\\u2066x\\u2069\\udb40\\udc41\\u0000\\n\\\\u202E');
    expect(JSON.parse(line)).toMatchObject({ seq: 1, companyDomain: stored, actingUser: 'al\u200Bice' });
  });

  it('ends an export with the filter, the row count and the chain head', () => {
    const summary = { exportedAt: '2026-01-01T00:00:00.000Z', filter: { user: 'a,"b"\u202E' }, rows: 3, chainHead: { seq: 9, hash: 'ab' } };
    const json = JSON.stringify(summary).replace('\u202E', '\\u202e');
    expect(csvTrailer(summary)).toBe(`# export: 3 row(s) up to chain head #9 ab,"${json.replaceAll('"', '""')}"\r\n`);
    expect(JSON.parse(ndjsonTrailer(summary))).toEqual({ export: summary });
  });
});
