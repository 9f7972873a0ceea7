import { jest } from '@jest/globals';
import type { AuditService } from '../audit/audit.service.js';
import type { AuditEventInput } from '../audit/audit.types.js';
import type { LaunchSessionService } from '../auth/launch-session.service.js';
import type { LaunchSession } from '../auth/launch.types.js';
import { PageException } from '../common/page.exception.js';
import { loadConfig, Tenants } from '../config/index.js';
import type { ConcurClient } from '../concur/concur.client.js';
import { ConcurError } from '../concur/concur.types.js';
import type { LookupService } from '../lookup/lookup.service.js';
import { Metrics } from '../metrics/metrics.service.js';
import { FieldUpdateService } from './field-update.service.js';
import { testSession } from './session.fixture.js';

const meta = { correlationId: 'corr-1', clientIp: '127.0.0.1', userAgent: 'jest' };

function session(): LaunchSession {
  return testSession({
    itemView: { level: 'ENTRY', title: 'Hotel', amount: 1, currency: 'EUR', date: null, fieldValue: 'OLD', readAt: Date.now() },
  });
}

function build(write: () => Promise<void>) {
  const events: AuditEventInput[] = [];
  const audit = { record: jest.fn(async (e: AuditEventInput) => void events.push(e)) } as unknown as AuditService;
  const concur = { writeField: jest.fn(write) } as unknown as ConcurClient;
  const lookup = {
    find: jest.fn(async (_t: unknown, code: string) => (code.startsWith('PRJ-') ? { code, label: `Label ${code}` } : undefined)),
  } as unknown as LookupService;
  const stored = new Map<string, LaunchSession>();
  const sessions = {
    save: jest.fn(async (s: LaunchSession) => void stored.set(s.id, structuredClone(s))),
    current: jest.fn(async (s: LaunchSession) => stored.get(s.id)),
  } as unknown as LaunchSessionService;
  const metrics = new Metrics();
  const service = new FieldUpdateService(new Tenants(loadConfig({}).config), lookup, concur, audit, sessions, metrics);
  return { service, events, concur, sessions, metrics };
}

async function pageOf(promise: Promise<unknown>): Promise<PageException> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PageException) return error;
    throw error;
  }
  throw new Error('expected a PageException');
}

describe(FieldUpdateService.name, () => {
  it('audits requested before the write and succeeded after it, with old and new value', async () => {
    const { service, events, concur } = build(async () => undefined);
    const s = session();
    await expect(service.apply(s, 'PRJ-1001', meta)).resolves.toEqual({ value: 'PRJ-1001', label: 'Label PRJ-1001' });
    expect(events.map((e) => e.type)).toEqual(['update.requested', 'update.succeeded']);
    expect(events[1]).toMatchObject({ oldValue: 'OLD', newValue: 'PRJ-1001', field: 'custom9', launchId: s.id, correlationId: 'corr-1' });
    expect(concur.writeField).toHaveBeenCalledTimes(1);
    expect(s.done?.value).toBe('PRJ-1001');
  });

  it('turns a Concur failure into update.failed and a 502 page with a Retry form', async () => {
    const { service, events } = build(async () => {
      throw new ConcurError('unavailable', 'Concur answered 503', 503);
    });
    const page = await pageOf(service.apply(session(), 'PRJ-1001', meta));
    expect(page.getStatus()).toBe(502);
    expect(page.page.view).toMatchObject({ retry: { method: 'POST', action: `/launch/s/${'S'.repeat(22)}/select` } });
    expect(events.map((e) => e.type)).toEqual(['update.requested', 'update.failed']);
    expect(events[1].reason).toMatch(/unavailable HTTP 503/);
  });

  it('records update.failed for an unexpected error too, and lets it through', async () => {
    const { service, events } = build(async () => {
      throw new TypeError('boom');
    });
    await expect(service.apply(session(), 'PRJ-1001', meta)).rejects.toThrow('boom');
    expect(events.map((e) => e.type)).toEqual(['update.requested', 'update.failed']);
  });

  it('refuses a code that is not in the lookup source, and one over 48 characters, before any audit or call', async () => {
    const { service, events, concur } = build(async () => undefined);
    expect((await pageOf(service.apply(session(), 'NOPE', meta))).getStatus()).toBe(400);
    expect((await pageOf(service.apply(session(), `PRJ-${'x'.repeat(45)}`, meta))).page.message).toMatch(/at most 48/);
    expect((await pageOf(service.apply(session(), ['PRJ-1'], meta))).getStatus()).toBe(400);
    expect(events).toEqual([]);
    expect(concur.writeField).not.toHaveBeenCalled();
  });

  it('does not write twice: a double submit shares the first outcome, a done session answers done', async () => {
    let release!: () => void;
    const { service, concur } = build(() => new Promise<void>((resolve) => (release = resolve)));
    const s = session();
    const first = service.apply(s, 'PRJ-1001', meta);
    await new Promise((r) => setImmediate(r));
    const second = service.apply(s, 'PRJ-1002', meta);
    release();
    await expect(first).resolves.toMatchObject({ value: 'PRJ-1001' });
    await expect(second).resolves.toMatchObject({ value: 'PRJ-1001' });
    await expect(service.apply(s, 'PRJ-1002', meta)).resolves.toMatchObject({ value: 'PRJ-1001' });
    // A copy of the session loaded before the write finished (a double click) does not write again.
    const staleCopy = { ...session(), id: s.id };
    await expect(service.apply(staleCopy, 'PRJ-1003', meta)).resolves.toMatchObject({ value: 'PRJ-1001' });
    expect(concur.writeField).toHaveBeenCalledTimes(1);
  });

  it('keeps the window done and retries the outcome record when the audit store hiccups', async () => {
    const { service, events, sessions } = build(async () => undefined);
    const audit = (service as unknown as { audit: { record: jest.Mock<(e: AuditEventInput) => Promise<void>> } }).audit;
    let failures = 2;
    audit.record.mockImplementation(async (e: AuditEventInput) => {
      if (e.type === 'update.succeeded' && failures-- > 0) throw new Error('database is locked');
      events.push(e);
    });
    const s = session();
    await expect(service.apply(s, 'PRJ-1001', meta)).resolves.toMatchObject({ value: 'PRJ-1001' });
    expect(events.map((e) => e.type)).toEqual(['update.requested', 'update.succeeded']);
    expect((await sessions.current(s))?.done?.value).toBe('PRJ-1001');
  });

  it('still shows the Retry page when update.failed cannot be recorded', async () => {
    const { service } = build(async () => {
      throw new ConcurError('unavailable', 'Concur answered 503', 503);
    });
    const audit = (service as unknown as { audit: { record: jest.Mock<(e: AuditEventInput) => Promise<void>> } }).audit;
    audit.record.mockImplementation(async (e: AuditEventInput) => {
      if (e.type === 'update.failed') throw new Error('disk full');
    });
    expect((await pageOf(service.apply(session(), 'PRJ-1001', meta))).getStatus()).toBe(502);
  });

  describe('counts clc_field_updates_total', () => {
    async function outcomes(metrics: Metrics): Promise<Record<string, number>> {
      const { values } = await metrics.fieldUpdates.get();
      return Object.fromEntries(values.map((v) => [String(v.labels.outcome), v.value]));
    }

    it('succeeded once per write, conflict for a submit after Done and for a refused pick', async () => {
      const { service, metrics } = build(async () => undefined);
      const s = session();
      await service.apply(s, 'PRJ-1001', meta);
      await service.apply(s, 'PRJ-1002', meta);
      await pageOf(service.apply(session(), 'NOPE', meta));
      expect(await outcomes(metrics)).toEqual({ succeeded: 1, conflict: 2 });
    });

    it('failed when Concur refuses or an unexpected error stops the write', async () => {
      const { service, metrics } = build(async () => {
        throw new ConcurError('rejected', 'Concur refused', 400);
      });
      await pageOf(service.apply(session(), 'PRJ-1001', meta));
      expect(await outcomes(metrics)).toEqual({ failed: 1 });
    });
  });
});
