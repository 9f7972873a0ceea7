import type { AuditEventTable } from '../database/database.types.js';
import { GENESIS_HASH, canonicalJson, eventHash, verifyChain } from './hash-chain.js';

function chain(length: number): AuditEventTable[] {
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
    const row = { ...unhashed, hash: eventHash(unhashed) };
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
    const [row] = chain(1);

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

  describe(verifyChain.name, () => {
    it('finds an empty chain intact at the genesis hash', async () => {
      expect(await verifyChain([])).toEqual({ intact: true, count: 0, firstSeq: 1, headSeq: 0, headHash: GENESIS_HASH });
    });

    it('finds an intact chain intact and reports its head', async () => {
      const rows = chain(5);
      expect(await verifyChain(rows)).toEqual({ intact: true, count: 5, firstSeq: 1, headSeq: 5, headHash: rows[4].hash });
    });

    it('reads async iterables', async () => {
      const rows = chain(3);
      async function* stream() {
        yield* rows;
      }
      expect(await verifyChain(stream())).toMatchObject({ intact: true, count: 3 });
    });

    it('reports a chain that does not start at #1', async () => {
      expect(await verifyChain(chain(3).slice(1))).toEqual({
        intact: false, brokenAt: 1, why: 'event #1 is missing', intactUpTo: 0, firstSeq: 1,
      });
    });

    it('reports a repeated event', async () => {
      const rows = chain(3);
      expect(await verifyChain([rows[0], rows[1], rows[1], rows[2]])).toMatchObject({ intact: false, brokenAt: 3, intactUpTo: 2 });
    });
  });
});
