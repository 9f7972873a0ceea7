import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { AuditRepository } from '../../src/audit/audit.repository.js';
import { AuditService, interruptedAfterMs } from '../../src/audit/audit.service.js';
import type { AuditEventInput } from '../../src/audit/audit.types.js';
import { keyedEventHash } from '../../src/audit/hash-chain.js';
import { AppConfig } from '../../src/config/index.js';
import { createPostgresKysely } from '../../src/database/database.factory.js';
import type { AuditEventTable, Database } from '../../src/database/database.types.js';
import { runMigrations } from '../../src/database/migrations.js';
import { Metrics } from '../../src/metrics/metrics.service.js';
import { createTestDatabase, describeWith } from './services.js';

/** The chain key every replica is configured with. */
const KEY = Buffer.from('3b8e1f6a0c5d2e9f47a1b6c3d8e0f2a4b7c9d1e3f5a7b9c1d3e5f7a9b1c3d5e7', 'hex');

const input = (extra: Partial<AuditEventInput> = {}): AuditEventInput => ({
  type: 'launch.accepted',
  outcome: 'success',
  tenantId: 'sandbox',
  actingUser: 'alice',
  ...extra,
});

/** One replica's view of the log: its own pool, repository, metrics and service. */
interface Replica {
  db: Kysely<Database>;
  repository: AuditRepository;
  metrics: Metrics;
  service: AuditService;
}

describeWith(['postgres'], 'audit log on PostgreSQL with several replicas', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let replicas: Replica[] = [];

  beforeEach(async () => {
    database = await createTestDatabase();
    replicas = [replica(), replica()];
    await runMigrations(replicas[0].db);
    // Interruption warnings are expected here; keep the output readable.
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    for (const r of replicas) {
      await r.service.onModuleDestroy();
      await r.db.destroy();
    }
    await database.drop();
  });

  function replica(): Replica {
    const db = createPostgresKysely(database.url, 4);
    const repository = new AuditRepository(db);
    const metrics = new Metrics();
    return { db, repository, metrics, service: new AuditService(repository, metrics, new AppConfig(), KEY) };
  }

  async function counted(metrics: Metrics, type: string, outcome: string): Promise<number> {
    const { values } = await metrics.auditEvents.get();
    return values.find((v) => v.labels.type === type && v.labels.outcome === outcome)?.value ?? 0;
  }

  /** Appends an update.requested dated `ageMs` ago, through the append lock, with a correct (keyed) hash. */
  async function requestedAgo(launchId: string, ageMs: number): Promise<AuditEventTable> {
    return replicas[0].repository.inAppendTransaction(async (log) => {
      const head = await log.head();
      const unhashed = {
        seq: head.seq + 1, id: `old-${launchId}`, occurred_at: new Date(Date.now() - ageMs).toISOString(),
        event_type: 'update.requested', outcome: 'pending', tenant_id: 'sandbox', company_domain: null,
        acting_user: 'alice', report_owner: null, item_url: null, launch_id: launchId, field: 'custom1',
        old_value: 'A', new_value: 'B', reason: null, correlation_id: null, client_ip: null, user_agent: null,
        prev_hash: head.hash,
      };
      const row = { ...unhashed, hash: keyedEventHash(unhashed, KEY) };
      await log.insert(row);
      return row;
    });
  }

  const OLD = interruptedAfterMs(new AppConfig().concur) + 60_000;

  it('two replicas appending 150 events each at once build one chain, seq 1..300 without a gap', async () => {
    const [a, b] = replicas;
    const appended = await Promise.all([
      ...Array.from({ length: 150 }, (_, i) => a.service.record(input({ launchId: `a-${i}` }))),
      ...Array.from({ length: 150 }, (_, i) => b.service.record(input({ launchId: `b-${i}`, actingUser: 'bob' }))),
    ]);

    expect(appended.map((e) => e.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    const stored = await a.db.selectFrom('audit_events').select(['seq', 'id']).orderBy('seq').execute();
    expect(stored.map((r) => r.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(new Set(stored.map((r) => r.id))).toEqual(new Set(appended.map((e) => e.id)));

    const last = appended.find((e) => e.seq === 300)!;
    expect(await a.service.verify()).toEqual({ intact: true, count: 300, firstSeq: 1, headSeq: 300, headHash: last.hash });
    expect(await b.service.verify()).toEqual({ intact: true, count: 300, firstSeq: 1, headSeq: 300, headHash: last.hash });
    expect(await counted(a.metrics, 'launch.accepted', 'success')).toBe(150);
    expect(await counted(b.metrics, 'launch.accepted', 'success')).toBe(150);
  });

  it('commits the concurrent records of each replica in batches, one transaction and advisory lock each', async () => {
    const transactions = replicas.map((r) => jest.spyOn(r.repository, 'inAppendTransaction'));
    const [a, b] = replicas;
    const appended = await Promise.all([
      ...Array.from({ length: 150 }, (_, i) => a.service.record(input({ launchId: `a-${i}` }))),
      ...Array.from({ length: 150 }, (_, i) => b.service.record(input({ launchId: `b-${i}` }))),
    ]);
    // 150 calls made at once: a batch of 100 and one of 50 per replica, instead of 150 transactions.
    expect(transactions.map((t) => t.mock.calls.length)).toEqual([2, 2]);
    for (const [own, prefix] of [[appended.slice(0, 150), 'a'], [appended.slice(150), 'b']] as const) {
      const seqs = own.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(own.every((e, i) => e.launchId === `${prefix}-${i}`)).toBe(true);
    }
    expect(await a.service.verify()).toMatchObject({ intact: true, count: 300, headSeq: 300 });
    expect(await counted(a.metrics, 'launch.accepted', 'success')).toBe(150);
  });

  it('fails only the caller of a refused event in a batch on PostgreSQL', async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const insert = AuditRepository.prototype.insert;
    jest.spyOn(AuditRepository.prototype, 'insert').mockImplementation(async function (this: AuditRepository, row) {
      if ([row].flat().some((r) => r.launch_id === 'bad')) throw new Error('refused');
      return insert.call(this, row);
    });
    const settled = await Promise.allSettled(['x', 'bad', 'y'].map((launchId) => replicas[0].service.record(input({ launchId }))));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await replicas[1].service.verify()).toMatchObject({ intact: true, count: 2 });
  });

  describe('reconciling interrupted updates', () => {
    it('leaves a request another replica may still be working on, and closes an old one exactly once', async () => {
      const [a, b] = replicas;
      await requestedAgo('old', OLD);
      await a.service.record(input({ type: 'update.requested', outcome: 'pending', launchId: 'fresh' }));
      await a.service.record(input({ launchId: 'other' }));

      const marked = await Promise.all([a.service.reconcileInterruptedUpdates(), b.service.reconcileInterruptedUpdates()]);
      expect(marked.sort()).toEqual([0, 1]);

      const old = await a.service.eventsOfLaunch('old');
      expect(old.map((e) => [e.type, e.outcome])).toEqual([
        ['update.requested', 'pending'],
        ['update.failed', 'failure'],
      ]);
      expect(old[1].reason).toBe('interrupted: no outcome was recorded for request #1; check the field in Concur');
      expect((await a.service.eventsOfLaunch('fresh')).map((e) => e.type)).toEqual(['update.requested']);
      expect(await Promise.all([a.service.reconcileInterruptedUpdates(), b.service.reconcileInterruptedUpdates()])).toEqual([0, 0]);
      expect(await a.service.verify()).toMatchObject({ intact: true, count: 4 });
    });

    it('closes each of several old requests once when both replicas start at the same time', async () => {
      const [a, b] = replicas;
      for (const launch of ['x', 'y', 'z']) await requestedAgo(launch, OLD);
      await Promise.all([a.service.onApplicationBootstrap(), b.service.onApplicationBootstrap()]);
      const failed = await a.db.selectFrom('audit_events').select('launch_id').where('event_type', '=', 'update.failed').execute();
      expect(failed.map((r) => r.launch_id).sort()).toEqual(['x', 'y', 'z']);
      expect((await counted(a.metrics, 'update.failed', 'failure')) + (await counted(b.metrics, 'update.failed', 'failure'))).toBe(3);
      expect(await b.service.verify()).toMatchObject({ intact: true, count: 6 });
    });

    it('runs every minute on an unref\'d timer, which shutdown clears', async () => {
      const [a] = replicas;
      const setTimer = jest.spyOn(global, 'setInterval');
      const clearTimer = jest.spyOn(global, 'clearInterval');
      await a.service.onApplicationBootstrap();
      // The other timer is the chain-head log line's (hourly).
      const minutely = setTimer.mock.calls.flatMap((call, i) => (call[1] === 60_000 ? [i] : []));
      expect(minutely).toHaveLength(1);
      const [tick] = setTimer.mock.calls[minutely[0]] as unknown as [() => void, number];
      const timer = setTimer.mock.results[minutely[0]].value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(false);

      // A request that became old after start is closed by the next tick; one from days ago is
      // outside the tick's window (its cost must not grow with the log): the start-up scan closes it.
      await requestedAgo('later', OLD);
      await requestedAgo('days-ago', OLD + 3 * 24 * 3600_000);
      tick();
      await a.service.onModuleDestroy();
      expect(clearTimer).toHaveBeenCalledWith(timer);
      expect((await a.service.eventsOfLaunch('later')).map((e) => e.type)).toEqual(['update.requested', 'update.failed']);
      expect((await a.service.eventsOfLaunch('days-ago')).map((e) => e.type)).toEqual(['update.requested']);
      expect(await a.service.reconcileInterruptedUpdates()).toBe(1);
      expect((await a.service.eventsOfLaunch('days-ago')).map((e) => e.type)).toEqual(['update.requested', 'update.failed']);
      expect(await a.service.verify()).toMatchObject({ intact: true, count: 4 });
    });
  });
});
