import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { AuditRepository } from '../../src/audit/audit.repository.js';
import { AuditService } from '../../src/audit/audit.service.js';
import { eventHash, GENESIS_HASH, keyedEventHash } from '../../src/audit/hash-chain.js';
import { AppConfig } from '../../src/config/index.js';
import { createPostgresKysely } from '../../src/database/database.factory.js';
import type { AuditEventTable, Database } from '../../src/database/database.types.js';
import { KEYED_HASH_ALG, runMigrations, UNKEYED_WRITER_MESSAGE } from '../../src/database/migrations.js';
import { Metrics } from '../../src/metrics/metrics.service.js';
import { createTestDatabase, describeWith } from './services.js';

/** The audit chain key on PostgreSQL: replicas starting together over a log written before it. */
describeWith(['postgres'], 'keyed audit chain on PostgreSQL', () => {
  const KEY = randomBytes(32);
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let pools: Array<Kysely<Database>> = [];
  let services: AuditService[] = [];

  beforeEach(async () => {
    database = await createTestDatabase();
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    for (const service of services.splice(0)) await service.onModuleDestroy();
    for (const db of pools.splice(0)) await db.destroy();
    await database.drop();
  });

  /** One replica: its own pool and service, configured with `key`. */
  function replica(key = KEY): { db: Kysely<Database>; service: AuditService } {
    const db = createPostgresKysely(database.url, 4);
    pools.push(db);
    const service = new AuditService(new AuditRepository(db), new Metrics(), new AppConfig(), key);
    services.push(service);
    return { db, service };
  }

  /** `count` rows as a version before the chain key wrote them: a plain SHA-256 chain. */
  async function writeLegacy(db: Kysely<Database>, count: number): Promise<AuditEventTable[]> {
    const rows: AuditEventTable[] = [];
    let prev = GENESIS_HASH;
    for (let seq = 1; seq <= count; seq++) {
      const unhashed = {
        seq, id: `legacy-${seq}`, occurred_at: new Date(Date.UTC(2026, 0, seq)).toISOString(), event_type: 'launch.accepted', outcome: 'success',
        tenant_id: 'sandbox', company_domain: null, acting_user: `user-${seq}`, report_owner: null, item_url: null, launch_id: `L${seq}`, field: null,
        old_value: null, new_value: null, reason: null, correlation_id: null, client_ip: null, user_agent: null, prev_hash: prev,
      };
      const row = { ...unhashed, hash: eventHash(unhashed) };
      await db.insertInto('audit_events').values(row).execute();
      rows.push(row);
      prev = row.hash;
    }
    return rows;
  }

  it('replicas starting at the same time seal the unkeyed events once, and append keyed events after the seal', async () => {
    const replicas = [replica(), replica(), replica()];
    await runMigrations(replicas[0].db);
    const legacy = await writeLegacy(replicas[0].db, 5);
    await Promise.all(replicas.map(({ service }) => service.onApplicationBootstrap()));
    await Promise.all(replicas.flatMap(({ service }, r) => Array.from({ length: 10 }, (_, i) => service.record({ type: 'launch.accepted', outcome: 'success', actingUser: `r${r}-${i}` }))));

    const rows = await replicas[0].db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
    const seals = rows.filter((row) => row.event_type === 'audit.chain_keyed');
    expect(seals.map((row) => Number(row.seq))).toEqual([6]);
    expect(seals[0].prev_hash).toBe(legacy[4].hash);
    expect(rows).toHaveLength(36);
    for (const row of rows.slice(5)) expect(row.hash).toBe(keyedEventHash(row, KEY));
    for (const { service } of replicas) {
      expect(await service.verify()).toEqual({ intact: true, count: 36, firstSeq: 1, headSeq: 36, headHash: rows[35].hash, unkeyedThroughSeq: 5 });
    }
  });

  it('replicas appending at once before any start writes one seal, ahead of every keyed event', async () => {
    const replicas = [replica(), replica()];
    await runMigrations(replicas[0].db);
    await writeLegacy(replicas[0].db, 2);
    await Promise.all(replicas.flatMap(({ service }) => Array.from({ length: 20 }, () => service.record({ type: 'launch.rejected', outcome: 'failure', reason: 'x' }))));
    const seals = await replicas[0].db.selectFrom('audit_events').select('seq').where('event_type', '=', 'audit.chain_keyed').execute();
    expect(seals.map((row) => Number(row.seq))).toEqual([3]);
    expect(await replicas[1].service.verify()).toMatchObject({ intact: true, count: 43, unkeyedThroughSeq: 2 });
  });

  /**
   * One append as a replica of the previous version made it: under the append lock every replica
   * takes, a plain SHA-256 event after the head, a full row without hash_alg. Whether the database took it.
   */
  async function oldReplicaAppends(db: Kysely<Database>, n: number): Promise<'written' | 'refused'> {
    try {
      await db.transaction().execute(async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(7264001002)`.execute(trx);
        const head = await trx.selectFrom('audit_events').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
        const seq = Number(head?.seq ?? 0) + 1;
        const unhashed = {
          seq, id: `old-${n}`, occurred_at: new Date().toISOString(), event_type: 'launch.accepted', outcome: 'success', tenant_id: 'sandbox',
          company_domain: null, acting_user: `old-${n}`, report_owner: null, item_url: null, launch_id: null, field: null, old_value: null,
          new_value: null, reason: null, correlation_id: null, client_ip: null, user_agent: null, prev_hash: head?.hash ?? GENESIS_HASH,
        };
        await trx.insertInto('audit_events').values({ ...unhashed, hash: eventHash(unhashed) }).execute();
      });
      return 'written';
    } catch (err) {
      if ((err as { message?: string }).message === `${UNKEYED_WRITER_MESSAGE}; upgrade every replica (issue 17)`) return 'refused';
      throw err;
    }
  }

  it('a replica of the previous version appends until the seal, then the database refuses it (check_violation)', async () => {
    const { db, service } = replica();
    await runMigrations(db);
    await writeLegacy(db, 2);
    expect(await oldReplicaAppends(db, 1)).toBe('written');
    await service.record({ type: 'launch.accepted', outcome: 'success' });
    await expect(
      db.insertInto('audit_events').values({ ...(await db.selectFrom('audit_events').selectAll().where('seq', '=', 1).executeTakeFirstOrThrow()), seq: 6, id: 'old-x', hash_alg: undefined }).execute(),
    ).rejects.toMatchObject({ code: '23514', message: `${UNKEYED_WRITER_MESSAGE}; upgrade every replica (issue 17)` });
    expect(await oldReplicaAppends(db, 2)).toBe('refused');
    const rows = await db.selectFrom('audit_events').select(['seq', 'event_type', 'hash_alg']).orderBy('seq').execute();
    expect(rows.map((row) => [Number(row.seq), row.event_type, row.hash_alg])).toEqual([
      [1, 'launch.accepted', null],
      [2, 'launch.accepted', null],
      [3, 'launch.accepted', null],
      [4, 'audit.chain_keyed', KEYED_HASH_ALG],
      [5, 'launch.accepted', KEYED_HASH_ALG],
    ]);
    expect(await service.verify()).toMatchObject({ intact: true, count: 5, unkeyedThroughSeq: 3 });
  });

  it('old and new replicas appending side by side leave a chain that verifies', async () => {
    const replicas = [replica(), replica()];
    await runMigrations(replicas[0].db);
    await writeLegacy(replicas[0].db, 3);
    const old = { db: createPostgresKysely(database.url, 2) };
    pools.push(old.db);
    const [outcomes] = await Promise.all([
      (async () => {
        const seen: Array<'written' | 'refused'> = [];
        for (let n = 0; n < 30; n++) seen.push(await oldReplicaAppends(old.db, n));
        return seen;
      })(),
      ...replicas.flatMap(({ service }, r) => Array.from({ length: 15 }, (_, i) => service.record({ type: 'launch.accepted', outcome: 'success', actingUser: `r${r}-${i}` }))),
    ]);
    const rows = await old.db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
    const seal = rows.find((row) => row.event_type === 'audit.chain_keyed')!;
    const written = outcomes.filter((o) => o === 'written').length;
    expect(outcomes.slice(written).every((o) => o === 'refused')).toBe(true);
    expect(rows).toHaveLength(3 + written + 1 + 30);
    expect(Number(seal.seq)).toBe(3 + written + 1);
    for (const row of rows) expect(row.hash_alg).toBe(Number(row.seq) < Number(seal.seq) ? null : KEYED_HASH_ALG);
    expect(await replicas[1].service.verify()).toMatchObject({ intact: true, count: rows.length, unkeyedThroughSeq: Number(seal.seq) - 1 });
  });

  it('a forger with only the database cannot rehash a consistent chain', async () => {
    const [{ db, service }] = [replica()];
    await runMigrations(db);
    await writeLegacy(db, 2);
    for (let i = 0; i < 4; i++) await service.record({ type: 'update.succeeded', outcome: 'success', newValue: `v${i}` });
    await sql`ALTER TABLE audit_events DISABLE TRIGGER USER`.execute(db);
    const rows = await db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
    let prev = rows[3].hash;
    for (const row of rows.slice(4)) {
      const { hash: _, ...content } = { ...row, prev_hash: prev, new_value: Number(row.seq) === 5 ? 'FORGED' : row.new_value };
      prev = eventHash(content);
      await db.updateTable('audit_events').set({ new_value: content.new_value, prev_hash: content.prev_hash, hash: prev }).where('seq', '=', row.seq).execute();
    }
    expect(await service.verify()).toMatchObject({ intact: false, brokenAt: 5, intactUpTo: 4, why: expect.stringContaining('plain SHA-256') });
  });
});
