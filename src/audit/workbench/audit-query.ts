import { BadRequestException } from '@nestjs/common';
import { MAX_PAGE_SIZE } from '../audit.service.js';
import { AUDIT_EVENT_TYPES, AUDIT_OUTCOMES, type AuditEventType, type AuditFilter, type AuditOutcome } from '../audit.types.js';

/** Query parameters of a search or an export, as the pages and the API name them, and the filter each sets. */
export const FILTER_PARAMS = {
  from: 'from',
  to: 'to',
  tenant: 'tenantId',
  company: 'companyDomain',
  user: 'actingUser',
  owner: 'reportOwner',
  item: 'item',
  field: 'field',
  type: 'type',
  outcome: 'outcome',
  launch: 'launchId',
  correlation: 'correlationId',
} as const satisfies Record<string, keyof AuditFilter>;

export type FilterParam = keyof typeof FILTER_PARAMS;

const OTHER_PARAMS = ['cursor', 'limit', 'format'] as const;
const MAX_VALUE_LENGTH = 2048;
export const DEFAULT_PAGE_SIZE = 50;
export const EXPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** `2026-03-01`, `2026-03-01T09:30`, `2026-03-01T09:30:00Z`, `2026-03-01T09:30:00.000+01:00`; no zone means UTC. */
const TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

export interface AuditQuery {
  filter: AuditFilter;
  /** The filter as given, parameter by parameter: for links (next page, export) and the audit of the read. */
  params: Partial<Record<FilterParam, string>>;
  cursor?: string;
  limit: number;
  format?: ExportFormat;
}

/**
 * Reads the filters, cursor, page size and export format of a query string. Everything wrong is
 * reported at once in a 400: an unknown parameter, one given twice, a value too long, a time that
 * is not ISO-8601, an event type or outcome that does not exist, a range that ends before it starts.
 * Empty values are ignored, as a search form sends every field.
 */
export function parseAuditQuery(query: Record<string, unknown>): AuditQuery {
  const problems: string[] = [];
  const known = new Set<string>([...Object.keys(FILTER_PARAMS), ...OTHER_PARAMS]);
  const text: Record<string, string> = {};
  for (const [name, raw] of Object.entries(query ?? {})) {
    if (!known.has(name)) {
      problems.push(`unknown parameter "${name.slice(0, 40)}" (known: ${[...known].join(', ')})`);
      continue;
    }
    if (typeof raw !== 'string') {
      problems.push(`${name} is given more than once`);
      continue;
    }
    if (raw.length > MAX_VALUE_LENGTH) {
      problems.push(`${name} is longer than ${MAX_VALUE_LENGTH} characters`);
      continue;
    }
    const value = raw.trim();
    if (value !== '') text[name] = value;
  }

  const filter: AuditFilter = {};
  const params: AuditQuery['params'] = {};
  for (const [param, key] of Object.entries(FILTER_PARAMS) as Array<[FilterParam, keyof AuditFilter]>) {
    const value = text[param];
    if (value === undefined) continue;
    params[param] = value;
    if (param === 'from' || param === 'to') {
      const time = parseTime(value);
      if (time === undefined) problems.push(`${param} "${value.slice(0, 40)}" is not a time: use ISO-8601, e.g. 2026-03-01 or 2026-03-01T09:30:00Z (UTC when no zone is given)`);
      else filter[param] = time;
    } else if (param === 'type') {
      if (!(AUDIT_EVENT_TYPES as readonly string[]).includes(value)) problems.push(`type "${value.slice(0, 40)}" is not an event type (${AUDIT_EVENT_TYPES.join(', ')})`);
      else filter.type = value as AuditEventType;
    } else if (param === 'outcome') {
      if (!(AUDIT_OUTCOMES as readonly string[]).includes(value)) problems.push(`outcome "${value.slice(0, 40)}" is not one of ${AUDIT_OUTCOMES.join(', ')}`);
      else filter.outcome = value as AuditOutcome;
    } else {
      (filter as Record<string, string>)[key] = value;
    }
  }
  if (filter.from && filter.to && filter.from >= filter.to) problems.push(`the time range is empty: from (${filter.from}) must be before to (${filter.to})`);

  let limit = DEFAULT_PAGE_SIZE;
  if (text.limit !== undefined) {
    if (!/^\d{1,4}$/.test(text.limit) || Number(text.limit) < 1 || Number(text.limit) > MAX_PAGE_SIZE) problems.push(`limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
    else limit = Number(text.limit);
  }
  let format: ExportFormat | undefined;
  if (text.format !== undefined) {
    if (!(EXPORT_FORMATS as readonly string[]).includes(text.format)) problems.push(`format must be ${EXPORT_FORMATS.join(' or ')}`);
    else format = text.format as ExportFormat;
  }
  if (problems.length > 0) throw new BadRequestException(`The search cannot run: ${problems.join('; ')}.`);
  return { filter, params, cursor: text.cursor, limit, format };
}

/** An ISO-8601 time as the log stores it (UTC, milliseconds), or undefined when it is not one. */
function parseTime(value: string): string | undefined {
  if (!TIME.test(value)) return undefined;
  const zoned = value.length === 10 ? `${value}T00:00:00Z` : /(Z|[+-]\d{2}:\d{2})$/.test(value) ? value : `${value}Z`;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** A query string of the filter params plus extras (cursor, format), for links. */
export function queryString(params: AuditQuery['params'], extra: Record<string, string | undefined> = {}): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries({ ...params, ...extra })) if (value !== undefined) search.set(name, value);
  const text = search.toString();
  return text ? `?${text}` : '';
}
