import { Injectable } from '@nestjs/common';
import type { LaunchSession } from './launch.types.js';

/** Server-side launch sessions. The port; a Redis adapter can replace the memory one. */
export abstract class SessionStore {
  /** The session, or undefined when unknown or expired. */
  abstract get(id: string): Promise<LaunchSession | undefined>;
  abstract set(session: LaunchSession): Promise<void>;
  abstract delete(id: string): Promise<void>;
}

/** One process only: replicas need a shared store. */
@Injectable()
export class MemorySessionStore extends SessionStore {
  protected readonly maxEntries: number = 100_000;
  /** Insertion order is creation order; an update keeps an entry's place. */
  private readonly sessions = new Map<string, LaunchSession>();

  async get(id: string): Promise<LaunchSession | undefined> {
    const now = Date.now();
    this.sweep(now);
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt <= now) {
      this.sessions.delete(id);
      return undefined;
    }
    return structuredClone(session);
  }

  async set(session: LaunchSession): Promise<void> {
    this.sweep(Date.now());
    if (!this.sessions.has(session.id) && this.sessions.size >= this.maxEntries) {
      const oldest = this.sessions.keys().next();
      if (!oldest.done) this.sessions.delete(oldest.value);
    }
    // A copy, so a caller mutating its object does not change the stored session without save().
    this.sessions.set(session.id, structuredClone(session));
  }

  async delete(id: string): Promise<void> {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Drops expired sessions from the old end (one TTL for all, so creation order is expiry order). */
  private sweep(now: number): void {
    for (const [id, session] of this.sessions) {
      if (session.expiresAt > now) return;
      this.sessions.delete(id);
    }
  }
}
