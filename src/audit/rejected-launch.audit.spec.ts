import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { AppConfig } from '../config/index.js';
import { createSqliteKysely } from '../database/database.factory.js';
import type { Database } from '../database/database.types.js';
import { runMigrations } from '../database/migrations.js';
import { Metrics } from '../metrics/metrics.service.js';
import { AuditRepository } from './audit.repository.js';
import { AuditService } from './audit.service.js';
import type { AuditEvent, AuditEventInput } from './audit.types.js';
import { RejectedLaunchAudit } from './rejected-launch.audit.js';
import { MemoryRejectionCounter, OTHER_ADDRESSES } from './rejected-launch.counter.js';

/** A window start: 2026-01-01T00:00:00Z is a whole number of minutes. */
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

const rejected = (clientIp: string | null, n = 0): AuditEventInput => ({
  type: 'launch.rejected',
  outcome: 'failure',
  reason: 'signature does not match',
  companyDomain: `attempt-${n}.example`,
  clientIp,
});

describe(RejectedLaunchAudit.name, () => {
  let db: Kysely<Database>;
  let audit: AuditService;
  let config: AppConfig;

  beforeEach(async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'], now: T0 });
    db = createSqliteKysely(':memory:');
    await runMigrations(db);
    config = new AppConfig();
    audit = new AuditService(new AuditRepository(db), new Metrics(), config);
  });

  afterEach(async () => {
    jest.useRealTimers();
    jest.restoreAllMocks();
    await db.destroy();
  });

  /** Lets the window's timer fire and its counts be written. */
  const closeWindow = async (rejections: RejectedLaunchAudit, ms = 65_000) => {
    await jest.advanceTimersByTimeAsync(ms);
    await rejections.written();
  };
  const events = async (): Promise<AuditEvent[]> => (await audit.search({ type: 'launch.rejected' }, 500)).events.reverse();
  const counts = async () => (await events()).filter((e) => / not written individually /.test(e.reason ?? ''));

  it('audits the first `limit` rejections of an address one by one, then counts the rest in one event when the window closes', async () => {
    const rejections = new RejectedLaunchAudit(audit, config);
    jest.setSystemTime(T0 + 5_000);
    for (let i = 0; i < 100; i++) await rejections.record(rejected('203.0.113.7', i));
    expect(await events()).toHaveLength(30);
    expect((await events()).map((e) => e.companyDomain)).toEqual(Array.from({ length: 30 }, (_, i) => `attempt-${i}.example`));

    await closeWindow(rejections, 60_000);
    const all = await events();
    expect(all).toHaveLength(31);
    expect(all[30]).toMatchObject({
      type: 'launch.rejected',
      outcome: 'failure',
      clientIp: '203.0.113.7',
      reason: '70 more rejected launches from 203.0.113.7 between 2026-01-01T00:00:00.000Z and 2026-01-01T00:01:00.000Z not written individually (over 30 per 60 s)',
    });
  });

  it('leaves other addresses unaffected, and starts afresh in the next window', async () => {
    config.audit.rejectedLaunches.limit = 3;
    const rejections = new RejectedLaunchAudit(audit, config);
    for (let i = 0; i < 10; i++) await rejections.record(rejected('198.51.100.1', i));
    for (let i = 0; i < 3; i++) await rejections.record(rejected('198.51.100.2', i));
    expect((await events()).map((e) => e.clientIp)).toEqual([...Array(3).fill('198.51.100.1'), ...Array(3).fill('198.51.100.2')]);

    await closeWindow(rejections);
    expect((await counts()).map((e) => e.reason)).toEqual([expect.stringMatching(/^7 more rejected launches from 198\.51\.100\.1 /)]);
    await rejections.record(rejected('198.51.100.1', 99));
    expect((await events()).at(-1)).toMatchObject({ clientIp: '198.51.100.1', companyDomain: 'attempt-99.example' });
  });

  it('counts IPv6 per /64 and IPv4-mapped IPv6 as IPv4', async () => {
    config.audit.rejectedLaunches.limit = 2;
    const rejections = new RejectedLaunchAudit(audit, config);
    for (const ip of ['2001:db8:1:2::1', '2001:db8:1:2::ffff', '2001:db8:1:2:aaaa::1', '2001:db8:1:3::1', '::ffff:192.0.2.9', '192.0.2.9', '192.0.2.9']) {
      await rejections.record(rejected(ip));
    }
    expect((await events()).map((e) => e.clientIp)).toEqual(['2001:db8:1:2::1', '2001:db8:1:2::ffff', '2001:db8:1:3::1', '::ffff:192.0.2.9', '192.0.2.9']);
    await closeWindow(rejections);
    expect((await counts()).map((e) => [e.clientIp, e.reason?.split(' between')[0]])).toEqual([
      ['2001:db8:1:2::/64', '1 more rejected launch from 2001:db8:1:2::/64'],
      ['192.0.2.9', '1 more rejected launch from 192.0.2.9'],
    ]);
  });

  it('bounds its memory: beyond the tracked addresses, new ones share one bucket and its limit', async () => {
    config.audit.rejectedLaunches.limit = 2;
    const rejections = new RejectedLaunchAudit(audit, config, null, undefined, 3);
    for (let i = 0; i < 50; i++) await rejections.record(rejected(`192.0.2.${i}`, i));
    // Three tracked addresses get their own events, the 47 others share the limit of 2.
    expect((await events()).map((e) => e.clientIp)).toEqual(['192.0.2.0', '192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4']);
    expect((rejections as unknown as { memory: MemoryRejectionCounter }).memory.size).toBe(4);
    await closeWindow(rejections);
    const [count] = await counts();
    expect(count).toMatchObject({ clientIp: null, reason: expect.stringMatching(/^45 more rejected launches from other addresses \(more than 3 addresses/) });
  });

  it('writes a count still open at shutdown', async () => {
    config.audit.rejectedLaunches.limit = 1;
    const rejections = new RejectedLaunchAudit(audit, config);
    for (let i = 0; i < 4; i++) await rejections.record(rejected('192.0.2.1', i));
    await rejections.beforeApplicationShutdown();
    expect((await counts()).map((e) => e.reason)).toEqual([expect.stringMatching(/^3 more rejected launches from 192\.0\.2\.1 /)]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('writes one count per address and window, and a later rejection in the same window starts a new one', async () => {
    config.audit.rejectedLaunches.limit = 1;
    const rejections = new RejectedLaunchAudit(audit, config);
    for (let i = 0; i < 3; i++) await rejections.record(rejected('192.0.2.1', i));
    await rejections.beforeApplicationShutdown();
    await rejections.record(rejected('192.0.2.1', 5));
    await closeWindow(rejections);
    expect((await counts()).map((e) => e.reason?.split(' from')[0])).toEqual(['2 more rejected launches', '1 more rejected launch']);
  });
});

describe(MemoryRejectionCounter.name, () => {
  const rule = { limit: 2, windowMs: 60_000, maxAddresses: 2 };

  it('keeps at most two windows of at most maxAddresses + 1 buckets', async () => {
    const counter = new MemoryRejectionCounter();
    for (let window = 0; window < 5; window++) {
      for (let i = 0; i < 100; i++) await counter.count(`a${i}`, window, rule);
    }
    expect(counter.size).toBe(2 * (rule.maxAddresses + 1));
  });

  it('tells the first rejection over the limit, and takes the count once', async () => {
    const counter = new MemoryRejectionCounter();
    const tallies = [];
    for (let i = 0; i < 5; i++) tallies.push(await counter.count('a', 7, rule));
    expect(tallies.map((t) => [t.individually, t.startsCount])).toEqual([[true, false], [true, false], [false, true], [false, false], [false, false]]);
    expect(await counter.take('a', 7)).toBe(3);
    expect(await counter.take('a', 7)).toBe(0);
    expect(await counter.take(OTHER_ADDRESSES, 7)).toBe(0);
  });
});
