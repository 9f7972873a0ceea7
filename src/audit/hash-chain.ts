import { createHash } from 'node:crypto';
import type { AuditEventTable } from '../database/database.types.js';
import type { ChainVerification } from './audit.types.js';

/** prev_hash of event #1. */
export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every depth and no whitespace; `undefined` members are dropped. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
}

type HashedRow = Omit<AuditEventTable, 'hash'>;

// Listed, not spread: a column added later must not silently change the hash of old rows.
const HASHED_COLUMNS = {
  seq: true,
  id: true,
  occurred_at: true,
  event_type: true,
  outcome: true,
  tenant_id: true,
  company_domain: true,
  acting_user: true,
  report_owner: true,
  item_url: true,
  launch_id: true,
  field: true,
  old_value: true,
  new_value: true,
  reason: true,
  correlation_id: true,
  client_ip: true,
  user_agent: true,
  prev_hash: true,
} as const satisfies Record<keyof HashedRow, true>;

/** sha256 hex over every column but `hash` (so including seq and prev_hash). */
export function eventHash(row: HashedRow): string {
  const hashed: Record<string, unknown> = {};
  for (const column of Object.keys(HASHED_COLUMNS) as Array<keyof HashedRow>) {
    hashed[column] = column === 'seq' ? Number(row.seq) : (row[column] ?? null);
  }
  return createHash('sha256').update(canonicalJson(hashed), 'utf8').digest('hex');
}

/** Where a chain starts: #1 after the genesis hash, or the first event kept after a retention purge. */
export interface ChainStart {
  seq: number;
  prevHash: string;
}

/** Walks rows in seq order from `start` and reports the first event that is missing, out of place or altered. */
export async function verifyChain(
  rows: Iterable<AuditEventTable> | AsyncIterable<AuditEventTable>,
  start: ChainStart = { seq: 1, prevHash: GENESIS_HASH },
): Promise<ChainVerification> {
  const firstSeq = start.seq;
  let expected = start.seq;
  let prevHash = start.prevHash;
  for await (const row of rows) {
    const seq = Number(row.seq);
    const broken = (why: string): ChainVerification => ({ intact: false, brokenAt: expected, why, intactUpTo: expected - 1, firstSeq });
    if (seq > expected) return broken(`event #${expected} is missing`);
    if (seq !== expected) return broken(`event #${expected} is out of order (found #${row.seq})`);
    if (eventHash(row) !== row.hash) return broken(`event #${seq} was altered`);
    if (row.prev_hash !== prevHash) return broken(`event #${seq} does not follow #${seq - 1}`);
    prevHash = row.hash;
    expected += 1;
  }
  return { intact: true, count: expected - firstSeq, firstSeq, headSeq: expected - 1, headHash: prevHash };
}
