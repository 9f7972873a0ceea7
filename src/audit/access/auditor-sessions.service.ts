import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { CookieOptions } from 'express';
import { AppConfig } from '../../config/index.js';
import { type AuditorSession, AuditorSessionStore } from './auditor-session.store.js';
import { newCsrfToken } from './sign-in.form.js';

/** 32 random bytes, base64url: what `open` puts in the cookie. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** Signed-in auditors: the session behind the `audit.cookieName` cookie. */
@Injectable()
export class AuditorSessions {
  constructor(
    private readonly store: AuditorSessionStore,
    private readonly config: AppConfig,
  ) {}

  async open(username: string): Promise<{ id: string; session: AuditorSession }> {
    const id = randomBytes(32).toString('base64url');
    const createdAt = Date.now();
    const session: AuditorSession = {
      username,
      via: 'password',
      csrfToken: newCsrfToken(),
      createdAt,
      expiresAt: createdAt + this.config.audit.sessionTtlSeconds * 1000,
    };
    await this.store.set(id, session);
    return { id, session };
  }

  /** The live session of a cookie value; undefined for anything else, without asking the store about garbage. */
  async find(cookie: unknown): Promise<{ id: string; session: AuditorSession } | undefined> {
    if (typeof cookie !== 'string' || !SESSION_ID.test(cookie)) return undefined;
    const session = await this.store.get(cookie);
    return session && session.expiresAt > Date.now() ? { id: cookie, session } : undefined;
  }

  async close(id: string): Promise<void> {
    await this.store.delete(id);
  }

  get cookieName(): string {
    return this.config.audit.cookieName;
  }

  /** Strict: the audit pages are never the target of a link from elsewhere that should arrive signed in. */
  cookieOptions(secure: boolean): CookieOptions {
    return { httpOnly: true, sameSite: 'strict', secure, path: '/', maxAge: this.config.audit.sessionTtlSeconds * 1000 };
  }

  clearCookieOptions(secure: boolean): CookieOptions {
    return { httpOnly: true, sameSite: 'strict', secure, path: '/' };
  }
}
