import { createHash, createHmac } from 'node:crypto';
import type { AuditEventTable } from '../database/database.types.js';
import { type ChainHashing, GENESIS_HASH, canonicalJson, eventHash, keyedEventHash, sameHash, verifyChain } from './hash-chain.js';

const KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 1));
const OTHER_KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 11 + 3));
const KEYED: ChainHashing = { key: KEY, unkeyedThroughSeq: 0 };

/** A chain of `length` events, the first `unkeyed` of them hashed with plain SHA-256, the rest with HMAC under `key`. */
function chain(length: number, { unkeyed = 0, key = KEY }: { unkeyed?: number; key?: Buffer } = {}): AuditEventTable[] {
  const rows: AuditEventTable[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= length; seq++) {
    const unhashed = {
      seq,
      id: `id-${seq}`,
      occurred_at: `2026-01-01T00:00:0${seq % 10}.000Z`,
      event_type: 'launch.accepted',
      outcome: 'success',
      tenant_id: 'sandbox',
      company_domain: 'sandbox.example.com',
      acting_user: 'alice',
      report_owner: null,
      item_url: null,
      launch_id: 'L1',
      field: null,
      old_value: null,
      new_value: `v${seq}`,
      reason: null,
      correlation_id: null,
      client_ip: '127.0.0.1',
      user_agent: null,
      prev_hash: prev,
    };
    const row = { ...unhashed, hash: seq <= unkeyed ? eventHash(unhashed) : keyedEventHash(unhashed, key) };
    rows.push(row);
    prev = row.hash;
  }
  return rows;
}

describe('hash chain', () => {
  describe(canonicalJson.name, () => {
    it('does not depend on key order, at any depth', () => {
      expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'x' } })).toBe(
        canonicalJson({ a: { c: 'x', d: [1, { x: 1, y: 2 }] }, b: 1 }),
      );
    });

    it('sorts keys, leaves no whitespace, keeps null and drops undefined', () => {
      expect(canonicalJson({ z: null, a: 'x y', m: undefined, n: [undefined, 2] })).toBe('{"a":"x y","n":[null,2],"z":null}');
    });

    it('escapes strings as JSON does', () => {
      expect(canonicalJson({ 'k"': 'a"b\n' })).toBe('{"k\\"":"a\\"b\\n"}');
    });
  });

  describe(eventHash.name, () => {
    const [row] = chain(1, { unkeyed: 1 });

    it('is sha256 hex of the row without its hash', () => {
      expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(eventHash({ ...row, hash: 'ignored' } as AuditEventTable)).toBe(row.hash);
    });

    it('covers seq, prev_hash and every value column', () => {
      expect(eventHash({ ...row, seq: 2 })).not.toBe(row.hash);
      expect(eventHash({ ...row, prev_hash: '1'.repeat(64) })).not.toBe(row.hash);
      expect(eventHash({ ...row, new_value: 'other' })).not.toBe(row.hash);
      expect(eventHash({ ...row, report_owner: '' })).not.toBe(row.hash);
    });

    it('ignores columns it does not know', () => {
      expect(eventHash({ ...row, extra: 'x' } as AuditEventTable)).toBe(row.hash);
    });
  });

  describe(keyedEventHash.name, () => {
    const [unkeyed] = chain(1, { unkeyed: 1 });
    const [keyed] = chain(1);

    it('is HMAC-SHA256 hex under the key of the same canonical content the plain hash covers', () => {
      const { hash: _, ...content } = keyed;
      const canonical = canonicalJson(content);
      expect(keyed.hash).toBe(createHmac('sha256', KEY).update(canonical, 'utf8').digest('hex'));
      expect(unkeyed.hash).toBe(createHash('sha256').update(canonical, 'utf8').digest('hex'));
    });

    it('differs from the unkeyed hash and from the hash under another key', () => {
      expect(keyed.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(keyed.hash).not.toBe(unkeyed.hash);
      expect(keyedEventHash(keyed, OTHER_KEY)).not.toBe(keyed.hash);
    });

    it('covers seq, prev_hash and every value column', () => {
      expect(keyedEventHash({ ...keyed, seq: 2 }, KEY)).not.toBe(keyed.hash);
      expect(keyedEventHash({ ...keyed, prev_hash: '1'.repeat(64) }, KEY)).not.toBe(keyed.hash);
      expect(keyedEventHash({ ...keyed, new_value: 'other' }, KEY)).not.toBe(keyed.hash);
    });
  });

  describe(sameHash.name, () => {
    it('compares hex hashes of any length without throwing', () => {
      expect(sameHash('ab', 'ab')).toBe(true);
      expect(sameHash('ab', 'ac')).toBe(false);
      expect(sameHash('ab', 'abc')).toBe(false);
    });
  });

  describe(verifyChain.name, () => {
    it('finds an empty chain intact at the genesis hash', async () => {
      expect(await verifyChain([], KEYED)).toEqual({ intact: true, count: 0, firstSeq: 1, headSeq: 0, headHash: GENESIS_HASH });
    });

    it('finds an intact chain intact and reports its head', async () => {
      const rows = chain(5);
      expect(await verifyChain(rows, KEYED)).toEqual({ intact: true, count: 5, firstSeq: 1, headSeq: 5, headHash: rows[4].hash });
    });

    it('reads async iterables', async () => {
      const rows = chain(3);
      async function* stream() {
        yield* rows;
      }
      expect(await verifyChain(stream(), KEYED)).toMatchObject({ intact: true, count: 3 });
    });

    it('reports a chain that does not start at #1', async () => {
      expect(await verifyChain(chain(3).slice(1), KEYED)).toEqual({
        intact: false, brokenAt: 1, why: 'event #1 is missing', intactUpTo: 0, firstSeq: 1,
      });
    });

    it('reports a repeated event', async () => {
      const rows = chain(3);
      expect(await verifyChain([rows[0], rows[1], rows[1], rows[2]], KEYED)).toMatchObject({ intact: false, brokenAt: 3, intactUpTo: 2 });
    });

    it('verifies an unkeyed prefix with SHA-256 and the rest with the key', async () => {
      const rows = chain(6, { unkeyed: 3 });
      expect(await verifyChain(rows, { key: KEY, unkeyedThroughSeq: 3 })).toMatchObject({ intact: true, count: 6, headHash: rows[5].hash });
      // The same rows read as keyed throughout, or with a shorter unkeyed prefix, break at the first unkeyed event taken as keyed.
      expect(await verifyChain(rows, KEYED)).toMatchObject({ intact: false, brokenAt: 1, why: 'event #1 was altered (its hash is a plain SHA-256 where the chain key\'s HMAC belongs)' });
      expect(await verifyChain(rows, { key: KEY, unkeyedThroughSeq: 2 })).toMatchObject({ intact: false, brokenAt: 3 });
      // A prefix longer than the unkeyed events takes a keyed event for a plain one.
      expect(await verifyChain(rows, { key: KEY, unkeyedThroughSeq: 4 })).toMatchObject({ intact: false, brokenAt: 4, why: 'event #4 was altered' });
    });

    it('refuses a chain keyed with another key', async () => {
      expect(await verifyChain(chain(3, { key: OTHER_KEY }), KEYED)).toEqual({ intact: false, brokenAt: 1, why: 'event #1 was altered', intactUpTo: 0, firstSeq: 1 });
    });

    it('finds a forger who rewrote an event and rehashed everything after it, with plain SHA-256 or another key', async () => {
      for (const forge of [(row: Omit<AuditEventTable, 'hash'>) => eventHash(row), (row: Omit<AuditEventTable, 'hash'>) => keyedEventHash(row, OTHER_KEY)]) {
        const rows = chain(5);
        let prev = rows[1].hash;
        for (const row of rows.slice(2)) {
          const { hash: _, ...content } = { ...row, prev_hash: prev, new_value: row.seq === 3 ? 'FORGED' : row.new_value };
          Object.assign(row, content, { hash: forge(content) });
          prev = row.hash;
        }
        expect(await verifyChain(rows, KEYED)).toMatchObject({ intact: false, brokenAt: 3, intactUpTo: 2 });
      }
    });

    it('reports a row linked to the wrong event before its hash', async () => {
      const rows = chain(3);
      const { hash: _, ...content } = { ...rows[2], prev_hash: 'f'.repeat(64) };
      expect(await verifyChain([rows[0], rows[1], { ...content, hash: keyedEventHash(content, KEY) }], KEYED)).toMatchObject({ brokenAt: 3, why: 'event #3 does not follow #2' });
    });
  });
});
