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
import { runMigrations } from '../../src/database/migrations.js';
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
