import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { CookieOptions } from 'express';
import { CLOSE_AND_RELAUNCH, PageException } from '../common/page.exception.js';
import { constantTimeEqual, sha256Hex } from '../common/secret-compare.js';
import { AppConfig } from '../config/index.js';
import type { LaunchSession } from './launch.types.js';
import { type LaunchDone, SessionStore, type UpdateState } from './session.store.js';
import { msg } from '../i18n/i18n.js';

export type NewLaunchSession = Omit<LaunchSession, 'id' | 'cookieHash' | 'csrfToken' | 'createdAt' | 'expiresAt'>;

const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

/** The popup's server-side state, bound to the browser that launched it by a cookie secret. */
@Injectable()
export class LaunchSessionService {
  constructor(
    private readonly store: SessionStore,
    private readonly config: AppConfig,
  ) {}

  async create(data: NewLaunchSession): Promise<{ session: LaunchSession; cookieSecret: string }> {
    // One call to the CSPRNG for the three secrets (each synchronous call has a fixed cost).
    const random = randomBytes(80);
    const cookieSecret = random.subarray(0, 32).toString('base64url');
    const createdAt = Date.now();
    const session: LaunchSession = {
      ...data,
      id: random.subarray(32, 48).toString('base64url'),
      cookieHash: sha256Hex(cookieSecret),
      csrfToken: random.subarray(48, 80).toString('base64url'),
      createdAt,
      expiresAt: createdAt + this.config.session.ttlSeconds * 1000,
    };
    await this.store.set(session);
    return { session, cookieSecret };
  }

  async load(id: string, cookieSecret: string | undefined): Promise<LaunchSession> {
    if (!SESSION_ID.test(id)) {
      throw new PageException(404, {
        title: msg('Page not found'),
        message: msg('This address does not lead to a window of the connector. Close this window and click the field again in Concur.'),
        detail: 'malformed session id',
      });
    }
    const session = await this.store.get(id);
    if (!session || session.expiresAt <= Date.now()) {
      throw new PageException(410, {
        title: msg('This window has expired'),
        message: msg('For your security this window stops working after a while. Close this window and click the field again in Concur.'),
        detail: session ? 'launch session expired' : 'launch session unknown or expired',
      });
    }
    const presented = typeof cookieSecret === 'string' ? sha256Hex(cookieSecret) : '';
    if (!constantTimeEqual(presented, session.cookieHash)) {
      throw new PageException(403, {
        title: msg('This window belongs to another browser session'),
        message: CLOSE_AND_RELAUNCH,
        detail: 'launch cookie missing or wrong',
      });
    }
    return session;
  }

  async save(session: LaunchSession): Promise<void> {
    await this.store.set(session);
  }

  /** The stored state of a session already loaded (another request may have changed it since). */
  async current(session: LaunchSession): Promise<LaunchSession | undefined> {
    return this.store.get(session.id);
  }

  /** The session's one field update, claimed atomically across replicas: a token, or undefined when taken or done. */
  async claimUpdate(session: LaunchSession): Promise<string | undefined> {
    return this.store.claimUpdate(session.id, session.expiresAt);
  }

  /** Marks the claimed update done; a page-view save cannot erase it. */
  async completeUpdate(session: LaunchSession, token: string, done: LaunchDone): Promise<boolean> {
    return this.store.completeUpdate(session.id, token, done);
  }

  /** Frees a claimed update that did not write, so Retry can claim it again. */
  async releaseUpdate(session: LaunchSession, token: string): Promise<boolean> {
    return this.store.releaseUpdate(session.id, token);
  }

  async updateState(session: LaunchSession): Promise<UpdateState> {
    return this.store.updateState(session.id);
  }

  verifyCsrf(session: LaunchSession, token: unknown): void {
    // Hashing both sides gives equal lengths, so the compare time says nothing about the token.
    const matches =
      typeof token === 'string' &&
      timingSafeEqual(createHash('sha256').update(token).digest(), createHash('sha256').update(session.csrfToken).digest());
    if (!matches) {
      throw new PageException(403, {
        title: msg('This form has expired'),
        message: msg('Reload this window and try again.'),
        detail: 'csrf token mismatch',
      });
    }
  }

  cookieName(): string {
    return this.config.session.cookieName;
  }

  cookieOptions(session: LaunchSession, secure: boolean): CookieOptions {
    return {
      httpOnly: true,
      sameSite: 'lax',
      secure,
      path: `/launch/s/${session.id}`,
      maxAge: this.config.session.ttlSeconds * 1000,
    };
  }
}

