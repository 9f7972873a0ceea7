import { escapeUntrustedText, stringifyUntrusted } from '../../common/untrusted-text.js';
import type { AuditEvent, ChainHead } from '../audit.types.js';

/** Columns of a CSV export, in order; NDJSON objects carry the same names. */
export const EXPORT_COLUMNS = [
  'seq', 'id', 'occurredAt', 'type', 'outcome', 'tenantId', 'companyDomain', 'actingUser', 'reportOwner', 'itemUrl',
  'launchId', 'field', 'oldValue', 'newValue', 'reason', 'correlationId', 'clientIp', 'userAgent', 'prevHash', 'hash',
] as const satisfies ReadonlyArray<keyof AuditEvent>;

/** What the last line of an export says: the filter, how many rows, and the chain head when the export began. */
export interface ExportSummary {
  exportedAt: string;
  filter: Record<string, string>;
  rows: number;
  chainHead: ChainHead;
}

/** A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV Injection"). */
const FORMULA_START = /^[=+\-@\t\r]/;
/**
 * A cell starting with `;` and a formula character: with `;` as the separator (many European
 * locales) a reader that splits before it unquotes would see a cell starting with the formula.
 */
const SEPARATED_FORMULA_START = /^;[=+\-@\t\r]/;
/** The separators of every common locale (`,` `;` tab `|`), quotes and line ends: the cell is quoted. */
const NEEDS_QUOTES = /[,;\t|"\r\n]/;

/**
 * One CSV cell of text as it is: a cell a spreadsheet would run as a formula gets a leading `'`
 * (shown as text, the OWASP advice), and a cell holding a separator of any common locale, a
 * quote or a line end is quoted with its quotes doubled.
 */
export function csvCell(text: string): string {
  const defused = FORMULA_START.test(text) || SEPARATED_FORMULA_START.test(text) ? `'${text}` : text;
  return NEEDS_QUOTES.test(defused) ? `"${defused.replaceAll('"', '""')}"` : defused;
}

/**
 * A CSV field of untrusted text: controls, bidi and invisible characters written as visible
 * `\uXXXX` escapes (backslashes doubled, so it reads back exactly), then defused and quoted.
 */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  return csvCell(escapeUntrustedText(String(value)));
}

export function csvHeader(): string {
  return `${EXPORT_COLUMNS.join(',')}\r\n`;
}

export function csvRow(event: AuditEvent): string {
  return `${EXPORT_COLUMNS.map((column) => csvField(event[column])).join(',')}\r\n`;
}

/**
 * The CSV trailer: one line starting with `#`, outside the columns (spreadsheets show it as a last
 * row; a CSV reader can skip lines starting with #), then the summary as JSON in the second field.
 * The first field holds no separator of any locale, so it is never quoted and the line keeps its `#`.
 */
export function csvTrailer(summary: ExportSummary): string {
  return `${csvField(`# export: ${summary.rows} row(s) up to chain head #${summary.chainHead.seq} ${summary.chainHead.hash}`)},${csvCell(stringifyUntrusted(summary))}\r\n`;
}

/**
 * One event as a JSON line, the stored text exactly: JSON parsers read the `\uXXXX` escapes of
 * bidi and invisible characters back as the characters stored.
 */
export function ndjsonRow(event: AuditEvent): string {
  const row: Record<string, unknown> = {};
  for (const column of EXPORT_COLUMNS) row[column] = event[column];
  return `${stringifyUntrusted(row)}\n`;
}

/** The NDJSON trailer: one object whose only key is `export`, so it cannot be mistaken for an event. */
export function ndjsonTrailer(summary: ExportSummary): string {
  return `${stringifyUntrusted({ export: summary })}\n`;
}
