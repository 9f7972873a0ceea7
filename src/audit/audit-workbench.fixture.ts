import { jest } from '@jest/globals';
import type { Kysely } from 'kysely';
import type { Database } from '../database/database.types.js';
import type { AuditRepository } from './audit.repository.js';
import { type AuditService, InvalidCursorError } from './audit.service.js';
import type { AuditEvent, AuditEventInput, AuditFilter } from './audit.types.js';
import { eventHash } from './hash-chain.js';

/**
 * The auditor's reads of the log (search, export, verify, retention), as cases run against
 * SQLite by audit.service.workbench.spec.ts and against PostgreSQL by the integration suite.
 */
export interface WorkbenchSubject {
  db: Kysely<Database>;
  repository: AuditRepository;
  service: AuditService;
  /** Runs SQL as someone with direct database access would, past the append-only triggers. */
  tamper(statement: string): Promise<void>;
}

const DAY_MS = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/** Twelve events of two tenants, three users, two reports and every type, one a day from T0. */
const SCRIPT: AuditEventInput[] = [
  { type: 'launch.accepted', outcome: 'success', tenantId: 'acme', companyDomain: 'acme.example.com', actingUser: 'alice', reportOwner: 'alice', itemUrl: 'https://c.example.com/reports/R1', launchId: 'L1', correlationId: 'c1' },
  { type: 'update.requested', outcome: 'pending', tenantId: 'acme', companyDomain: 'acme.example.com', actingUser: 'alice', reportOwner: 'alice', itemUrl: 'https://c.example.com/reports/R1/expenses/E1', launchId: 'L1', field: 'custom9', oldValue: 'P-1', newValue: 'P-2', correlationId: 'c1' },
  { type: 'update.succeeded', outcome: 'success', tenantId: 'acme', companyDomain: 'acme.example.com', actingUser: 'alice', reportOwner: 'alice', itemUrl: 'https://c.example.com/reports/R1/expenses/E1', launchId: 'L1', field: 'custom9', oldValue: 'P-1', newValue: 'P-2', correlationId: 'c1' },
  { type: 'launch.rejected', outcome: 'failure', tenantId: 'acme', companyDomain: 'acme.example.com', reason: 'signature mismatch', correlationId: 'c2' },
  { type: 'launch.accepted', outcome: 'success', tenantId: 'acme', companyDomain: 'acme.example.com', actingUser: 'bob', reportOwner: 'carol', itemUrl: 'https://c.example.com/reports/R10', launchId: 'L2', correlationId: 'c3' },
  { type: 'update.requested', outcome: 'pending', tenantId: 'acme', companyDomain: 'acme.example.com', actingUser: 'bob', reportOwner: 'carol', itemUrl: 'https://c.example.com/reports/R10', launchId: 'L2', field: 'custom1', oldValue: null, newValue: 'X', correlationId: 'c3' },
  { type: 'update.failed', outcome: 'failure', tenantId: 'acme', companyDomain: 'acme.example.com', actingUser: 'bob', reportOwner: 'carol', itemUrl: 'https://c.example.com/reports/R10', launchId: 'L2', field: 'custom1', reason: 'Concur answered 503', correlationId: 'c3' },
  { type: 'launch.accepted', outcome: 'success', tenantId: 'globex', companyDomain: 'globex.example.com', actingUser: 'dave', reportOwner: 'dave', itemUrl: 'https://c.example.com/reports/R1/expenses/E2', launchId: 'L3', correlationId: 'c4' },
  { type: 'update.requested', outcome: 'pending', tenantId: 'globex', companyDomain: 'globex.example.com', actingUser: 'dave', reportOwner: 'dave', itemUrl: 'https://c.example.com/reports/R1/expenses/E2', launchId: 'L3', field: 'custom9', oldValue: 'A', newValue: 'B', correlationId: 'c4' },
  { type: 'update.succeeded', outcome: 'success', tenantId: 'globex', companyDomain: 'globex.example.com', actingUser: 'dave', reportOwner: 'dave', itemUrl: 'https://c.example.com/reports/R1/expenses/E2', launchId: 'L3', field: 'custom9', oldValue: 'A', newValue: 'B', correlationId: 'c4' },
  { type: 'audit.sign_in', outcome: 'success', actingUser: 'auditor', correlationId: 'c5' },
  { type: 'audit.read', outcome: 'success', actingUser: 'auditor', field: 'search', correlationId: 'c6' },
];

/** Registers the cases; `subject` is created fresh for each test (an empty, migrated database). */
export function workbenchCases(subject: () => Promise<WorkbenchSubject>): void {
  let s: WorkbenchSubject;

  beforeEach(async () => {
    s = await subject();
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'hrtime', 'performance'] });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  /** Records SCRIPT, event i on day i after T0; returns the events. */
  async function recordScript(): Promise<AuditEvent[]> {
    const events: AuditEvent[] = [];
    for (const [day, input] of SCRIPT.entries()) {
      jest.setSystemTime(T0 + day * DAY_MS);
      events.push(await s.service.record(input));
    }
    return events;
  }

  async function seqsOf(filter: AuditFilter, pageSize = 100): Promise<number[]> {
    return (await s.service.search(filter, pageSize)).events.map((e) => e.seq);
  }

  describe('search', () => {
    it.each<[string, AuditFilter, number[]]>([
      ['no filter: everything, newest first', {}, [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]],
      ['tenant', { tenantId: 'globex' }, [10, 9, 8]],
      ['company', { companyDomain: 'acme.example.com' }, [7, 6, 5, 4, 3, 2, 1]],
      ['acting user', { actingUser: 'bob' }, [7, 6, 5]],
      ['report owner', { reportOwner: 'carol' }, [7, 6, 5]],
      ['item: a report and everything below it, not a report whose id only starts the same', { item: 'https://c.example.com/reports/R1' }, [10, 9, 8, 3, 2, 1]],
      ['item: one entry', { item: 'https://c.example.com/reports/R1/expenses/E1' }, [3, 2]],
      ['field', { field: 'custom9' }, [10, 9, 3, 2]],
      ['event type', { type: 'update.failed' }, [7]],
      ['outcome', { outcome: 'failure' }, [7, 4]],
      ['launch', { launchId: 'L2' }, [7, 6, 5]],
      ['correlation ID', { correlationId: 'c4' }, [10, 9, 8]],
      ['time range: from inclusive, to exclusive', { from: new Date(T0 + 2 * DAY_MS).toISOString(), to: new Date(T0 + 5 * DAY_MS).toISOString() }, [5, 4, 3]],
      ['several filters together', { tenantId: 'acme', field: 'custom9', outcome: 'success' }, [3]],
      ['a filter nothing matches', { actingUser: 'mallory' }, []],
    ])('filters by %s', async (_name, filter, expected) => {
      await recordScript();
      expect(await seqsOf(filter)).toEqual(expected);
    });

    it('pages with a cursor: every event once, in order, and no cursor after the last page', async () => {
      await recordScript();
      const seen: number[] = [];
      let cursor: string | undefined;
      for (let pages = 1; ; pages++) {
        const page = await s.service.search({ tenantId: 'acme' }, 3, cursor);
        seen.push(...page.events.map((e) => e.seq));
        if (!page.nextCursor) {
          expect(pages).toBe(3);
          break;
        }
        cursor = page.nextCursor;
      }
      expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
    });

    it('keeps times in order along seq when a clock goes back, so a time range is also a seq range', async () => {
      await recordScript();
      jest.setSystemTime(T0 + 3 * DAY_MS);
      const late = await s.service.record({ type: 'launch.accepted', outcome: 'success', tenantId: 'acme' });
      expect(late.occurredAt).toBe(new Date(T0 + 11 * DAY_MS).toISOString());
      const day11 = { from: new Date(T0 + 11 * DAY_MS).toISOString(), to: new Date(T0 + 12 * DAY_MS).toISOString() };
      expect(await seqsOf(day11)).toEqual([13, 12]);
      expect(await seqsOf({ from: new Date(T0 + 3 * DAY_MS).toISOString(), to: new Date(T0 + 4 * DAY_MS).toISOString() })).toEqual([4]);
    });

    it('finds by time a row written out of time order before times were kept in order', async () => {
      await recordScript();
      // Event #5's time set back 5 minutes behind #4's, as a replica with a slow clock once could.
      await s.tamper(`UPDATE audit_events SET occurred_at = '${new Date(T0 + 3 * DAY_MS - 5 * 60_000).toISOString()}' WHERE seq = 5`);
      expect(await seqsOf({ from: new Date(T0 + 3 * DAY_MS - 10 * 60_000).toISOString(), to: new Date(T0 + 3 * DAY_MS).toISOString() })).toEqual([5]);
      expect(await seqsOf({ from: new Date(T0 + 3 * DAY_MS).toISOString(), to: new Date(T0 + 5 * DAY_MS).toISOString() })).toEqual([4]);
    });

    it('refuses a cursor no page handed out', async () => {
      for (const bad of ['x', 'czA', Buffer.from('s-1').toString('base64url'), 'a'.repeat(200)]) {
        await expect(s.service.search({}, 10, bad)).rejects.toBeInstanceOf(InvalidCursorError);
      }
    });

    it('finds one event by id, with everything an auditor needs', async () => {
      const events = await recordScript();
      expect(await s.service.eventById(events[2].id)).toMatchObject({
        seq: 3, type: 'update.succeeded', actingUser: 'alice', field: 'custom9', oldValue: 'P-1', newValue: 'P-2', correlationId: 'c1', prevHash: events[1].hash,
      });
      expect(await s.service.eventById('00000000-0000-0000-0000-000000000000')).toBeUndefined();
    });
  });

  describe('export', () => {
    it('gives the matching events oldest first, up to the chain head at its start', async () => {
      await recordScript();
      const { head, events } = await s.service.exportEvents({ tenantId: 'acme' });
      expect(head.seq).toBe(12);
      await s.service.record({ type: 'launch.accepted', outcome: 'success', tenantId: 'acme' });
      const seqs: number[] = [];
      for await (const event of events) seqs.push(event.seq);
      expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7]);
    });

    it('reads in batches whatever the size', async () => {
      await recordScript();
      const batches: number[] = [];
      const iterate = s.repository.iterateFiltered.bind(s.repository);
      jest.spyOn(s.repository, 'iterateFiltered').mockImplementation((filter, options) => {
        batches.push(options?.batch ?? 1000);
        return iterate(filter, { ...options, batch: 5 });
      });
      const { events } = await s.service.exportEvents({});
      let count = 0;
      for await (const _ of events) count++;
      expect(count).toBe(12);
      expect(batches).toEqual([1000]);
    });
  });

  describe('verify finds tampering done directly in SQL, at its exact seq', () => {
    beforeEach(async () => {
      await recordScript();
    });

    it('a changed field', async () => {
      await s.tamper(`UPDATE audit_events SET new_value = 'P-9' WHERE seq = 3`);
      expect(await s.service.verify()).toEqual({ intact: false, brokenAt: 3, why: 'event #3 was altered', intactUpTo: 2, firstSeq: 1 });
    });

    it('a deleted row', async () => {
      await s.tamper(`DELETE FROM audit_events WHERE seq = 6`);
      expect(await s.service.verify()).toEqual({ intact: false, brokenAt: 6, why: 'event #6 is missing', intactUpTo: 5, firstSeq: 1 });
    });

    it('a forged row inserted with a correct hash of its own', async () => {
      const head = await s.repository.head();
      const forged = {
        seq: head.seq + 1, id: 'forged-1', occurred_at: new Date(T0 + 40 * DAY_MS).toISOString(), event_type: 'update.succeeded', outcome: 'success',
        tenant_id: 'acme', company_domain: null, acting_user: 'mallory', report_owner: null, item_url: null, launch_id: null, field: 'custom9',
        old_value: 'A', new_value: 'Z', reason: null, correlation_id: null, client_ip: null, user_agent: null, prev_hash: 'f'.repeat(64),
      };
      const hash = eventHash(forged);
      const values = Object.values({ ...forged, hash }).map((v) => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v}'`));
      await s.tamper(`INSERT INTO audit_events (${Object.keys({ ...forged, hash }).join(', ')}) VALUES (${values.join(', ')})`);
      expect(await s.service.verify()).toEqual({ intact: false, brokenAt: 13, why: 'event #13 does not follow #12', intactUpTo: 12, firstSeq: 1 });
    });
  });

  describe('retention', () => {
    it('purges events older than N days behind a checkpoint event, and the rest still verifies', async () => {
      const events = await recordScript();
      jest.setSystemTime(T0 + 15 * DAY_MS);
      // Older than 10 days: before day 5, so events #1..#5.
      const result = await s.service.purgeOlderThan(10, 'ops');
      expect(result).toMatchObject({ purged: 5, fromSeq: 1, throughSeq: 5, checkpointSeq: 13 });
      expect(await s.repository.firstSeq()).toBe(6);
      const checkpoint = (await s.service.search({ type: 'audit.purged' }, 10)).events[0];
      expect(checkpoint).toMatchObject({ seq: 13, actingUser: 'ops', newValue: JSON.stringify({ purgedFromSeq: 1, purgedThroughHash: events[4].hash, purgedThroughSeq: 5 }) });
      expect(await s.service.verify()).toEqual({ intact: true, count: 8, firstSeq: 6, headSeq: 13, headHash: checkpoint.hash });
    });

    it('does nothing when nothing is old enough, and chains a later purge on the first', async () => {
      await recordScript();
      jest.setSystemTime(T0 + 12 * DAY_MS);
      expect((await s.service.purgeOlderThan(30)).purged).toBe(0);
      expect(await s.repository.head()).toMatchObject({ seq: 12 });
      expect((await s.service.purgeOlderThan(9)).purged).toBe(3);
      expect((await s.service.purgeOlderThan(9)).purged).toBe(0);
      jest.setSystemTime(T0 + 14 * DAY_MS);
      expect(await s.service.purgeOlderThan(9)).toMatchObject({ purged: 2, fromSeq: 4, throughSeq: 5, checkpointSeq: 14 });
      expect(await s.service.verify()).toMatchObject({ intact: true, firstSeq: 6, headSeq: 14 });
    });

    it('refuses a deletion no checkpoint covers, and reports a forged checkpoint that tries to excuse one', async () => {
      await recordScript();
      await expect(s.db.deleteFrom('audit_events').where('seq', '<=', 3).execute()).rejects.toMatchObject({ message: expect.stringContaining('append-only') });
      // Someone with database access writes a checkpoint row with no audit.purged event, then deletes.
      await s.db.insertInto('audit_checkpoints').values({ checkpoint_seq: 12, purged_from_seq: 1, purged_through_seq: 3, purged_through_hash: 'e'.repeat(64), created_at: 'now' }).execute();
      await s.db.deleteFrom('audit_events').where('seq', '<=', 3).execute();
      expect(await s.service.verify()).toMatchObject({ intact: false, brokenAt: 1, firstSeq: 1 });
      expect((await s.service.verify()) as { why: string }).toMatchObject({ why: expect.stringContaining('events #1..#3 are gone, and no purge in the chain records it') });
    });

    it('after a purge, still finds a changed kept event at its seq', async () => {
      await recordScript();
      jest.setSystemTime(T0 + 15 * DAY_MS);
      await s.service.purgeOlderThan(10);
      await s.tamper(`UPDATE audit_events SET acting_user = 'mallory' WHERE seq = 8`);
      expect(await s.service.verify()).toEqual({ intact: false, brokenAt: 8, why: 'event #8 was altered', intactUpTo: 7, firstSeq: 6 });
    });
  });

  it('writes the chain head to the application log', async () => {
    await recordScript();
    const head = await s.service.logHead();
    expect(head).toEqual(await s.repository.head());
    expect(head?.seq).toBe(12);
  });
}
