import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { MAX_FIELD_VALUE_LENGTH } from '../concur/concur.types.js';
import { LookupProvider } from './lookup.provider.js';
import { prepareIndex, rankLookup, type LookupIndex } from './lookup-ranking.js';
import type { LookupItem, LookupPage } from './lookup.types.js';

export const SUPPORTED_LOOKUP_EXTENSIONS = ['.csv', '.json'] as const;

/** C0 and C1 controls, DEL, line/paragraph separators and bidirectional overrides. */
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u;

/** A lookup source that cannot be used; the message names the file and, where known, the line. */
export class LookupFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly problem: string,
  ) {
    super(line === undefined ? `Lookup file ${file}: ${problem}` : `Lookup file ${file}, line ${line}: ${problem}`);
    this.name = 'LookupFileError';
  }
}

interface SourceEntry {
  code: unknown;
  label: unknown;
  line: number | undefined;
  /** Prefix for problems with JSON items, whose line is only an aid. */
  item?: string;
}

/** A CSV (`code,label` header) or JSON (`[{ "code", "label" }]`) file, read once and searched in memory. */
export class FileLookupProvider extends LookupProvider {
  private constructor(
    private readonly index: LookupIndex,
    private readonly byCode: ReadonlyMap<string, LookupItem>,
  ) {
    super();
  }

  static fromFile(path: string): FileLookupProvider {
    const extension = extname(path).toLowerCase();
    if (!(SUPPORTED_LOOKUP_EXTENSIONS as readonly string[]).includes(extension)) {
      throw new LookupFileError(
        path,
        undefined,
        `unsupported extension "${extension || '(none)'}"; supported: ${SUPPORTED_LOOKUP_EXTENSIONS.join(', ')}`,
      );
    }
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new LookupFileError(path, undefined, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const entries = extension === '.csv' ? readCsv(text, path) : readJson(text, path);
    return FileLookupProvider.build(entries, path);
  }

  private static build(entries: SourceEntry[], file: string): FileLookupProvider {
    if (entries.length === 0) throw new LookupFileError(file, undefined, 'has no entries');
    const byCode = new Map<string, LookupItem>();
    const firstSeen = new Map<string, string>();
    for (const entry of entries) {
      const fail = (problem: string): never => {
        throw new LookupFileError(file, entry.line, entry.item ? `${entry.item}: ${problem}` : problem);
      };
      if (entry.code !== undefined && typeof entry.code !== 'string') fail('code must be a string');
      if (entry.label !== undefined && typeof entry.label !== 'string') fail('label must be a string');
      const code = ((entry.code as string | undefined) ?? '').trim();
      const label = ((entry.label as string | undefined) ?? '').trim();
      if (!code) fail('code is missing');
      if (code.length > MAX_FIELD_VALUE_LENGTH) {
        fail(`code "${code.slice(0, 20)}..." has ${code.length} characters; Concur fields hold at most ${MAX_FIELD_VALUE_LENGTH}`);
      }
      if (!label) fail(`label is missing for code "${code}"`);
      const bad = FORBIDDEN.exec(code) ?? FORBIDDEN.exec(label);
      if (bad) {
        const hex = bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
        fail(`control character U+${hex} in ${FORBIDDEN.test(code) ? 'code' : 'label'} of "${printable(code)}"`);
      }
      const earlier = firstSeen.get(code);
      if (earlier !== undefined) fail(`duplicate code "${code}" (first at ${earlier})`);
      firstSeen.set(code, [entry.item, entry.line === undefined ? undefined : `line ${entry.line}`].filter(Boolean).join(', '));
      byCode.set(code, Object.freeze({ code, label }));
    }
    return new FileLookupProvider(prepareIndex([...byCode.values()]), byCode);
  }

  search(query: string, offset: number, limit: number): Promise<LookupPage> {
    return Promise.resolve(rankLookup(this.index, query, offset, limit));
  }

  find(code: string): Promise<LookupItem | undefined> {
    return Promise.resolve(typeof code === 'string' ? this.byCode.get(code) : undefined);
  }

  size(): number {
    return this.index.items.length;
  }
}

function printable(text: string): string {
  return text.replace(new RegExp(FORBIDDEN.source, 'gu'), '?');
}

/** RFC 4180: quoted fields with "" escapes (and line breaks), CRLF or LF, blank lines skipped. */
function readCsv(text: string, file: string): SourceEntry[] {
  const records = parseCsv(text, file);
  if (records.length === 0) throw new LookupFileError(file, undefined, 'is empty; expected a header row "code,label"');
  const [header, ...rows] = records;
  const names = header.fields.map((name) => name.trim().toLowerCase());
  const codeColumn = names.indexOf('code');
  const labelColumn = names.indexOf('label');
  if (codeColumn === -1 || labelColumn === -1) {
    throw new LookupFileError(file, header.line, `the header must name the columns "code" and "label" (found "${header.fields.join(',')}")`);
  }
  const repeated = names.find((name, i) => name && names.indexOf(name) !== i);
  if (repeated) throw new LookupFileError(file, header.line, `column "${repeated}" appears twice in the header`);
  return rows.map(({ fields, line }) => {
    if (fields.length > names.length) {
      throw new LookupFileError(file, line, `${fields.length} fields but the header has ${names.length}`);
    }
    return { code: fields[codeColumn], label: fields[labelColumn], line };
  });
}

interface CsvRecord {
  fields: string[];
  line: number;
}

function parseCsv(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    let blank = true;
    for (;;) {
      let value = '';
      if (text[i] === '"') {
        blank = false;
        i++;
        for (;;) {
          if (i >= text.length) throw new LookupFileError(file, start, 'a quoted field is never closed');
          const char = text[i];
          if (char === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (char === '\n') line++;
          value += char;
          i++;
        }
        if (i < text.length && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          throw new LookupFileError(file, line, 'unexpected text after a closing quote (write a quote inside a quoted field as "")');
        }
      } else {
        let end = i;
        while (end < text.length && text[end] !== ',' && text[end] !== '\n' && !(text[end] === '\r' && text[end + 1] === '\n')) {
          if (text[end] === '"') throw new LookupFileError(file, line, 'a quote inside an unquoted field (quote the whole field and write "" for a quote)');
          end++;
        }
        value = text.slice(i, end);
        if (value.trim()) blank = false;
        i = end;
      }
      fields.push(value);
      if (text[i] === ',') {
        blank = false;
        i++;
        continue;
      }
      break;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') {
      i++;
      line++;
    }
    if (!blank) records.push({ fields, line: start });
  }
  return records;
}

function readJson(text: string, file: string): SourceEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new LookupFileError(file, undefined, `is not valid JSON (${(error as Error).message})`);
  }
  if (!Array.isArray(data)) throw new LookupFileError(file, undefined, 'must hold a JSON array of {"code", "label"} objects');
  const lines = elementLines(text);
  return data.map((element: unknown, i) => {
    const item = `item ${i}`;
    if (element === null || typeof element !== 'object' || Array.isArray(element)) {
      throw new LookupFileError(file, lines[i], `${item} must be an object with "code" and "label"`);
    }
    const { code, label } = element as Record<string, unknown>;
    return { code, label, line: lines[i], item };
  });
}

/** Line on which each element of a top-level JSON array starts, for error messages. */
function elementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let expectElement = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\n') {
      line++;
      continue;
    }
    if (char === ' ' || char === '\t' || char === '\r') continue;
    if (expectElement && char !== ']') {
      lines.push(line);
      expectElement = false;
    }
    if (char === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (char === '[' || char === '{') {
      depth++;
      if (depth === 1) expectElement = true;
    } else if (char === ']' || char === '}') {
      depth--;
    } else if (char === ',' && depth === 1) {
      expectElement = true;
    }
  }
  return lines;
}
