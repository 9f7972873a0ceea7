import { jest } from '@jest/globals';
import type { Kysely } from 'kysely';
import { createSqliteKysely } from '../database/database.factory.js';
import type { AuditEventTable, Database } from '../database/database.types.js';
import { runMigrations } from '../database/migrations.js';
import { AuditRepository } from './audit.repository.js';
import { GENESIS_HASH } from './hash-chain.js';

function row(seq: number, extra: Partial<AuditEventTable> = {}): AuditEventTable {
  return {
    seq, id: `id-${seq}`, occurred_at: new Date(seq * 1000).toISOString(), event_type: 'launch.accepted',
    outcome: 'success', tenant_id: null, company_domain: null, acting_user: null, report_owner: null,
    item_url: null, launch_id: null, field: null, old_value: null, new_value: null, reason: null,
    correlation_id: null, client_ip: null, user_agent: null, prev_hash: `p${seq}`, hash: `h${seq}`, hash_alg: 'hmac-sha256', ...extra,
  };
}

describe(AuditRepository.name, () => {
  let db: Kysely<Database>;
  let repository: AuditRepository;

  beforeEach(async () => {
    db = createSqliteKysely(':memory:');
    await runMigrations(db);
    repository = new AuditRepository(db);
  });

  afterEach(async () => {
    await db.destroy();
  });

  async function fill(count: number, extra: (seq: number) => Partial<AuditEventTable> = () => ({})) {
    for (let seq = 1; seq <= count; seq++) await repository.insert(row(seq, extra(seq)));
  }

  const seqs = async (rows: AsyncIterable<AuditEventTable>) => {
    const out: number[] = [];
    for await (const r of rows) out.push(r.seq);
    return out;
  };

  it('reports the genesis head on an empty log and the newest row otherwise', async () => {
    expect(await repository.head()).toEqual({ seq: 0, hash: GENESIS_HASH });
    await fill(3);
    expect(await repository.head()).toEqual({ seq: 3, hash: 'h3' });
  });

  it('inserts several events in order in multi-row statements of 64, 32, ... rows', async () => {
    const statements = jest.spyOn(db, 'insertInto');
    const rows = Array.from({ length: 100 }, (_, i) => row(i + 1, { new_value: `v${i + 1}` }));
    await repository.insert(rows);
    expect(statements).toHaveBeenCalledTimes(3); // 64 + 32 + 4
    expect(await repository.latest(100)).toEqual([...rows].reverse());
  });

  it('stores and reads back every column', async () => {
    const full = row(1, { tenant_id: 't', item_url: 'https://x', launch_id: 'L', user_agent: 'ua', reason: 'r' });
    await repository.insert(full);
    expect(await repository.findByLaunch('L')).toEqual([full]);
  });

  it('iterates everything in seq order across batches', async () => {
    await fill(10);
    expect(await seqs(repository.iterateAll(3))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await seqs(repository.iterateAll(5))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await seqs(repository.iterateAll())).toHaveLength(10);
  });

  it('finds by launch and by correlation id, in seq order', async () => {
    await fill(6, (seq) => ({ launch_id: seq % 2 ? 'odd' : 'even', correlation_id: seq < 3 ? 'c1' : 'c2' }));
    expect((await repository.findByLaunch('odd')).map((r) => r.seq)).toEqual([1, 3, 5]);
    expect((await repository.findByCorrelationId('c1')).map((r) => r.seq)).toEqual([1, 2]);
    expect(await repository.findByLaunch('none')).toEqual([]);
  });

  it('lists the latest events newest first', async () => {
    await fill(5);
    expect((await repository.latest(2)).map((r) => r.seq)).toEqual([5, 4]);
  });

  it('runs append work in one transaction on the repository it hands over: a failure keeps none of it', async () => {
    expect(repository.dialect).toBe('sqlite');
    await expect(
      repository.inAppendTransaction(async (log) => {
        await log.insert(row(1));
        expect(await log.head()).toEqual({ seq: 1, hash: 'h1' });
        await log.insert(row(1, { id: 'duplicate seq' }));
      }),
    ).rejects.toMatchObject({ message: expect.stringContaining('audit_events.seq') });
    expect(await repository.head()).toEqual({ seq: 0, hash: GENESIS_HASH });
    expect(await repository.inAppendTransaction(async (log) => (await log.insert(row(1)), log.head()))).toEqual({ seq: 1, hash: 'h1' });
    expect(await repository.head()).toEqual({ seq: 1, hash: 'h1' });
  });

  it('finds requests without an outcome, optionally only those older than a time', async () => {
    await fill(4, (seq) => ({
      event_type: seq === 3 ? 'update.succeeded' : 'update.requested',
      launch_id: seq === 3 ? 'L2' : `L${seq}`,
    }));
    // #2 and #3 share launch L2: #2 has its outcome.
    expect((await repository.requestsWithoutOutcome()).map((r) => r.seq)).toEqual([1, 4]);
    expect((await repository.requestsWithoutOutcome(new Date(4000).toISOString())).map((r) => r.seq)).toEqual([1]);
    // A window: not before `since`.
    expect((await repository.requestsWithoutOutcome(undefined, new Date(2000).toISOString())).map((r) => r.seq)).toEqual([4]);
  });

  it('offers no way to change or remove an event but the retention purge, which the database allows only behind a checkpoint', () => {
    const methods = Object.getOwnPropertyNames(AuditRepository.prototype);
    expect(methods.filter((m) => /update|delete|remove|truncate|clear|set|purge/i.test(m))).toEqual(['purgeThrough']);
  });
});
