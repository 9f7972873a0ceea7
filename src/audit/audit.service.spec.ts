import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { type Kysely, sql } from 'kysely';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppConfig, ConcurConfig } from '../config/index.js';
import { createSqliteKysely } from '../database/database.factory.js';
import type { AuditEventTable, Database } from '../database/database.types.js';
import { KEYED_HASH_ALG, runMigrations, UNKEYED_WRITER_MESSAGE } from '../database/migrations.js';
import { Metrics } from '../metrics/metrics.service.js';
import { AuditRepository } from './audit.repository.js';
import { AuditService, MAX_RECORDS_PER_COMMIT, interruptedAfterMs, storableText } from './audit.service.js';
import type { AuditEventInput } from './audit.types.js';
import { GENESIS_HASH, eventHash, keyedEventHash } from './hash-chain.js';

const KEY = Buffer.from('7f3c9a1e5b2d8f4061a7c3e9b5d1f70824a6c8e0b2d4f6a8c0e2a4c6e8f0a2c4', 'hex');

const input = (extra: Partial<AuditEventInput> = {}): AuditEventInput => ({
  type: 'update.succeeded',
  outcome: 'success',
  tenantId: 'sandbox',
  companyDomain: 'sandbox.example.com',
  actingUser: 'alice',
  launchId: 'L1',
  field: 'Custom1',
  oldValue: 'A',
  newValue: 'B',
  ...extra,
});

describe(AuditService.name, () => {
  let db: Kysely<Database>;
  let repository: AuditRepository;
  let service: AuditService;
  let metrics: Metrics;

  beforeEach(async () => {
    db = createSqliteKysely(':memory:');
    await runMigrations(db);
    repository = new AuditRepository(db);
    metrics = new Metrics();
    service = new AuditService(repository, metrics, new AppConfig(), KEY);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await db.destroy();
  });

  async function counted(type: string, outcome: string): Promise<number> {
    const { values } = await metrics.auditEvents.get();
    return values.find((v) => v.labels.type === type && v.labels.outcome === outcome)?.value ?? 0;
  }

  async function recordMany(count: number): Promise<void> {
    for (let i = 1; i <= count; i++) await service.record(input({ newValue: `value-${i}` }));
  }

  async function rowAt(seq: number): Promise<AuditEventTable> {
    return db.selectFrom('audit_events').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow();
  }

  /** An insert in SQL, hash_alg as the row has it (none in rows of versions without the chain key). */
  async function insertRaw(row: AuditEventTable): Promise<void> {
    await sql`INSERT INTO audit_events (seq, id, occurred_at, event_type, outcome, tenant_id, company_domain,
      acting_user, report_owner, item_url, launch_id, field, old_value, new_value, reason, correlation_id,
      client_ip, user_agent, prev_hash, hash, hash_alg)
      VALUES (${row.seq}, ${row.id}, ${row.occurred_at}, ${row.event_type}, ${row.outcome}, ${row.tenant_id},
      ${row.company_domain}, ${row.acting_user}, ${row.report_owner}, ${row.item_url}, ${row.launch_id},
      ${row.field}, ${row.old_value}, ${row.new_value}, ${row.reason}, ${row.correlation_id}, ${row.client_ip},
      ${row.user_agent}, ${row.prev_hash}, ${row.hash}, ${row.hash_alg ?? null})`.execute(db);
  }

  /** A forger's row: other content, a correct hash of its own (made with the chain key: the links still catch it), linked to `prevHash`. */
  async function forge(seq: number, prevHash: string): Promise<AuditEventTable> {
    const { hash: _, ...unhashed } = { ...(await rowAt(1)), seq, id: `forged-${seq}`, new_value: 'FORGED', prev_hash: prevHash };
    // hash_alg (copied from #1) is no obstacle: anyone who can write a row can set it.
    return { ...unhashed, hash: keyedEventHash(unhashed, KEY) };
  }

  describe('record', () => {
    it('chains the first event to the genesis hash and returns it in camelCase', async () => {
      const event = await service.record(input({ correlationId: 'c-1', clientIp: '10.0.0.1', userAgent: 'UA' }));
      expect(event).toMatchObject({
        seq: 1,
        type: 'update.succeeded',
        outcome: 'success',
        tenantId: 'sandbox',
        companyDomain: 'sandbox.example.com',
        actingUser: 'alice',
        reportOwner: null,
        itemUrl: null,
        launchId: 'L1',
        field: 'Custom1',
        oldValue: 'A',
        newValue: 'B',
        reason: null,
        correlationId: 'c-1',
        clientIp: '10.0.0.1',
        userAgent: 'UA',
        prevHash: GENESIS_HASH,
      });
      expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(new Date(event.occurredAt).toISOString()).toBe(event.occurredAt);
      expect(event.hash).toBe(keyedEventHash(await rowAt(1), KEY));
    });

    it('has the event stored when it resolves', async () => {
      const event = await service.record(input());
      expect(await service.eventsOfLaunch('L1')).toEqual([event]);
    });

    it('gives 100 concurrent events the seqs 1..100 without a gap, in a chain that verifies', async () => {
      const events = await Promise.all(
        Array.from({ length: 100 }, (_, i) => service.record(input({ newValue: `v${i}` }))),
      );
      expect(events.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      const last = events.find((e) => e.seq === 100)!;
      expect(await service.verify()).toEqual({ intact: true, count: 100, firstSeq: 1, headSeq: 100, headHash: last.hash });
    });

    it('logs a failed write and keeps going', async () => {
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      jest.spyOn(AuditRepository.prototype, 'insert').mockRejectedValueOnce(new Error('disk full'));
      await expect(service.record(input())).rejects.toThrow('disk full');
      expect(logged).toHaveBeenCalledWith(expect.stringContaining('disk full'));
      logged.mockRestore();
      expect((await service.record(input())).seq).toBe(1);
      expect(await service.verify()).toMatchObject({ intact: true, count: 1 });
    });

    it('retries after the head when another process took the next seq first', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'clc-audit-'));
      const first = createSqliteKysely(join(dir, 'audit.db'));
      const second = createSqliteKysely(join(dir, 'audit.db'));
      try {
        await runMigrations(first);
        const ours = new AuditService(new AuditRepository(first), new Metrics(), new AppConfig(), KEY);
        const other = new AuditService(new AuditRepository(second), new Metrics(), new AppConfig(), KEY);
        const insert = AuditRepository.prototype.insert;
        let raced = false;
        jest.spyOn(AuditRepository.prototype, 'insert').mockImplementation(async function (this: AuditRepository, row) {
          if (!raced) {
            raced = true;
            // Our transaction has read head #0; the other process commits #1 before we insert.
            await other.record(input({ actingUser: 'other process' }));
          }
          return insert.call(this, row);
        });
        const event = await ours.record(input());
        expect(raced).toBe(true);
        expect(event.seq).toBe(2);
        expect(await ours.verify()).toMatchObject({ intact: true, count: 2 });
      } finally {
        await first.destroy();
        await second.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('counts each appended event by type and outcome once it is committed', async () => {
      await service.record(input({ type: 'launch.accepted', outcome: 'success' }));
      await service.record(input({ type: 'launch.accepted', outcome: 'success' }));
      await service.record(input({ type: 'update.requested', outcome: 'pending' }));
      jest.spyOn(AuditRepository.prototype, 'insert').mockRejectedValueOnce(new Error('disk full'));
      jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      await expect(service.record(input({ type: 'update.failed', outcome: 'failure' }))).rejects.toThrow('disk full');
      expect(await counted('launch.accepted', 'success')).toBe(2);
      expect(await counted('update.requested', 'pending')).toBe(1);
      expect(await counted('update.failed', 'failure')).toBe(0);
    });

    it('cuts long strings to their maxima before hashing', async () => {
      const event = await service.record(
        input({ itemUrl: 'u'.repeat(5000), userAgent: 'a'.repeat(5000), reason: 'r'.repeat(5000), newValue: 'n'.repeat(600) }),
      );
      expect(event.itemUrl).toHaveLength(2048);
      expect(event.userAgent).toHaveLength(512);
      expect(event.reason).toHaveLength(512);
      expect(event.newValue).toHaveLength(512);
      const stored = await rowAt(1);
      expect(stored.item_url).toHaveLength(2048);
      expect(await service.verify()).toMatchObject({ intact: true, count: 1 });
    });

    it('stores text that would not read back as written in a form that still verifies', async () => {
      await service.record(input({ reason: 'lone \uD800 surrogate and \u0000 NUL', newValue: `${'x'.repeat(511)}😀` }));
      const stored = await rowAt(1);
      expect(stored.reason).toBe('lone \uFFFD surrogate and \uFFFD NUL');
      expect(stored.new_value).toBe('x'.repeat(511));
      expect(await service.verify()).toMatchObject({ intact: true, count: 1 });
    });
  });

  describe('group commit', () => {
    /** Counts append transactions, and which of them had committed when a caller heard back. */
    function countTransactions(): { committed: () => number; started: () => number } {
      const original = repository.inAppendTransaction.bind(repository);
      let started = 0;
      let committed = 0;
      jest.spyOn(repository, 'inAppendTransaction').mockImplementation(async (work) => {
        started++;
        const result = await original(work);
        committed++;
        return result;
      });
      return { committed: () => committed, started: () => started };
    }

    /** Holds the first insert of `type` until `release()`; `reached` resolves once it is held. */
    function holdInsert(type: string): { reached: Promise<void>; release: () => void } {
      const insert = AuditRepository.prototype.insert;
      let release!: () => void;
      let arrived!: () => void;
      const reached = new Promise<void>((resolve) => (arrived = resolve));
      const gate = new Promise<void>((resolve) => (release = resolve));
      let held = false;
      jest.spyOn(AuditRepository.prototype, 'insert').mockImplementation(async function (this: AuditRepository, row) {
        if (!held && [row].flat().some((r) => r.event_type === type)) {
          held = true;
          arrived();
          await gate;
        }
        return insert.call(this, row);
      });
      return { reached, release };
    }

    function expectChained(events: Array<{ seq: number; prevHash: string; hash: string }>, firstPrev = GENESIS_HASH): void {
      events.forEach((event, i) => expect(event.prevHash).toBe(i === 0 ? firstPrev : events[i - 1].hash));
    }

    it('commits concurrent record() calls in one transaction, each with its own row in call order', async () => {
      const tx = countTransactions();
      const events = await Promise.all(Array.from({ length: 10 }, (_, i) => service.record(input({ newValue: `v${i}` }))));
      expect(tx.started()).toBe(1);
      expect(events.map((e) => [e.seq, e.newValue])).toEqual(Array.from({ length: 10 }, (_, i) => [i + 1, `v${i}`]));
      expectChained(events);
      for (const event of events) expect(keyedEventHash(await rowAt(event.seq), KEY)).toBe(event.hash);
      expect(await service.verify()).toMatchObject({ intact: true, count: 10, headHash: events[9].hash });
      expect(await counted('update.succeeded', 'success')).toBe(10);
    });

    it('inserts a batch with one call to the repository, not one per event', async () => {
      const inserts = jest.spyOn(AuditRepository.prototype, 'insert');
      await Promise.all(Array.from({ length: 20 }, () => service.record(input())));
      expect(inserts).toHaveBeenCalledTimes(1);
      expect(inserts.mock.calls[0][0]).toHaveLength(20);
    });

    it('queues the calls made while a transaction runs into the next one', async () => {
      const tx = countTransactions();
      const held = holdInsert('launch.accepted');
      const first = service.record(input({ type: 'launch.accepted' }));
      await held.reached;
      const later = Array.from({ length: 5 }, (_, i) => service.record(input({ newValue: `later-${i}` })));
      held.release();
      const events = [await first, ...(await Promise.all(later))];
      expect(tx.started()).toBe(2);
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      expectChained(events);
      expect(await service.verify()).toMatchObject({ intact: true, count: 6 });
    });

    it(`takes at most ${MAX_RECORDS_PER_COMMIT} events in one transaction`, async () => {
      const tx = countTransactions();
      const events = await Promise.all(Array.from({ length: MAX_RECORDS_PER_COMMIT + 20 }, () => service.record(input())));
      expect(tx.started()).toBe(2);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: MAX_RECORDS_PER_COMMIT + 20 }, (_, i) => i + 1));
      expect(await service.verify()).toMatchObject({ intact: true, count: MAX_RECORDS_PER_COMMIT + 20 });
    });

    it('settles each caller only after the transaction holding its event has committed', async () => {
      const tx = countTransactions();
      const committedWhenResolved = await Promise.all(
        Array.from({ length: 5 }, () => service.record(input()).then(() => tx.committed())),
      );
      expect(committedWhenResolved).toEqual([1, 1, 1, 1, 1]);
    });

    it('keeps event times in seq order even when a later member was stamped earlier', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'hrtime', 'performance'] });
      try {
        const held = holdInsert('launch.accepted');
        jest.setSystemTime(Date.parse('2026-01-01T00:00:02Z'));
        const first = service.record(input({ type: 'launch.accepted' }));
        await held.reached;
        // The clock stepped back (NTP): these are stamped a second before the event queued ahead of them.
        jest.setSystemTime(Date.parse('2026-01-01T00:00:01Z'));
        const later = [service.record(input()), service.record(input())];
        held.release();
        const events = [await first, ...(await Promise.all(later))];
        expect(events.map((e) => e.occurredAt)).toEqual(Array(3).fill('2026-01-01T00:00:02.000Z'));
        expect(await service.verify()).toMatchObject({ intact: true, count: 3 });
      } finally {
        jest.useRealTimers();
      }
    });

    it('fails only the caller of the bad event: the batch is written again one event at a time', async () => {
      const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const insert = AuditRepository.prototype.insert;
      jest.spyOn(AuditRepository.prototype, 'insert').mockImplementation(async function (this: AuditRepository, row) {
        if ([row].flat().some((r) => r.new_value === 'bad')) throw new Error('value refused');
        return insert.call(this, row);
      });
      const calls = ['a', 'b', 'bad', 'c', 'd'].map((newValue) => service.record(input({ newValue })));
      const settled = await Promise.allSettled(calls);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect((settled[2] as PromiseRejectedResult).reason).toEqual(new Error('value refused'));
      const events = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      expect(events.map((e) => [e.seq, e.newValue])).toEqual([[1, 'a'], [2, 'b'], [3, 'c'], [4, 'd']]);
      expectChained(events);
      expect(await service.verify()).toMatchObject({ intact: true, count: 4 });
      expect(await counted('update.succeeded', 'success')).toBe(4);
      expect(warned).toHaveBeenCalledWith(expect.stringContaining('A batch of 5 audit events could not be written (value refused)'));
      expect(logged).toHaveBeenCalledTimes(1);
      expect(logged).toHaveBeenCalledWith(expect.stringContaining('value refused'));
    });

    it('writes every event of a batch whose transaction failed as a whole, and counts each once', async () => {
      jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const original = repository.inAppendTransaction.bind(repository);
      jest.spyOn(repository, 'inAppendTransaction').mockImplementationOnce((work) =>
        original(async (log) => {
          await work(log);
          throw new Error('commit failed'); // rolled back, as a failed COMMIT would be
        }),
      );
      const events = await Promise.all(Array.from({ length: 4 }, (_, i) => service.record(input({ newValue: `v${i}` }))));
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expectChained(events);
      expect(await service.verify()).toMatchObject({ intact: true, count: 4 });
      expect(await counted('update.succeeded', 'success')).toBe(4);
    });

    it('keeps the order of calls around a purge: earlier records before its event, later ones after', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'hrtime', 'performance'] });
      try {
        const t0 = Date.parse('2026-01-01T00:00:00Z');
        jest.setSystemTime(t0);
        await recordMany(2);
        jest.setSystemTime(t0 + 10 * 86_400_000);
        const before = service.record(input({ newValue: 'before' }));
        const purge = service.purgeOlderThan(5);
        const after = service.record(input({ newValue: 'after' }));
        expect((await before).seq).toBe(3);
        expect(await purge).toMatchObject({ purged: 2, checkpointSeq: 4, throughSeq: 2 });
        expect((await after).seq).toBe(5);
        expect(await service.verify()).toMatchObject({ intact: true, count: 3, firstSeq: 3, headSeq: 5 });
      } finally {
        jest.useRealTimers();
      }
    });

    it('commits the records made during a reconciliation after it, never inside its transaction', async () => {
      await service.record(input({ type: 'update.requested', outcome: 'pending', launchId: 'crashed' }));
      const held = holdInsert('update.failed');
      const reconciled = service.reconcileInterruptedUpdates();
      await held.reached;
      const during = service.record(input({ type: 'launch.accepted', launchId: 'next' }));
      held.release();
      expect(await reconciled).toBe(1);
      expect((await during).seq).toBe(3);
      expect((await service.eventsOfLaunch('crashed')).map((e) => [e.seq, e.type])).toEqual([[1, 'update.requested'], [2, 'update.failed']]);
      expect(await service.verify()).toMatchObject({ intact: true, count: 3 });
    });

    it('writes the queued events before the module is destroyed', async () => {
      const pending = Array.from({ length: 3 }, () => service.record(input()));
      await service.onModuleDestroy();
      const stored = await db.selectFrom('audit_events').select('seq').execute();
      expect(stored).toHaveLength(3);
      await Promise.all(pending);
    });
  });

  describe('reconcileInterruptedUpdates', () => {
    it('closes every update.requested left without an outcome, once', async () => {
      await service.record(input({ type: 'update.requested', outcome: 'pending', launchId: 'done' }));
      await service.record(input({ type: 'update.succeeded', outcome: 'success', launchId: 'done' }));
      await service.record(input({ type: 'update.requested', outcome: 'pending', launchId: 'crashed', newValue: 'X' }));
      await service.record(input({ type: 'update.requested', outcome: 'pending', launchId: 'failed' }));
      await service.record(input({ type: 'update.failed', outcome: 'failure', launchId: 'failed' }));

      expect(await service.reconcileInterruptedUpdates()).toBe(1);
      const crashed = await service.eventsOfLaunch('crashed');
      expect(crashed.map((e) => e.type)).toEqual(['update.requested', 'update.failed']);
      expect(crashed[1]).toMatchObject({ outcome: 'failure', newValue: 'X' });
      expect(crashed[1].reason).toMatch(/^interrupted: no outcome was recorded for request #3/);
      expect(await service.reconcileInterruptedUpdates()).toBe(0);
      expect(await service.verify()).toMatchObject({ intact: true, count: 6 });
      expect(await counted('update.failed', 'failure')).toBe(2);
    });

    it('closes the requests in one transaction: a failed write leaves none of them closed', async () => {
      await service.record(input({ type: 'update.requested', outcome: 'pending', launchId: 'one' }));
      await service.record(input({ type: 'update.requested', outcome: 'pending', launchId: 'two' }));
      const insert = AuditRepository.prototype.insert;
      let calls = 0;
      jest.spyOn(AuditRepository.prototype, 'insert').mockImplementation(async function (this: AuditRepository, row) {
        if (++calls === 2) throw new Error('disk full');
        return insert.call(this, row);
      });
      jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      await expect(service.reconcileInterruptedUpdates()).rejects.toThrow('disk full');
      expect(calls).toBe(2);
      expect((await service.latest()).map((e) => e.type)).toEqual(['update.requested', 'update.requested']);
      expect(await counted('update.failed', 'failure')).toBe(0);

      expect(await service.reconcileInterruptedUpdates()).toBe(2);
      expect(await service.verify()).toMatchObject({ intact: true, count: 4 });
    });

    it('runs at bootstrap on SQLite, closing even a request made a moment ago, and sets no reconcile timer', async () => {
      await service.record(input({ type: 'update.requested', outcome: 'pending', launchId: 'fresh' }));
      const timers = jest.spyOn(global, 'setInterval');
      await service.onApplicationBootstrap();
      expect((await service.eventsOfLaunch('fresh')).map((e) => e.type)).toEqual(['update.requested', 'update.failed']);
      // The one timer is the chain-head log line's (audit.headLogIntervalSeconds, an hour by default).
      expect(timers.mock.calls.map(([, ms]) => ms)).toEqual([3_600_000]);
      await service.onModuleDestroy();
    });

    it('waits at bootstrap while migrations are pending, with a warning instead of a failed start', async () => {
      const bare = createSqliteKysely(':memory:');
      try {
        const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
        const early = new AuditService(new AuditRepository(bare), new Metrics(), new AppConfig(), KEY);
        await expect(early.onApplicationBootstrap()).resolves.toBeUndefined();
        expect(warned).toHaveBeenCalledWith(expect.stringContaining('migrations pending (001_initial, 002_audit_append_only, 003_audit_workbench, 004_oauth_token_geolocation'));
      } finally {
        await bare.destroy();
      }
    });
  });

  describe(interruptedAfterMs.name, () => {
    const concur = (extra: Partial<ConcurConfig>) => Object.assign(new ConcurConfig(), extra);

    it('is at least 15 minutes', () => {
      expect(interruptedAfterMs(concur({}))).toBe(15 * 60_000);
      expect(interruptedAfterMs(concur({ timeoutMs: 100, maxRetries: 0 }))).toBe(15 * 60_000);
    });

    it('grows with the timeout, the retries and the Retry-After waits, plus five minutes', () => {
      // Token call and write, 11 attempts of 2 minutes each, 10 waits of 2 minutes.
      const slow = concur({ timeoutMs: 120_000, maxRetries: 10, maxRetryAfterSeconds: 120 });
      expect(interruptedAfterMs(slow)).toBe((2 * 11 * 120_000 + 10 * 120_000) + 5 * 60_000);
    });
  });

  describe('the chain key', () => {
    const OTHER_KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => 255 - i));
    const DAY_MS = 86_400_000;

    /** Writes `count` events as the connector did before the chain was keyed: plain SHA-256 hashes, one a day from `from`. */
    async function writeUnkeyed(count: number, from = Date.parse('2025-01-01T00:00:00.000Z')): Promise<AuditEventTable[]> {
      const rows: AuditEventTable[] = [];
      let prev = (await repository.head()).hash;
      const first = (await repository.head()).seq + 1;
      for (let seq = first; seq < first + count; seq++) {
        const unhashed = {
          seq, id: `legacy-${seq}`, occurred_at: new Date(from + (seq - first) * DAY_MS).toISOString(), event_type: 'launch.accepted', outcome: 'success',
          tenant_id: 'sandbox', company_domain: null, acting_user: `user-${seq}`, report_owner: null, item_url: null, launch_id: `L${seq}`,
          field: null, old_value: null, new_value: `v${seq}`, reason: null, correlation_id: null, client_ip: null, user_agent: null, prev_hash: prev,
        };
        const row = { ...unhashed, hash: eventHash(unhashed) };
        await insertRaw(row);
        rows.push(row);
        prev = row.hash;
      }
      return rows;
    }

    async function allRows(): Promise<AuditEventTable[]> {
      return db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
    }

    /** What someone with only the database can do: change event `seq`'s new_value and rehash it and every event after it with `hash`. */
    async function rewriteFrom(seq: number, hash: (row: Omit<AuditEventTable, 'hash'>) => string, rows?: AuditEventTable[]): Promise<void> {
      await sql`DROP TRIGGER IF EXISTS audit_events_no_update`.execute(db);
      let prev: string | undefined;
      for (const row of rows ?? (await allRows())) {
        if (Number(row.seq) < seq) {
          prev = row.hash;
          continue;
        }
        const { hash: _, ...content } = { ...row, prev_hash: prev ?? row.prev_hash, new_value: Number(row.seq) === seq ? 'FORGED' : row.new_value };
        const rehashed = hash(content);
        await sql`UPDATE audit_events SET new_value = ${content.new_value}, prev_hash = ${content.prev_hash}, hash = ${rehashed} WHERE seq = ${row.seq}`.execute(db);
        prev = rehashed;
      }
    }

    it('hashes each event with HMAC-SHA256 under the key: another key or plain SHA-256 does not match', async () => {
      await recordMany(3);
      const row = await rowAt(2);
      expect(row.hash).toBe(keyedEventHash(row, KEY));
      expect(row.hash).not.toBe(eventHash(row));
      expect(await service.verify()).toMatchObject({ intact: true, count: 3 });
      const withOtherKey = new AuditService(repository, new Metrics(), new AppConfig(), OTHER_KEY);
      expect(await withOtherKey.verify()).toEqual({ intact: false, brokenAt: 1, why: 'event #1 was altered', intactUpTo: 0, firstSeq: 1 });
    });

    it('a fresh log needs no seal', async () => {
      await service.onApplicationBootstrap();
      await recordMany(2);
      expect(await repository.findChainSeal()).toBeUndefined();
      expect(await service.verify()).toEqual({ intact: true, count: 2, firstSeq: 1, headSeq: 2, headHash: (await rowAt(2)).hash });
      await service.onModuleDestroy();
    });

    it('seals an unkeyed log at the first start with a key, once; the old events verify with SHA-256, the rest with the key', async () => {
      const legacy = await writeUnkeyed(4);
      await service.onApplicationBootstrap();
      const seal = await rowAt(5);
      expect(seal).toMatchObject({ event_type: 'audit.chain_keyed', outcome: 'success', acting_user: 'connector', prev_hash: legacy[3].hash });
      expect(JSON.parse(seal.new_value!)).toEqual({ unkeyedThroughSeq: 4, unkeyedThroughHash: legacy[3].hash, unkeyedHash: 'sha256', keyedHash: 'hmac-sha256' });
      expect(seal.reason).toBe(`events #1..#4 are unkeyed SHA-256, ending on ${legacy[3].hash}; from #5 on each event's hash is an HMAC-SHA256 under the chain key`);
      expect(seal.hash).toBe(keyedEventHash(seal, KEY));
      expect(await counted('audit.chain_keyed', 'success')).toBe(1);
      await service.onModuleDestroy();
      // Another start, and another process: no second seal.
      const again = new AuditService(repository, new Metrics(), new AppConfig(), KEY);
      await again.onApplicationBootstrap();
      await again.record(input());
      await again.onModuleDestroy();
      await service.record(input());
      expect((await service.search({ type: 'audit.chain_keyed' }, 10)).events.map((e) => e.seq)).toEqual([5]);
      expect((await rowAt(7)).hash).toBe(keyedEventHash(await rowAt(7), KEY));
      expect(await service.verify()).toEqual({ intact: true, count: 7, firstSeq: 1, headSeq: 7, headHash: (await rowAt(7)).hash, unkeyedThroughSeq: 4 });
      expect(await service.inspect('legacy-2')).toMatchObject({ hashMatches: true, keyed: false, linksToPrevious: true });
      expect(await service.inspect(seal.id)).toMatchObject({ hashMatches: true, keyed: true, linksToPrevious: true });
    });

    it('seals before the first event a process appends, even without a bootstrap (a CLI purge, or a start that skipped it)', async () => {
      await writeUnkeyed(2);
      const event = await service.record(input());
      expect(event.seq).toBe(4);
      expect((await rowAt(3)).event_type).toBe('audit.chain_keyed');
      expect(await service.verify()).toMatchObject({ intact: true, count: 4, unkeyedThroughSeq: 2 });
    });

    it('does not seal a log whose newest event matches neither hash (another key), and says so', async () => {
      const other = new AuditService(repository, new Metrics(), new AppConfig(), OTHER_KEY);
      await other.record(input());
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      await service.onApplicationBootstrap();
      expect(logged).toHaveBeenCalledWith(expect.stringContaining('neither a plain SHA-256 hash nor an HMAC under the configured chain key'));
      expect(await repository.findChainSeal()).toBeUndefined();
      expect(await service.verify()).toMatchObject({ intact: false, brokenAt: 1 });
      await service.onModuleDestroy();
    });

    describe('a replica of the previous version, during a rolling upgrade', () => {
      /** One append as the previous version made it: a plain SHA-256 event after the head, a full row without hash_alg. */
      async function oldReplicaAppends(): Promise<void> {
        const head = await repository.head();
        const unhashed = {
          seq: head.seq + 1, id: `old-${head.seq + 1}`, occurred_at: new Date().toISOString(), event_type: 'launch.accepted', outcome: 'success',
          tenant_id: 'sandbox', company_domain: null, acting_user: 'bob', report_owner: null, item_url: null, launch_id: null, field: null,
          old_value: null, new_value: null, reason: null, correlation_id: null, client_ip: null, user_agent: null, prev_hash: head.hash,
        };
        await db.insertInto('audit_events').values({ ...unhashed, hash: eventHash(unhashed) }).execute();
      }

      it('appends until this version seals the log, then the database refuses it and the chain stays intact', async () => {
        await writeUnkeyed(2);
        await oldReplicaAppends();
        await service.record(input());
        expect((await rowAt(4)).event_type).toBe('audit.chain_keyed');
        await expect(oldReplicaAppends()).rejects.toMatchObject({ message: `${UNKEYED_WRITER_MESSAGE}; upgrade every replica (issue 17)` });
        await service.record(input());
        expect((await allRows()).map((row) => [Number(row.seq), row.hash_alg])).toEqual([
          [1, null], [2, null], [3, null], [4, KEYED_HASH_ALG], [5, KEYED_HASH_ALG], [6, KEYED_HASH_ALG],
        ]);
        expect(await service.verify()).toEqual({ intact: true, count: 6, firstSeq: 1, headSeq: 6, headHash: (await rowAt(6)).hash, unkeyedThroughSeq: 3 });
      });

      it('is refused after this version wrote into a log that had nothing to seal', async () => {
        await service.record(input());
        await expect(oldReplicaAppends()).rejects.toMatchObject({ message: expect.stringContaining(UNKEYED_WRITER_MESSAGE) });
        expect(await service.verify()).toMatchObject({ intact: true, count: 1 });
      });
    });

    it('verification ignores hash_alg: it is a marker for the database, not part of what is hashed', async () => {
      await writeUnkeyed(2);
      await recordMany(2);
      await sql`DROP TRIGGER audit_events_no_update`.execute(db);
      await sql`UPDATE audit_events SET hash_alg = CASE WHEN hash_alg IS NULL THEN ${KEYED_HASH_ALG} END`.execute(db);
      expect((await allRows()).map((row) => row.hash_alg)).toEqual([KEYED_HASH_ALG, KEYED_HASH_ALG, null, null, null]);
      expect(await service.verify()).toMatchObject({ intact: true, count: 5, unkeyedThroughSeq: 2 });
      expect(await service.inspect('legacy-1')).toMatchObject({ hashMatches: true, keyed: false });
    });

    describe('a database-only forger cannot make a consistent chain', () => {
      it('rewriting a keyed event and rehashing the rest with plain SHA-256, or with a wrong key, breaks at that event', async () => {
        await recordMany(6);
        const original = await allRows();
        await rewriteFrom(3, (row) => eventHash(row), original);
        expect(await service.verify()).toEqual({
          intact: false, brokenAt: 3, why: "event #3 was altered (its hash is a plain SHA-256 where the chain key's HMAC belongs)", intactUpTo: 2, firstSeq: 1,
        });
        await rewriteFrom(3, (row) => keyedEventHash(row, OTHER_KEY), original);
        expect(await service.verify()).toEqual({ intact: false, brokenAt: 3, why: 'event #3 was altered', intactUpTo: 2, firstSeq: 1 });
        expect(await service.inspect((await rowAt(4)).id)).toMatchObject({ hashMatches: false, keyed: true });
      });

      it('rewriting a sealed unkeyed event and rehashing the old events breaks at the seal', async () => {
        await writeUnkeyed(4);
        await service.record(input());
        await rewriteFrom(2, (row) => eventHash(row), (await allRows()).slice(0, 4));
        expect(await service.verify()).toMatchObject({ intact: false, brokenAt: 5, why: 'event #5 does not follow #4', intactUpTo: 4 });
      });

      it('removing the seal and rehashing everything with plain SHA-256 breaks at #1', async () => {
        await writeUnkeyed(3);
        await recordMany(2);
        await sql`DROP TRIGGER audit_events_no_delete`.execute(db);
        await sql`DROP TRIGGER audit_events_no_update`.execute(db);
        const rows = (await allRows()).filter((row) => row.event_type !== 'audit.chain_keyed');
        await sql`DELETE FROM audit_events`.execute(db);
        let prev = GENESIS_HASH;
        for (const [i, row] of rows.entries()) {
          const { hash: _, ...content } = { ...row, seq: i + 1, prev_hash: prev };
          const rehashed = { ...content, hash: eventHash(content) };
          await insertRaw(rehashed);
          prev = rehashed.hash;
        }
        expect(await service.verify()).toMatchObject({ intact: false, brokenAt: 1, why: expect.stringContaining('plain SHA-256') });
      });

      it('a seal that misstates the events before it is refused', async () => {
        await writeUnkeyed(2);
        await service.record(input());
        await sql`DROP TRIGGER audit_events_no_update`.execute(db);
        await sql`UPDATE audit_events SET new_value = ${JSON.stringify({ unkeyedThroughSeq: 1 })} WHERE seq = 3`.execute(db);
        expect(await service.verify()).toMatchObject({ intact: false, brokenAt: 3, why: 'event #3 is an audit.chain_keyed event that does not record the events before it' });
      });
    });

    describe('retention', () => {
      beforeEach(() => {
        jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'hrtime', 'performance'] });
      });
      afterEach(() => jest.useRealTimers());

      it('a purge of part of the unkeyed events keeps the rest verifiable, with SHA-256 up to the seal', async () => {
        const start = Date.parse('2026-01-01T00:00:00.000Z');
        await writeUnkeyed(4, start);
        jest.setSystemTime(start + 10 * DAY_MS);
        await service.record(input());
        // Older than 8 days: #1 and #2 (days 0 and 1).
        expect(await service.purgeOlderThan(8)).toMatchObject({ purged: 2, fromSeq: 1, throughSeq: 2, checkpointSeq: 7 });
        expect(await service.verify()).toEqual({ intact: true, count: 5, firstSeq: 3, headSeq: 7, headHash: (await rowAt(7)).hash, unkeyedThroughSeq: 4 });
      });

      it('a purge past the seal leaves a chain keyed throughout', async () => {
        const start = Date.parse('2026-01-01T00:00:00.000Z');
        await writeUnkeyed(3, start);
        jest.setSystemTime(start + 5 * DAY_MS);
        await service.record(input());
        jest.setSystemTime(start + 20 * DAY_MS);
        await service.record(input());
        expect(await service.purgeOlderThan(10)).toMatchObject({ purged: 5, fromSeq: 1, throughSeq: 5, checkpointSeq: 7 });
        expect(await repository.findChainSeal()).toBeUndefined();
        expect(await service.verify()).toEqual({ intact: true, count: 2, firstSeq: 6, headSeq: 7, headHash: (await rowAt(7)).hash });
        // The purge and every later event are keyed: nothing more to seal.
        await service.onApplicationBootstrap();
        expect(await repository.findChainSeal()).toBeUndefined();
        await service.onModuleDestroy();
      });
    });
  });

  describe('reading', () => {
    it('returns the events of one launch in order', async () => {
      await service.record(input({ launchId: 'A', type: 'launch.accepted' }));
      await service.record(input({ launchId: 'B', type: 'launch.accepted' }));
      await service.record(input({ launchId: 'A', type: 'update.requested', outcome: 'pending' }));
      await service.record(input({ launchId: 'A', type: 'update.succeeded' }));
      const events = await service.eventsOfLaunch('A');
      expect(events.map((e) => [e.seq, e.type])).toEqual([
        [1, 'launch.accepted'],
        [3, 'update.requested'],
        [4, 'update.succeeded'],
      ]);
    });

    it('returns the events of one correlation id', async () => {
      await service.record(input({ correlationId: 'x' }));
      await service.record(input({ correlationId: 'y' }));
      expect((await service.eventsOfCorrelation('y')).map((e) => e.seq)).toEqual([2]);
    });

    it('returns the latest events newest first, 50 by default', async () => {
      await recordMany(55);
      const latest = await service.latest();
      expect(latest).toHaveLength(50);
      expect(latest[0].seq).toBe(55);
      expect((await service.latest(2)).map((e) => e.seq)).toEqual([55, 54]);
      expect(await service.latest(0)).toHaveLength(1);
    });
  });

  describe('verify against tampering in SQL', () => {
    beforeEach(async () => {
      await recordMany(5);
      // The database refuses UPDATE and DELETE; someone with rights to change the schema can drop that guard.
      await sql`DROP TRIGGER audit_events_no_update`.execute(db);
      await sql`DROP TRIGGER audit_events_no_delete`.execute(db);
    });

    it('finds the untouched log intact', async () => {
      expect(await service.verify()).toMatchObject({ intact: true, count: 5, headSeq: 5 });
    });

    it('reports an edited value as altered at that event', async () => {
      await sql`UPDATE audit_events SET new_value = 'changed' WHERE seq = 3`.execute(db);
      expect(await service.verify()).toEqual({ intact: false, brokenAt: 3, why: 'event #3 was altered', intactUpTo: 2, firstSeq: 1 });
    });

    it('reports an edited prev_hash as not following the event before it', async () => {
      await sql`UPDATE audit_events SET prev_hash = ${GENESIS_HASH} WHERE seq = 2`.execute(db);
      expect(await service.verify()).toMatchObject({ intact: false, brokenAt: 2, why: 'event #2 does not follow #1' });
    });

    it('reports a deleted middle event as missing', async () => {
      await sql`DELETE FROM audit_events WHERE seq = 3`.execute(db);
      expect(await service.verify()).toEqual({ intact: false, brokenAt: 3, why: 'event #3 is missing', intactUpTo: 2, firstSeq: 1 });
    });

    it('reports a deleted first event as missing', async () => {
      await sql`DELETE FROM audit_events WHERE seq = 1`.execute(db);
      expect(await service.verify()).toEqual({ intact: false, brokenAt: 1, why: 'event #1 is missing', intactUpTo: 0, firstSeq: 1 });
    });

    it('reports a forged replacement with its own valid hash but a wrong link at its seq', async () => {
      await sql`DELETE FROM audit_events WHERE seq = 3`.execute(db);
      await insertRaw(await forge(3, (await rowAt(1)).hash));
      expect(await service.verify()).toEqual({ intact: false, brokenAt: 3, why: 'event #3 does not follow #2', intactUpTo: 2, firstSeq: 1 });
    });

    it('reports a forged replacement linked correctly to its predecessor at the next event', async () => {
      await sql`DELETE FROM audit_events WHERE seq = 3`.execute(db);
      await insertRaw(await forge(3, (await rowAt(2)).hash));
      expect(await service.verify()).toEqual({ intact: false, brokenAt: 4, why: 'event #4 does not follow #3', intactUpTo: 3, firstSeq: 1 });
    });

    it('reports a forged last event that replaced the deleted one at its seq', async () => {
      await sql`DELETE FROM audit_events WHERE seq = 5`.execute(db);
      await insertRaw(await forge(5, (await rowAt(3)).hash));
      expect(await service.verify()).toEqual({ intact: false, brokenAt: 5, why: 'event #5 does not follow #4', intactUpTo: 4, firstSeq: 1 });
    });

    it('reports a forged event appended with a wrong link at its seq', async () => {
      await insertRaw(await forge(6, GENESIS_HASH));
      expect(await service.verify()).toEqual({ intact: false, brokenAt: 6, why: 'event #6 does not follow #5', intactUpTo: 5, firstSeq: 1 });
    });

    it('shows a cut-off tail only as a lower head, to compare with a head recorded elsewhere', async () => {
      const head = await repository.head();
      await sql`DELETE FROM audit_events WHERE seq = 5`.execute(db);
      const result = await service.verify();
      expect(result).toMatchObject({ intact: true, headSeq: 4 });
      expect(result).not.toMatchObject({ headHash: head.hash });
    });
  });
});

describe(storableText.name, () => {
  it('keeps null and short text as they are', () => {
    expect(storableText(null, 5)).toBeNull();
    expect(storableText(undefined, 5)).toBeNull();
    expect(storableText('abc', 5)).toBe('abc');
  });

  it('never splits a surrogate pair', () => {
    expect(storableText('ab😀', 3)).toBe('ab');
    expect(storableText('ab😀', 4)).toBe('ab😀');
  });
});
