import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { LaunchSession } from './launch.types.js';
import { MemorySessionStore } from './session.store.js';
import { sessionOf } from './session.fixture.js';


class SmallSessionStore extends MemorySessionStore {
  protected override readonly maxEntries = 2;
}

describe(MemorySessionStore.name, () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('returns a stored session, and undefined for an unknown id', async () => {
    const store = new MemorySessionStore();
    await store.set(sessionOf('a'));
    await expect(store.get('a')).resolves.toMatchObject({ id: 'a', field: 'Custom1' });
    await expect(store.get('b')).resolves.toBeUndefined();
  });

  it('returns undefined once expiresAt has passed, and forgets the session', async () => {
    const store = new MemorySessionStore();
    await store.set(sessionOf('a', 1000));
    jest.advanceTimersByTime(999);
    await expect(store.get('a')).resolves.toBeDefined();
    jest.advanceTimersByTime(1);
    await expect(store.get('a')).resolves.toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('keeps changes only when set again', async () => {
    const store = new MemorySessionStore();
    const session = sessionOf('a');
    await store.set(session);
    session.done = { value: 'P-1', at: 1 };
    await expect(store.get('a')).resolves.not.toHaveProperty('done');
    await store.set(session);
    await expect(store.get('a')).resolves.toMatchObject({ done: { value: 'P-1' } });
  });

  it('deletes a session', async () => {
    const store = new MemorySessionStore();
    await store.set(sessionOf('a'));
    await store.delete('a');
    await expect(store.get('a')).resolves.toBeUndefined();
  });

  it('evicts the oldest session when full, but not on an update', async () => {
    const store = new SmallSessionStore();
    await store.set(sessionOf('a'));
    await store.set(sessionOf('b'));
    await store.set(sessionOf('a'));
    expect(store.size).toBe(2);
    await store.set(sessionOf('c'));
    expect(store.size).toBe(2);
    await expect(store.get('a')).resolves.toBeUndefined();
    await expect(store.get('b')).resolves.toBeDefined();
    await expect(store.get('c')).resolves.toBeDefined();
  });

  it('sweeps expired sessions before evicting a live one', async () => {
    const store = new SmallSessionStore();
    await store.set(sessionOf('a', 1000));
    await store.set(sessionOf('b', 5000));
    jest.advanceTimersByTime(1000);
    await store.set(sessionOf('c', 5000));
    await expect(store.get('b')).resolves.toBeDefined();
    await expect(store.get('c')).resolves.toBeDefined();
  });

  describe('update claim', () => {
    it('gives the claim to one caller only, until the session expires', async () => {
      const store = new MemorySessionStore();
      const session = sessionOf('a', 1000);
      await store.set(session);
      await expect(store.updateState('a')).resolves.toEqual({ state: 'free' });
      const token = await store.claimUpdate('a', session.expiresAt);
      expect(token).toMatch(/^[0-9a-f]{32}$/);
      await expect(store.claimUpdate('a', session.expiresAt)).resolves.toBeUndefined();
      await expect(store.updateState('a')).resolves.toEqual({ state: 'claimed' });
      jest.advanceTimersByTime(1000);
      await expect(store.updateState('a')).resolves.toEqual({ state: 'free' });
      await expect(store.claimUpdate('a', session.expiresAt)).resolves.toBeUndefined();
    });

    it('refuses a claim for an unknown session', async () => {
      const store = new MemorySessionStore();
      await expect(store.claimUpdate('nope', Date.now() + 60_000)).resolves.toBeUndefined();
    });

    it("releases only the holder's claim, and then allows a new one", async () => {
      const store = new MemorySessionStore();
      const session = sessionOf('a');
      await store.set(session);
      const token = (await store.claimUpdate('a', session.expiresAt))!;
      await expect(store.releaseUpdate('a', 'not-the-token')).resolves.toBe(false);
      await expect(store.updateState('a')).resolves.toEqual({ state: 'claimed' });
      await expect(store.releaseUpdate('a', token)).resolves.toBe(true);
      await expect(store.updateState('a')).resolves.toEqual({ state: 'free' });
      await expect(store.releaseUpdate('a', token)).resolves.toBe(false);
      const again = await store.claimUpdate('a', session.expiresAt);
      expect(again).toBeDefined();
      expect(again).not.toBe(token);
    });

    it('completes with the holder token only; done then shows in get() and blocks any claim', async () => {
      const store = new MemorySessionStore();
      const session = sessionOf('a');
      await store.set(session);
      const token = (await store.claimUpdate('a', session.expiresAt))!;
      await expect(store.completeUpdate('a', 'not-the-token', { value: 'P-2', at: 2 })).resolves.toBe(false);
      await expect(store.completeUpdate('a', token, { value: 'P-1', at: 1 })).resolves.toBe(true);
      await expect(store.updateState('a')).resolves.toEqual({ state: 'done', done: { value: 'P-1', at: 1 } });
      await expect(store.get('a')).resolves.toMatchObject({ done: { value: 'P-1', at: 1 } });
      await expect(store.claimUpdate('a', session.expiresAt)).resolves.toBeUndefined();
      await expect(store.releaseUpdate('a', token)).resolves.toBe(false);
      await expect(store.completeUpdate('a', token, { value: 'P-2', at: 2 })).resolves.toBe(false);
      await expect(store.get('a')).resolves.toMatchObject({ done: { value: 'P-1' } });
    });

    it('keeps done when a copy of the session loaded before the Save is set again', async () => {
      const store = new MemorySessionStore();
      await store.set(sessionOf('a'));
      const pageView = (await store.get('a'))!;
      const token = (await store.claimUpdate('a', pageView.expiresAt))!;
      await store.completeUpdate('a', token, { value: 'P-1', at: 1 });
      pageView.itemView = { level: 'ENTRY', title: 'Taxi', amount: 1, currency: 'EUR', date: null, fieldValue: null, readAt: 5 };
      await store.set(pageView);
      const read = await store.get('a');
      expect(read).toMatchObject({ done: { value: 'P-1' }, itemView: { title: 'Taxi' } });
    });

    it('forgets the claim with the session: on delete and on eviction', async () => {
      const store = new SmallSessionStore();
      const a = sessionOf('a');
      await store.set(a);
      await store.claimUpdate('a', a.expiresAt);
      await store.delete('a');
      await expect(store.updateState('a')).resolves.toEqual({ state: 'free' });
      await store.set(a);
      await expect(store.updateState('a')).resolves.toEqual({ state: 'free' });
      await store.claimUpdate('a', a.expiresAt);
      await store.set(sessionOf('b'));
      await store.set(sessionOf('c'));
      await expect(store.updateState('a')).resolves.toEqual({ state: 'free' });
      expect(store.size).toBe(2);
    });
  });
});
