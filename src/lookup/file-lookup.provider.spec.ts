import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { FileLookupProvider, LookupFileError } from './file-lookup.provider.js';

const dir = mkdtempSync(join(tmpdir(), 'clc-lookup-'));
let counter = 0;

function write(text: string, extension = 'csv'): string {
  const path = join(dir, `source-${++counter}.${extension}`);
  writeFileSync(path, text, 'utf8');
  return path;
}

function failure(path: string): LookupFileError {
  try {
    FileLookupProvider.fromFile(path);
  } catch (error) {
    expect(error).toBeInstanceOf(LookupFileError);
    return error as LookupFileError;
  }
  throw new Error(`${path} was accepted`);
}

async function all(provider: FileLookupProvider) {
  return (await provider.search('', 0, 100)).items;
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe(FileLookupProvider.name, () => {
  describe('CSV', () => {
    it('reads quoted fields, escaped quotes, commas and line breaks inside quotes', async () => {
      const provider = FileLookupProvider.fromFile(
        write('code,label\nPRJ-1,"Research, development"\n"PRJ-2","Project ""Phoenix"""\nPRJ-3,  padded  \n'),
      );
      expect(await all(provider)).toEqual([
        { code: 'PRJ-1', label: 'Research, development' },
        { code: 'PRJ-2', label: 'Project "Phoenix"' },
        { code: 'PRJ-3', label: 'padded' },
      ]);
      expect(provider.size()).toBe(3);
    });

    it('accepts CRLF line ends, a byte order mark and blank lines, and no final line break', async () => {
      const provider = FileLookupProvider.fromFile(write('\uFEFFcode,label\r\n\r\nA-1,Alpha\r\n   \r\nB-2,"Beta\r\n"\r\n\nC-3,Gamma'));
      const error = failure(write('\uFEFFcode,label\r\n\r\nA-1,Alpha\r\nB-2,"Be\r\nta"\r\n'));
      expect(error.message).toContain('line 4');
      expect(error.message).toContain('control character U+000D');
      expect(await all(provider)).toEqual([
        { code: 'A-1', label: 'Alpha' },
        { code: 'B-2', label: 'Beta' },
        { code: 'C-3', label: 'Gamma' },
      ]);
    });

    it('finds the columns by header name, in any order and case, ignoring extra columns', async () => {
      const provider = FileLookupProvider.fromFile(write('Label,active,CODE\nZürich office fit-out,yes,PRJ-1040\n'));
      expect(await all(provider)).toEqual([{ code: 'PRJ-1040', label: 'Zürich office fit-out' }]);
    });

    it.each([
      ['a missing code', 'code,label\nA-1,Alpha\n,Nameless\n', 3, 'code is missing'],
      ['a missing label', 'code,label\nA-1,Alpha\nB-2\n', 3, 'label is missing for code "B-2"'],
      ['an empty label', 'code,label\n\nA-1,Alpha\nB-2,  \n', 4, 'label is missing for code "B-2"'],
      ['a code over 48 characters', `code,label\n${'X'.repeat(49)},Too long\n`, 2, 'at most 48'],
      ['a duplicate code', 'code,label\nA-1,Alpha\nB-2,Beta\nA-1,Again\n', 4, 'duplicate code "A-1" (first at line 2)'],
      ['a tab in a label', 'code,label\nA-1,Al\tpha\n', 2, 'control character U+0009 in label'],
      ['a control character in a code', 'code,label\nA-\u00071,Alpha\n', 2, 'control character U+0007 in code'],
      ['a bidirectional override', 'code,label\nA-1,evil\u202Etxt\n', 2, 'control character U+202E'],
      ['an unclosed quote', 'code,label\nA-1,Alpha\nB-2,"Beta\nC-3,Gamma\n', 3, 'quoted field is never closed'],
      ['text after a closing quote', 'code,label\nA-1,"Al"pha\n', 2, 'unexpected text after a closing quote'],
      ['a quote inside an unquoted field', 'code,label\nA-1,Al"pha\n', 2, 'quote inside an unquoted field'],
      ['too many fields', 'code,label\nA-1,Alpha,extra\n', 2, '3 fields but the header has 2'],
      ['a header without code', 'id,label\nA-1,Alpha\n', 1, 'must name the columns "code" and "label"'],
      ['a repeated header column', 'code,label,code\nA-1,Alpha,B\n', 1, 'column "code" appears twice'],
    ])('refuses %s, naming the file and the line', (_, text, line, problem) => {
      const path = write(text);
      const error = failure(path);
      expect(error.message).toContain(path);
      expect(error.message).toContain(`line ${line}:`);
      expect(error.message).toContain(problem);
      expect(error.line).toBe(line);
    });

    it('accepts a code of exactly 48 characters', async () => {
      const code = 'X'.repeat(48);
      expect(await FileLookupProvider.fromFile(write(`code,label\n${code},Longest\n`)).find(code)).toEqual({ code, label: 'Longest' });
    });

    it('refuses an empty file and a file with only a header', () => {
      const empty = write('\uFEFF\n\n');
      expect(failure(empty).message).toBe(`Lookup file ${empty}: is empty; expected a header row "code,label"`);
      expect(failure(write('code,label\n')).message).toContain('has no entries');
    });
  });

  describe('JSON', () => {
    it('reads an array of {code, label}', async () => {
      const provider = FileLookupProvider.fromFile(
        write(JSON.stringify([{ code: 'PRJ-10', label: 'Ten', owner: 'ignored' }, { code: 'PRJ-9', label: '東京 office move' }]), 'json'),
      );
      expect(await all(provider)).toEqual([
        { code: 'PRJ-9', label: '東京 office move' },
        { code: 'PRJ-10', label: 'Ten' },
      ]);
    });

    it.each([
      ['a missing code', '[\n  {"code": "A", "label": "a"},\n  {"label": "b"}\n]', 'line 3: item 1: code is missing'],
      ['a number as code', '[\n  {"code": 7,\n   "label": "a"}\n]', 'line 2: item 0: code must be a string'],
      ['a missing label', '[{"code": "A", "label": "a"},\n{"code": "B"}]', 'line 2: item 1: label is missing'],
      ['a duplicate code', '[\n{"code": "A", "label": "a"},\n{"code": "A", "label": "b"}]', 'line 3: item 1: duplicate code "A" (first at item 0, line 2)'],
      ['an item that is not an object', '[\n{"code": "A", "label": "a, \\"quoted\\" [x]"},\n"B"\n]', 'line 3: item 1 must be an object'],
    ])('refuses %s, naming the file, line and item', (_, text, problem) => {
      const path = write(text, 'json');
      const error = failure(path);
      expect(error.message).toContain(path);
      expect(error.message).toContain(problem);
    });

    it('refuses invalid JSON and a top level that is not an array', () => {
      expect(failure(write('[{"code": "A",', 'json')).message).toContain('is not valid JSON');
      expect(failure(write('{"code": "A", "label": "a"}', 'json')).message).toContain('must hold a JSON array');
    });
  });

  it('refuses other extensions and says which are supported', () => {
    const path = write('code: A', 'yaml');
    const error = failure(path);
    expect(error.message).toContain(path);
    expect(error.message).toContain('supported: .csv, .json');
  });

  it('says when the file cannot be read', () => {
    expect(failure(join(dir, 'missing.csv')).message).toContain('cannot be read (ENOENT)');
  });

  describe('find and search', () => {
    const provider = FileLookupProvider.fromFile(
      write(['code,label', ...Array.from({ length: 150 }, (_, i) => `PRJ-${1001 + i},Project ${i}`), 'prj-1001,Lower case twin'].join('\n')),
    );

    it('finds a code only by its exact spelling', async () => {
      expect(await provider.find('PRJ-1001')).toEqual({ code: 'PRJ-1001', label: 'Project 0' });
      expect(await provider.find('prj-1001')).toEqual({ code: 'prj-1001', label: 'Lower case twin' });
      expect(await provider.find('Prj-1001')).toBeUndefined();
      expect(await provider.find(' PRJ-1001')).toBeUndefined();
      expect(await provider.find('Project 0')).toBeUndefined();
    });

    it('pages with offset and a limit capped at 100', async () => {
      const page = await provider.search('prj', 100, 500);
      expect(page).toMatchObject({ total: 151, offset: 100, limit: 100, query: 'prj' });
      expect(page.items).toHaveLength(51);
      expect((await provider.search('project 14', 0, 3)).items.map((item) => item.code)).toEqual(['PRJ-1015', 'PRJ-1141', 'PRJ-1142']);
    });
  });
});
