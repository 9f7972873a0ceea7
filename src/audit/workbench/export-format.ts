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

/** A CSV field: quoted when needed; a leading =, +, -, @, tab or CR is defused so a spreadsheet shows it as text. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
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
 */
export function csvTrailer(summary: ExportSummary): string {
  return `${csvField(`# export: ${summary.rows} row(s); chain head #${summary.chainHead.seq} ${summary.chainHead.hash}`)},${csvField(JSON.stringify(summary))}\r\n`;
}

export function ndjsonRow(event: AuditEvent): string {
  const row: Record<string, unknown> = {};
  for (const column of EXPORT_COLUMNS) row[column] = event[column];
  return `${JSON.stringify(row)}\n`;
}

/** The NDJSON trailer: one object whose only key is `export`, so it cannot be mistaken for an event. */
export function ndjsonTrailer(summary: ExportSummary): string {
  return `${JSON.stringify({ export: summary })}\n`;
}
