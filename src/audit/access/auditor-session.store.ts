import { createHash } from 'node:crypto';

/** A signed-in auditor's server-side state; the browser holds only the random id. */
export interface AuditorSession {
  username: string;
  /** How the session was opened: the sign-in form. */
  via: 'password';
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

/** The key a session is stored under: what leaks from the store cannot be presented as a cookie. */
export function sessionKeyOf(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/** Auditor sessions. The port; memory for one process, Redis for replicas. */
export abstract class AuditorSessionStore {
  /** The session, or undefined when unknown or expired. */
  abstract get(id: string): Promise<AuditorSession | undefined>;
  /** Stores the session until its expiresAt. */
  abstract set(id: string, session: AuditorSession): Promise<void>;
  abstract delete(id: string): Promise<void>;
}

/** One process only: replicas need the Redis store. */
export class MemoryAuditorSessionStore extends AuditorSessionStore {
  private readonly entries = new Map<string, AuditorSession>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  async get(id: string): Promise<AuditorSession | undefined> {
    const key = sessionKeyOf(id);
    const session = this.entries.get(key);
    if (!session) return undefined;
    if (session.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return { ...session };
  }

  async set(id: string, session: AuditorSession): Promise<void> {
    const now = this.now();
    if (this.entries.size >= this.maxEntries) this.evict(now);
    this.entries.set(sessionKeyOf(id), { ...session });
  }

  async delete(id: string): Promise<void> {
    this.entries.delete(sessionKeyOf(id));
  }

  get size(): number {
    return this.entries.size;
  }

  /** Drops expired sessions; when none has expired, the oldest. */
  private evict(now: number): void {
    for (const [key, session] of this.entries) if (session.expiresAt <= now) this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}
