import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { PageException } from '../common/page.exception.js';
import type { AppConfig } from '../config/index.js';
import { LaunchSessionService, type NewLaunchSession } from './launch-session.service.js';
import { MemorySessionStore } from './session.store.js';

const config = { session: { ttlSeconds: 1800, cookieName: 'clc_launch' } } as AppConfig;

const DATA: NewLaunchSession = {
  version: 4,
  tenantId: 'sandbox',
  companyDomain: 'sandbox.example.com',
  userId: 'u-1',
  reportOwnerUserId: 'u-1',
  reportOwnerEmployeeId: null,
  item: { api: 'v4', level: 'ENTRY', url: 'https://x/reports/R/expenses/E', origin: 'https://x', reportId: 'R', expenseId: 'E' },
  field: 'custom9',
  isMobile: false,
  languageCode: 'en',
  expenseIds: [],
};

async function pageError(promise: Promise<unknown> | (() => unknown)): Promise<PageException> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    expect(error).toBeInstanceOf(PageException);
    return error as PageException;
  }
  throw new Error('expected a PageException');
}

describe(LaunchSessionService.name, () => {
  let store: MemorySessionStore;
  let service: LaunchSessionService;

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    store = new MemorySessionStore();
    service = new LaunchSessionService(store, config);
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  describe('create', () => {
    it('makes a session with random id, cookie secret and CSRF token, and stores it', async () => {
      const { session, cookieSecret } = await service.create(DATA);
      expect(session).toMatchObject(DATA);
      expect(session.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(cookieSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(session.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(session.cookieHash).toBe(createHash('sha256').update(cookieSecret).digest('hex'));
      expect(JSON.stringify(session)).not.toContain(cookieSecret);
      expect(session.expiresAt - session.createdAt).toBe(1800 * 1000);
      await expect(store.get(session.id)).resolves.toEqual(session);
    });

    it('never repeats ids or secrets', async () => {
      const a = await service.create(DATA);
      const b = await service.create(DATA);
      expect(a.session.id).not.toBe(b.session.id);
      expect(a.cookieSecret).not.toBe(b.cookieSecret);
      expect(a.session.csrfToken).not.toBe(b.session.csrfToken);
    });
  });

  describe('load', () => {
    it('returns the session for the right cookie', async () => {
      const { session, cookieSecret } = await service.create(DATA);
      await expect(service.load(session.id, cookieSecret)).resolves.toEqual(session);
    });

    it.each(['short', 'a'.repeat(23), 'abc$defghijklmnopqrstu', '../../etc/passwdxxxxxx'])('answers 404 for the id %s', async (id) => {
      const error = await pageError(service.load(id, 'x'));
      expect(error.getStatus()).toBe(404);
      expect(error.page.title).toBe('Page not found');
    });

    it('answers 410 for an unknown id', async () => {
      const error = await pageError(service.load('A'.repeat(22), 'x'));
      expect(error.getStatus()).toBe(410);
      expect(error.page.title).toBe('This window has expired');
    });

    it('answers 410 once the TTL has passed', async () => {
      const { session, cookieSecret } = await service.create(DATA);
      jest.advanceTimersByTime(1800 * 1000);
      const error = await pageError(service.load(session.id, cookieSecret));
      expect(error.getStatus()).toBe(410);
      expect(error.page.message).toContain('click the field again in Concur');
    });

    it.each([
      ['missing', undefined],
      ['empty', ''],
      ['wrong', 'not-the-secret'],
    ])('answers 403 when the cookie is %s', async (_label, cookie) => {
      const { session } = await service.create(DATA);
      const error = await pageError(service.load(session.id, cookie));
      expect(error.getStatus()).toBe(403);
      expect(error.page).toMatchObject({
        title: 'This window belongs to another browser session',
        detail: 'launch cookie missing or wrong',
      });
    });

    it("answers 403 for another session's cookie", async () => {
      const a = await service.create(DATA);
      const b = await service.create(DATA);
      expect((await pageError(service.load(a.session.id, b.cookieSecret))).getStatus()).toBe(403);
    });
  });

  it('save keeps changes to a session', async () => {
    const { session, cookieSecret } = await service.create(DATA);
    await service.save({ ...session, done: { value: 'P-1', at: 1 } });
    await expect(service.load(session.id, cookieSecret)).resolves.toMatchObject({ done: { value: 'P-1' } });
  });

  it("claims the session's one update, and a loaded session shows it done", async () => {
    const { session, cookieSecret } = await service.create(DATA);
    const token = (await service.claimUpdate(session))!;
    await expect(service.claimUpdate(session)).resolves.toBeUndefined();
    await expect(service.updateState(session)).resolves.toEqual({ state: 'claimed' });
    await expect(service.releaseUpdate(session, token)).resolves.toBe(true);
    const again = (await service.claimUpdate(session))!;
    await expect(service.completeUpdate(session, again, { value: 'P-1', at: 1 })).resolves.toBe(true);
    // A page view saved afterwards from a copy loaded before the Save keeps the window done.
    await service.save(session);
    await expect(service.load(session.id, cookieSecret)).resolves.toMatchObject({ done: { value: 'P-1' } });
    // The claim lasts as long as the session.
    jest.advanceTimersByTime(1800 * 1000 - 1);
    await expect(service.claimUpdate(session)).resolves.toBeUndefined();
  });

  describe('verifyCsrf', () => {
    it('accepts the session token', async () => {
      const { session } = await service.create(DATA);
      expect(() => service.verifyCsrf(session, session.csrfToken)).not.toThrow();
    });

    it.each([
      ['another string', 'nope'],
      ['a prefix', 'PREFIX'],
      ['undefined', undefined],
      ['an array', ['x']],
      ['a number', 1],
    ])('refuses %s with a 403 page', async (_label, token) => {
      const { session } = await service.create(DATA);
      const value = token === 'PREFIX' ? session.csrfToken.slice(0, 10) : token;
      const error = await pageError(() => service.verifyCsrf(session, value));
      expect(error.getStatus()).toBe(403);
      expect(error.page).toMatchObject({ title: 'This form has expired', detail: 'csrf token mismatch' });
    });
  });

  it('names the cookie from config and scopes it to the session page', async () => {
    const { session } = await service.create(DATA);
    expect(service.cookieName()).toBe('clc_launch');
    expect(service.cookieOptions(session, true)).toEqual({
      httpOnly: true,
      sameSite: 'lax',
      secure: true,
      path: `/launch/s/${session.id}`,
      maxAge: 1800 * 1000,
    });
    expect(service.cookieOptions(session, false).secure).toBe(false);
  });
});
