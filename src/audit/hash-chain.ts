import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
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

// hash_alg is left out on purpose: it marks the writer for the database's guard against replicas
// without the chain key (migration 006), it is not content. Anyone who can write a row can write
// it, so verification decides by the seal and the key alone.
type HashedRow = Omit<AuditEventTable, 'hash' | 'hash_alg'>;

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

/** The canonical JSON of every column but `hash` (so including seq and prev_hash): what an event's hash covers. */
function hashedContent(row: HashedRow): string {
  const hashed: Record<string, unknown> = {};
  for (const column of Object.keys(HASHED_COLUMNS) as Array<keyof HashedRow>) {
    hashed[column] = column === 'seq' ? Number(row.seq) : (row[column] ?? null);
  }
  return canonicalJson(hashed);
}

/**
 * Plain sha256 hex of the event: the hash of events written before the chain was keyed. Anyone
 * can recompute it, so it only proves anything up to the keyed seal that ends on it.
 */
export function eventHash(row: HashedRow): string {
  return createHash('sha256').update(hashedContent(row), 'utf8').digest('hex');
}

/** HMAC-SHA256 hex of the event under the chain key: the hash of every event from the seal on. */
export function keyedEventHash(row: HashedRow, key: Buffer): string {
  return createHmac('sha256', key).update(hashedContent(row), 'utf8').digest('hex');
}

/** Compares two hex hashes in constant time (a keyed hash is a MAC). */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * How the hashes of a chain are computed: HMAC-SHA256 under `key`, except the events up to
 * `unkeyedThroughSeq` (written before the chain was keyed, sealed by the event after them),
 * which are plain SHA-256.
 */
export interface ChainHashing {
  key: Buffer;
  /** 0 when no event is unkeyed. */
  unkeyedThroughSeq: number;
}

/** The hash `row` must carry in a chain hashed as `hashing` says. */
export function expectedHash(row: HashedRow, hashing: ChainHashing): string {
  return Number(row.seq) <= hashing.unkeyedThroughSeq ? eventHash(row) : keyedEventHash(row, hashing.key);
}

/** Where a chain starts: #1 after the genesis hash, or the first event kept after a retention purge. */
export interface ChainStart {
  seq: number;
  prevHash: string;
}

/**
 * Walks rows in seq order from `start` and reports the first event that is missing, out of
 * place, not linked to the event before it, or altered. The link is checked before the hash, so
 * a row put in with a hash of its own is reported as not following its predecessor.
 */
export async function verifyChain(
  rows: Iterable<AuditEventTable> | AsyncIterable<AuditEventTable>,
  hashing: ChainHashing,
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
    if (row.prev_hash !== prevHash) return broken(`event #${seq} does not follow #${seq - 1}`);
    if (!sameHash(expectedHash(row, hashing), row.hash)) {
      const unkeyed = seq > hashing.unkeyedThroughSeq && eventHash(row) === row.hash;
      return broken(unkeyed ? `event #${seq} was altered (its hash is a plain SHA-256 where the chain key's HMAC belongs)` : `event #${seq} was altered`);
    }
    prevHash = row.hash;
    expected += 1;
  }
  return { intact: true, count: expected - firstSeq, firstSeq, headSeq: expected - 1, headHash: prevHash };
}
