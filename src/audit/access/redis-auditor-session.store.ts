import { Logger } from '@nestjs/common';
import { hashedKey, sharedStoreUnavailable } from '../../auth/redis-keys.js';
import type { RedisClient } from '../../redis/redis.module.js';
import { type AuditorSession, AuditorSessionStore } from './auditor-session.store.js';

/**
 * Auditor sessions in Redis as JSON under `<prefix>audit-session:<sha256 of the id>`, shared by
 * every replica; Redis expires each at its expiresAt. A Redis failure is a 503, never a fallback.
 */
export class RedisAuditorSessionStore extends AuditorSessionStore {
  private readonly logger = new Logger(RedisAuditorSessionStore.name);

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {
    super();
  }

  async get(id: string): Promise<AuditorSession | undefined> {
    let raw: string | null;
    try {
      raw = await this.redis.get(this.keyOf(id));
    } catch (error) {
      throw sharedStoreUnavailable('auditor session read', error);
    }
    if (raw === null) return undefined;
    const session = parseAuditorSession(raw);
    if (!session) {
      this.logger.warn('a stored auditor session is not readable; treating it as unknown');
      return undefined;
    }
    return session.expiresAt > Date.now() ? session : undefined;
  }

  async set(id: string, session: AuditorSession): Promise<void> {
    const ttlMs = session.expiresAt - Date.now();
    try {
      if (ttlMs <= 0) await this.redis.del(this.keyOf(id));
      else await this.redis.set(this.keyOf(id), JSON.stringify(session), 'PX', Math.ceil(ttlMs));
    } catch (error) {
      throw sharedStoreUnavailable('auditor session write', error);
    }
  }

  async delete(id: string): Promise<void> {
    try {
      await this.redis.del(this.keyOf(id));
    } catch (error) {
      throw sharedStoreUnavailable('auditor session delete', error);
    }
  }

  keyOf(id: string): string {
    return hashedKey(this.prefix, 'audit-session', id);
  }
}

/** The stored session, or undefined when the JSON is damaged or lacks a field. */
export function parseAuditorSession(raw: string): AuditorSession | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const s = value as Partial<AuditorSession> | null;
  if (typeof s !== 'object' || s === null) return undefined;
  if (typeof s.username !== 'string' || s.via !== 'password' || typeof s.csrfToken !== 'string') return undefined;
  if (typeof s.createdAt !== 'number' || typeof s.expiresAt !== 'number') return undefined;
  return { username: s.username, via: s.via, csrfToken: s.csrfToken, createdAt: s.createdAt, expiresAt: s.expiresAt };
}
