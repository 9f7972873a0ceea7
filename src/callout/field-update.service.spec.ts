import { jest } from '@jest/globals';
import type { AuditService } from '../audit/audit.service.js';
import type { AuditEventInput } from '../audit/audit.types.js';
import { LaunchSessionService } from '../auth/launch-session.service.js';
import type { LaunchSession } from '../auth/launch.types.js';
import { MemorySessionStore, type SessionStore } from '../auth/session.store.js';
import { PageException } from '../common/page.exception.js';
import { type AppConfig, loadConfig, Tenants } from '../config/index.js';
import type { ConcurClient } from '../concur/concur.client.js';
import { ConcurError } from '../concur/concur.types.js';
import type { LookupService } from '../lookup/lookup.service.js';
import { Metrics } from '../metrics/metrics.service.js';
import { FieldUpdateService, type OtherUpdateWait, otherUpdateWait } from './field-update.service.js';
import type { LaunchTokensService } from './launch-tokens.service.js';
import { ItemMismatchError } from '../concur/concur.types.js';
import { testSession } from './session.fixture.js';

const meta = { correlationId: 'corr-1', clientIp: '127.0.0.1', userAgent: 'jest' };

function session(): LaunchSession {
  return testSession({
    itemView: { level: 'ENTRY', title: 'Hotel', amount: 1, currency: 'EUR', date: null, fieldValue: 'OLD', readAt: Date.now() },
  });
}

const config = loadConfig({}).config;

/**
 * One connector process: the service with its audit, Concur and lookup fakes over a session
 * store. Two builds over one store are two replicas.
 */
function build(write: () => Promise<void>, store: SessionStore = new MemorySessionStore(), wait?: Partial<OtherUpdateWait>) {
  const events: AuditEventInput[] = [];
  const audit = { record: jest.fn(async (e: AuditEventInput) => void events.push(e)) } as unknown as AuditService;
  const concur = { writeField: jest.fn(write) } as unknown as ConcurClient;
  const lookup = {
    find: jest.fn(async (_t: unknown, code: string) => (code.startsWith('PRJ-') ? { code, label: `Label ${code}` } : undefined)),
  } as unknown as LookupService;
  const sessions = new LaunchSessionService(store, config as AppConfig);
  const metrics = new Metrics();
  // No user grant in these sessions: the company token.
  const launchTokens = { tokensOf: () => undefined } as unknown as LaunchTokensService;
  const service = new FieldUpdateService(new Tenants(config), lookup, concur, audit, sessions, metrics, config, launchTokens);
  if (wait) Object.assign((service as unknown as { wait: OtherUpdateWait }).wait, wait);
  /** A launch session as the controller hands it over: stored, then loaded. */
  const launched = async (s: LaunchSession = session()) => {
    await store.set(s);
    return (await sessions.current(s))!;
  };
  return { service, events, concur, sessions, metrics, store, launched };
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
    const { service, events, concur, launched } = build(async () => undefined);
    const s = await launched();
    await expect(service.apply(s, 'PRJ-1001', meta)).resolves.toEqual({ value: 'PRJ-1001', label: 'Label PRJ-1001' });
    expect(events.map((e) => e.type)).toEqual(['update.requested', 'update.succeeded']);
    expect(events[1]).toMatchObject({ oldValue: 'OLD', newValue: 'PRJ-1001', field: 'custom9', launchId: s.id, correlationId: 'corr-1' });
    expect(concur.writeField).toHaveBeenCalledTimes(1);
    expect(s.done?.value).toBe('PRJ-1001');
  });

  it('turns a Concur failure into update.failed and a 502 page with a Retry form', async () => {
    const { service, events, launched } = build(async () => {
      throw new ConcurError('unavailable', 'Concur answered 503', 503);
    });
    const page = await pageOf(service.apply(await launched(), 'PRJ-1001', meta));
    expect(page.getStatus()).toBe(502);
    expect(page.page.view).toMatchObject({
      retry: {
        method: 'POST',
        action: `/launch/s/${'S'.repeat(22)}/select`,
        fields: [
          { name: 'csrf', value: 'csrf' },
          { name: 'code', value: 'PRJ-1001' },
        ],
      },
    });
    expect(events.map((e) => e.type)).toEqual(['update.requested', 'update.failed']);
    expect(events[1].reason).toMatch(/unavailable HTTP 503/);
  });

  it('frees the claim of a failed write, so Retry writes', async () => {
    let failures = 1;
    const { service, events, concur, sessions, launched } = build(async () => {
      if (failures-- > 0) throw new ConcurError('unavailable', 'Concur answered 503', 503);
    });
    const s = await launched();
    expect((await pageOf(service.apply(s, 'PRJ-1001', meta))).getStatus()).toBe(502);
    await expect(sessions.updateState(s)).resolves.toEqual({ state: 'free' });
    await expect(service.apply(s, 'PRJ-1001', meta)).resolves.toMatchObject({ value: 'PRJ-1001' });
    expect(events.map((e) => e.type)).toEqual(['update.requested', 'update.failed', 'update.requested', 'update.succeeded']);
    expect(concur.writeField).toHaveBeenCalledTimes(2);
    await expect(sessions.updateState(s)).resolves.toMatchObject({ state: 'done', done: { value: 'PRJ-1001' } });
  });

  it('records update.failed for an unexpected error too, frees the claim, and lets the error through', async () => {
    const { service, events, sessions, launched } = build(async () => {
      throw new TypeError('boom');
    });
    const s = await launched();
    await expect(service.apply(s, 'PRJ-1001', meta)).rejects.toThrow('boom');
    expect(events.map((e) => e.type)).toEqual(['update.requested', 'update.failed']);
    await expect(sessions.updateState(s)).resolves.toEqual({ state: 'free' });
  });

  it('frees the claim when update.requested cannot be recorded, without calling Concur', async () => {
    const { service, concur, sessions, launched } = build(async () => undefined);
    const audit = (service as unknown as { audit: { record: jest.Mock<(e: AuditEventInput) => Promise<void>> } }).audit;
    audit.record.mockImplementation(async () => {
      throw new Error('database is down');
    });
    const s = await launched();
    await expect(service.apply(s, 'PRJ-1001', meta)).rejects.toThrow('database is down');
    expect(concur.writeField).not.toHaveBeenCalled();
    await expect(sessions.updateState(s)).resolves.toEqual({ state: 'free' });
  });

  it('refuses a code that is not in the lookup source, and one over 48 characters, before any audit, call or claim', async () => {
    const { service, events, concur, sessions, launched } = build(async () => undefined);
    const s = await launched();
    expect((await pageOf(service.apply(s, 'NOPE', meta))).getStatus()).toBe(400);
    expect((await pageOf(service.apply(s, `PRJ-${'x'.repeat(45)}`, meta))).textIn().message).toMatch(/at most 48 characters; this value has 49/);
    expect((await pageOf(service.apply(s, ['PRJ-1'], meta))).getStatus()).toBe(400);
    expect(events).toEqual([]);
    expect(concur.writeField).not.toHaveBeenCalled();
    await expect(sessions.updateState(s)).resolves.toEqual({ state: 'free' });
  });

  it('does not write twice: a double submit shares the first outcome, a done session answers done', async () => {
    let release!: () => void;
    const { service, concur, launched } = build(() => new Promise<void>((resolve) => (release = resolve)));
    const s = await launched();
    // A copy of the session loaded before the write finished (a double click).
    const staleCopy = structuredClone(s);
    const first = service.apply(s, 'PRJ-1001', meta);
    await new Promise((r) => setImmediate(r));
    const second = service.apply(s, 'PRJ-1002', meta);
    release();
    await expect(first).resolves.toMatchObject({ value: 'PRJ-1001' });
    await expect(second).resolves.toMatchObject({ value: 'PRJ-1001' });
    await expect(service.apply(s, 'PRJ-1002', meta)).resolves.toMatchObject({ value: 'PRJ-1001' });
    await expect(service.apply(staleCopy, 'PRJ-1003', meta)).resolves.toMatchObject({ value: 'PRJ-1001' });
    expect(concur.writeField).toHaveBeenCalledTimes(1);
  });

  it('keeps the window done and retries the outcome record when the audit store hiccups', async () => {
    const { service, events, sessions, launched } = build(async () => undefined);
    const audit = (service as unknown as { audit: { record: jest.Mock<(e: AuditEventInput) => Promise<void>> } }).audit;
    let failures = 2;
    audit.record.mockImplementation(async (e: AuditEventInput) => {
      if (e.type === 'update.succeeded' && failures-- > 0) throw new Error('database is locked');
      events.push(e);
    });
    const s = await launched();
    await expect(service.apply(s, 'PRJ-1001', meta)).resolves.toMatchObject({ value: 'PRJ-1001' });
    expect(events.map((e) => e.type)).toEqual(['update.requested', 'update.succeeded']);
    expect((await sessions.current(s))?.done?.value).toBe('PRJ-1001');
  });

  it('still shows the Retry page when update.failed cannot be recorded', async () => {
    const { service, launched } = build(async () => {
      throw new ConcurError('unavailable', 'Concur answered 503', 503);
    });
    const audit = (service as unknown as { audit: { record: jest.Mock<(e: AuditEventInput) => Promise<void>> } }).audit;
    audit.record.mockImplementation(async (e: AuditEventInput) => {
      if (e.type === 'update.failed') throw new Error('disk full');
    });
    expect((await pageOf(service.apply(await launched(), 'PRJ-1001', meta))).getStatus()).toBe(502);
  });

  it('keeps the Concur write when the session cannot be marked done, and still writes only once', async () => {
    const store = new MemorySessionStore();
    const { service, events, concur, launched } = build(async () => undefined, store, { pollMs: 1, maxWaitMs: 20 });
    jest.spyOn(store, 'completeUpdate').mockRejectedValue(new Error('Redis is gone'));
    const s = await launched();
    const staleCopy = structuredClone(s);
    await expect(service.apply(s, 'PRJ-1001', meta)).resolves.toMatchObject({ value: 'PRJ-1001' });
    expect(events.map((e) => e.type)).toEqual(['update.requested', 'update.succeeded']);
    const page = await pageOf(service.apply(staleCopy, 'PRJ-1002', meta));
    expect(page.getStatus()).toBe(409);
    expect(concur.writeField).toHaveBeenCalledTimes(1);
  });

  describe('a double submit to another replica (one session store, two processes)', () => {
    it('writes and audits nothing, waits for the first Save and shows its value', async () => {
      let release!: () => void;
      const store = new MemorySessionStore();
      const a = build(() => new Promise<void>((resolve) => (release = resolve)), store, { pollMs: 1 });
      const b = build(async () => undefined, store, { pollMs: 1 });
      const s = await a.launched();
      const first = a.service.apply(s, 'PRJ-1003', meta);
      await new Promise((r) => setImmediate(r));
      const second = b.service.apply(structuredClone(s), 'PRJ-1002', meta);
      await new Promise((r) => setTimeout(r, 10));
      release();
      await expect(first).resolves.toEqual({ value: 'PRJ-1003', label: 'Label PRJ-1003' });
      await expect(second).resolves.toEqual({ value: 'PRJ-1003', label: null });
      expect(a.events.map((e) => e.type)).toEqual(['update.requested', 'update.succeeded']);
      expect(b.events).toEqual([]);
      expect(b.concur.writeField).not.toHaveBeenCalled();
      expect((await b.metrics.fieldUpdates.get()).values).toEqual([expect.objectContaining({ labels: { outcome: 'conflict' }, value: 1 })]);
    });

    it('answers 409 with a Retry form of its own pick when the first Save fails', async () => {
      let fail!: () => void;
      const store = new MemorySessionStore();
      const a = build(() => new Promise<void>((_, reject) => (fail = () => reject(new ConcurError('unavailable', 'Concur answered 503', 503)))), store, { pollMs: 1 });
      const b = build(async () => undefined, store, { pollMs: 1 });
      const s = await a.launched();
      const first = a.service.apply(s, 'PRJ-1003', meta);
      await new Promise((r) => setImmediate(r));
      const second = b.service.apply(structuredClone(s), 'PRJ-1002', meta);
      await new Promise((r) => setTimeout(r, 10));
      fail();
      expect((await pageOf(first)).getStatus()).toBe(502);
      const page = await pageOf(second);
      expect(page.getStatus()).toBe(409);
      expect(page.page).toMatchObject({ title: 'Your choice was not saved', message: expect.stringContaining('Press Retry') });
      expect(page.page.view).toMatchObject({ retry: { method: 'POST', fields: [{ name: 'csrf', value: 'csrf' }, { name: 'code', value: 'PRJ-1002' }] } });
      expect(b.events).toEqual([]);
      // The Retry claims the freed update and writes.
      await expect(b.service.apply(structuredClone(s), 'PRJ-1002', meta)).resolves.toMatchObject({ value: 'PRJ-1002' });
      expect(b.events.map((e) => e.type)).toEqual(['update.requested', 'update.succeeded']);
    });

    it('gives up with a 409 once a write could have finished, when the claim stays taken', async () => {
      const { service, events, concur, store, launched } = build(async () => undefined, undefined, { pollMs: 1, maxWaitMs: 30 });
      const s = await launched();
      // A replica that claimed and then stopped (crashed) before marking the session done.
      await expect(store.claimUpdate(s.id, s.expiresAt)).resolves.toBeDefined();
      const page = await pageOf(service.apply(s, 'PRJ-1002', meta));
      expect(page.getStatus()).toBe(409);
      expect(page.page).toMatchObject({ title: 'This window is already saving', message: 'Close this window and check the field in Concur.' });
      expect(page.page.view).toBeUndefined();
      expect(events).toEqual([]);
      expect(concur.writeField).not.toHaveBeenCalled();
    });
  });

  it('waits for another replica as long as the configured Concur write can take (its read first), token requests included, plus a margin', () => {
    const wait = otherUpdateWait({ concur: { timeoutMs: 10_000, maxRetries: 2, retryBaseDelayMs: 200, maxRetryAfterSeconds: 10 } } as AppConfig);
    // Two calls (the report or allocation read, then the write), each of 4 attempts (3 + one after
    // a 401 renews the token), each a token request and the call; 2 waits of Retry-After.
    expect(wait).toEqual({ pollMs: 100, maxWaitMs: 2 * (4 * 2 * 10_000 + 2 * 10_000) + 2_000 });
    // A long backoff outweighs a short Retry-After.
    const backoff = otherUpdateWait({ concur: { timeoutMs: 1_000, maxRetries: 3, retryBaseDelayMs: 10_000, maxRetryAfterSeconds: 0 } } as AppConfig);
    expect(backoff.maxWaitMs).toBe(2 * (5 * 2 * 1_000 + (12_501 + 22_501 + 30_000)) + 2_000);
  });

  it("turns an allocation that is not among the launch's expense_ids into update.failed and a 400 page", async () => {
    const { service, events, launched } = build(async () => {
      throw new ItemMismatchError("expense_ids (X9) do not include the allocation's expense X1");
    });
    const page = await pageOf(service.apply(await launched(), 'PRJ-1001', meta));
    expect(page.getStatus()).toBe(400);
    expect(events.map((e) => [e.type, e.reason])).toEqual([
      ['update.requested', 'with the company token'],
      ['update.failed', "launch mismatch: expense_ids (X9) do not include the allocation's expense X1"],
    ]);
  });

  it("keeps Concur's reason and correlation id in update.failed", async () => {
    const { service, events, launched } = build(async () => {
      throw new ConcurError('rejected', 'Concur refused the write (HTTP 400): Request failed validation', 400, 'concur', {
        concurMessage: 'Request failed validation',
        concurCorrelationId: 'cc-1',
      });
    });
    const page = await pageOf(service.apply(await launched(), 'PRJ-1001', meta));
    expect(page.page.view).toMatchObject({ concurSays: 'Request failed validation' });
    expect(events[1].reason).toBe('rejected HTTP 400: Concur refused the write (HTTP 400): Request failed validation [concur-correlationid cc-1]');
  });

  describe('counts clc_field_updates_total', () => {
    async function outcomes(metrics: Metrics): Promise<Record<string, number>> {
      const { values } = await metrics.fieldUpdates.get();
      return Object.fromEntries(values.map((v) => [String(v.labels.outcome), v.value]));
    }

    it('succeeded once per write, conflict for a submit after Done and for a refused pick', async () => {
      const { service, metrics, launched } = build(async () => undefined);
      const s = await launched();
      await service.apply(s, 'PRJ-1001', meta);
      await service.apply(s, 'PRJ-1002', meta);
      await pageOf(service.apply(session(), 'NOPE', meta));
      expect(await outcomes(metrics)).toEqual({ succeeded: 1, conflict: 2 });
    });

    it('failed when Concur refuses or an unexpected error stops the write', async () => {
      const { service, metrics, launched } = build(async () => {
        throw new ConcurError('rejected', 'Concur refused', 400);
      });
      await pageOf(service.apply(await launched(), 'PRJ-1001', meta));
      expect(await outcomes(metrics)).toEqual({ failed: 1 });
    });
  });
});
