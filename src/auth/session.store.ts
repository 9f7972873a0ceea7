import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { LaunchSession } from './launch.types.js';

export type LaunchDone = NonNullable<LaunchSession['done']>;

/** Where the one field update of a launch session stands. */
export type UpdateState = { state: 'free' } | { state: 'claimed' } | { state: 'done'; done: LaunchDone };

/**
 * Server-side launch sessions. The port; a Redis adapter can replace the memory one.
 *
 * A session allows one field update across all replicas: claimUpdate() is atomic, and the claim
 * record, not the session, holds `done` once the update succeeded. set() never touches that
 * record, so saving a stale copy of a session (a page view) cannot erase a Save's `done`;
 * get() returns the session with the record's `done` (over any `done` set() was given).
 */
export abstract class SessionStore {
  /** The session, or undefined when unknown or expired. */
  abstract get(id: string): Promise<LaunchSession | undefined>;
  abstract set(session: LaunchSession): Promise<void>;
  /** Removes the session and its update record. */
  abstract delete(id: string): Promise<void>;
  /**
   * Claims the session's update, kept until the session expires: a token when won; undefined
   * when another request holds the claim or the update is done.
   */
  abstract claimUpdate(id: string, expiresAt: number): Promise<string | undefined>;
  /** Turns the claim into `done`; false when the claim is no longer this token's. */
  abstract completeUpdate(id: string, token: string, done: LaunchDone): Promise<boolean>;
  /** Frees the claim (the update failed) so a Retry can claim again; only the holder's token does. */
  abstract releaseUpdate(id: string, token: string): Promise<boolean>;
  abstract updateState(id: string): Promise<UpdateState>;
}

/** A claim token: random, so only the claimer can complete or release its claim. */
export function newClaimToken(): string {
  return randomBytes(16).toString('hex');
}

type UpdateRecord = { token: string } | { done: LaunchDone };

interface Entry {
  session: LaunchSession;
  /** Kept when the session is set again. */
  update?: UpdateRecord;
}

/** One process only: replicas need a shared store. */
@Injectable()
export class MemorySessionStore extends SessionStore {
  protected readonly maxEntries: number = 100_000;
  /** Insertion order is creation order; an update keeps an entry's place. */
  private readonly entries = new Map<string, Entry>();

  async get(id: string): Promise<LaunchSession | undefined> {
    const entry = this.live(id);
    if (!entry) return undefined;
    const session = structuredClone(entry.session);
    if (entry.update && 'done' in entry.update) session.done = { ...entry.update.done };
    return session;
  }

  async set(session: LaunchSession): Promise<void> {
    const entry = this.live(session.id);
    if (!entry && this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    // A copy, so a caller mutating its object does not change the stored session without save().
    const copy = structuredClone(session);
    if (entry) entry.session = copy;
    else this.entries.set(session.id, { session: copy });
  }

  async delete(id: string): Promise<void> {
    this.entries.delete(id);
  }

  async claimUpdate(id: string, _expiresAt: number): Promise<string | undefined> {
    // The claim lives in the session's entry, so it expires and is evicted with the session.
    const entry = this.live(id);
    if (!entry || entry.update) return undefined;
    const token = newClaimToken();
    entry.update = { token };
    return token;
  }

  async completeUpdate(id: string, token: string, done: LaunchDone): Promise<boolean> {
    const entry = this.live(id);
    if (!entry?.update || !('token' in entry.update) || entry.update.token !== token) return false;
    entry.update = { done: { ...done } };
    return true;
  }

  async releaseUpdate(id: string, token: string): Promise<boolean> {
    const entry = this.live(id);
    if (!entry?.update || !('token' in entry.update) || entry.update.token !== token) return false;
    delete entry.update;
    return true;
  }

  async updateState(id: string): Promise<UpdateState> {
    const update = this.live(id)?.update;
    if (!update) return { state: 'free' };
    return 'done' in update ? { state: 'done', done: { ...update.done } } : { state: 'claimed' };
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry of a session that has not expired. */
  private live(id: string): Entry | undefined {
    const now = Date.now();
    this.sweep(now);
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.session.expiresAt <= now) {
      this.entries.delete(id);
      return undefined;
    }
    return entry;
  }

  /** Drops expired sessions from the old end (one TTL for all, so creation order is expiry order). */
  private sweep(now: number): void {
    for (const [id, entry] of this.entries) {
      if (entry.session.expiresAt > now) return;
      this.entries.delete(id);
    }
  }
}
