import { beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, ForbiddenException, Get, HttpException, UnauthorizedException } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { PageException } from '../../common/page.exception.js';
import { RedirectException } from '../../common/redirect.exception.js';
import { AppConfig, AuditorAccount } from '../../config/index.js';
import { Metrics } from '../../metrics/metrics.service.js';
import { RateLimitKeys } from '../../throttle/rate-limit-keys.js';
import { MemoryRateLimitStorage } from '../../throttle/rate-limit.storage.js';
import { RateLimiter } from '../../throttle/rate-limiter.service.js';
import type { AuditService } from '../audit.service.js';
import { AUDIT_BASIC_CHALLENGE, Auditor, AuditorGuard, type AuditorIdentity, type AuditorRequest, isAuditApiPath, verifyCsrf } from './auditor.guard.js';
import { MemoryAuditorSessionStore } from './auditor-session.store.js';
import { AuditorSessions } from './auditor-sessions.service.js';
import { AuditorSignIn } from './auditor-sign-in.service.js';
import { hashPassword } from './password-hash.js';

const FAST = { N: 1024, r: 8, p: 1 };
let janeHash: string;
beforeAll(async () => {
  janeHash = await hashPassword('jane-password-1', FAST);
});

interface Options {
  trusted?: Partial<AppConfig['audit']['trustedHeader']>;
  maxFailures?: number;
}

function build({ trusted = {}, maxFailures = 5 }: Options = {}) {
  const config = new AppConfig();
  config.audit.auditors = [Object.assign(new AuditorAccount(), { username: 'jane', passwordHash: janeHash })];
  config.audit.signIn.maxFailures = maxFailures;
  Object.assign(config.audit.trustedHeader, trusted);
  const events: unknown[] = [];
  const audit = { record: async (input: unknown) => void events.push(input) } as unknown as AuditService;
  const sessions = new AuditorSessions(new MemoryAuditorSessionStore(), config);
  const signIn = new AuditorSignIn(config, new RateLimiter(new MemoryRateLimitStorage(), config), RateLimitKeys.random(), audit, new Metrics());
  return { guard: new AuditorGuard(config, sessions, signIn), sessions, events };
}

class FakeResponse {
  readonly headers: Record<string, string> = {};
  setHeader(name: string, value: string): void {
    this.headers[name.toLowerCase()] = value;
  }
}

interface Call {
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  cookies?: Record<string, string>;
  peer?: string;
}

async function run(guard: AuditorGuard, { path = '/api/audit/me', method = 'GET', headers = {}, cookies = {}, peer = '203.0.113.9' }: Call) {
  const req = { path, originalUrl: path, method, headers, cookies, socket: { remoteAddress: peer }, ip: peer } as unknown as AuditorRequest;
  const res = new FakeResponse();
  try {
    const ok = await guard.canActivate(new ExecutionContextHost([req, res]));
    return { ok, identity: req.auditor, res };
  } catch (error) {
    return { error: error as Error, identity: req.auditor, res };
  }
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe(AuditorGuard.name, () => {
  describe('without an identity', () => {
    it('redirects a page to the sign-in page, with the page to come back to', async () => {
      const { guard } = build();
      const { error, res } = await run(guard, { path: '/audit/events?field=custom9' });
      expect(error).toBeInstanceOf(RedirectException);
      expect((error as RedirectException).location).toBe('/audit/sign-in?next=%2Faudit%2Fevents%3Ffield%3Dcustom9');
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('redirects a posted page form to the plain sign-in page (a POST cannot be repeated)', async () => {
      const { guard } = build();
      const { error } = await run(guard, { path: '/audit/sign-out', method: 'POST' });
      expect((error as RedirectException).location).toBe('/audit/sign-in');
    });

    it('answers the API with 401 and a Basic challenge', async () => {
      const { guard } = build();
      const { error, res } = await run(guard, { path: '/api/audit/events' });
      expect(error).toBeInstanceOf(UnauthorizedException);
      expect(res.headers['www-authenticate']).toBe(AUDIT_BASIC_CHALLENGE);
    });

    it('ignores a malformed or foreign cookie and a malformed Authorization header', async () => {
      const { guard } = build();
      const cookies = { clc_audit: 'not-a-session', clc_launch: 'x'.repeat(43) };
      const variants: Array<Record<string, string>> = [{}, { authorization: 'Basic ***' }, { authorization: 'Bearer abc' }];
      for (const headers of variants) {
        expect((await run(guard, { cookies, headers })).error).toBeInstanceOf(UnauthorizedException);
      }
    });
  });

  describe('the session cookie', () => {
    it('lets the session through, on pages and the API, with its CSRF token', async () => {
      const { guard, sessions } = build();
      const { id, session } = await sessions.open('jane');
      for (const path of ['/audit/events', '/api/audit/me']) {
        const { ok, identity } = await run(guard, { path, cookies: { clc_audit: id } });
        expect(ok).toBe(true);
        expect(identity).toEqual({ username: 'jane', via: 'session', groups: [], csrfToken: session.csrfToken });
      }
    });

    it('refuses a closed session, and one of an account no longer configured', async () => {
      const { guard, sessions } = build();
      const closed = await sessions.open('jane');
      await sessions.close(closed.id);
      expect((await run(guard, { cookies: { clc_audit: closed.id } })).error).toBeInstanceOf(UnauthorizedException);
      const removed = await sessions.open('former.auditor');
      expect((await run(guard, { cookies: { clc_audit: removed.id } })).error).toBeInstanceOf(UnauthorizedException);
    });

    it('only under its own cookie name: a launch cookie with the same value is nothing', async () => {
      const { guard, sessions } = build();
      const { id } = await sessions.open('jane');
      expect((await run(guard, { cookies: { clc_launch: id } })).error).toBeInstanceOf(UnauthorizedException);
    });
  });

  describe('HTTP Basic', () => {
    it('signs an API request in with an auditor account, without a CSRF token', async () => {
      const { guard } = build();
      const { identity } = await run(guard, { headers: { authorization: basic('JANE', 'jane-password-1') } });
      expect(identity).toEqual({ username: 'jane', via: 'basic', groups: [], csrfToken: null });
    });

    it('is not accepted on pages', async () => {
      const { guard } = build();
      const { error } = await run(guard, { path: '/audit/events', headers: { authorization: basic('jane', 'jane-password-1') } });
      expect(error).toBeInstanceOf(RedirectException);
    });

    it('answers wrong credentials with 401 and the challenge, and records the failure', async () => {
      const { guard, events } = build();
      const { error, res } = await run(guard, { headers: { authorization: basic('jane', 'nope') } });
      expect(error).toBeInstanceOf(UnauthorizedException);
      expect((error as UnauthorizedException).message).toBe('User name or password is wrong');
      expect(res.headers['www-authenticate']).toBe(AUDIT_BASIC_CHALLENGE);
      expect(events).toEqual([expect.objectContaining({ type: 'audit.sign_in', outcome: 'failure', actingUser: 'jane', clientIp: '203.0.113.9' })]);
    });

    it('is locked like the sign-in form: 429 with Retry-After, even for the right password', async () => {
      const { guard } = build({ maxFailures: 2 });
      await run(guard, { headers: { authorization: basic('jane', 'a') } });
      await run(guard, { headers: { authorization: basic('jane', 'b') } });
      const { error, res } = await run(guard, { headers: { authorization: basic('jane', 'jane-password-1') } });
      expect(error).toBeInstanceOf(HttpException);
      expect((error as HttpException).getStatus()).toBe(429);
      expect(res.headers['retry-after']).toBe('900');
    });

    it('refuses a change sent cross-site (the browser may add cached Basic credentials to it)', async () => {
      const { guard } = build();
      const authorization = basic('jane', 'jane-password-1');
      const crossSite: Array<Record<string, string>> = [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'null' }];
      for (const headers of crossSite) {
        const { error } = await run(guard, { method: 'POST', headers: { authorization, ...headers } });
        expect(error).toBeInstanceOf(ForbiddenException);
      }
      expect((await run(guard, { method: 'POST', headers: { authorization, 'sec-fetch-site': 'same-origin' } })).ok).toBe(true);
      expect((await run(guard, { method: 'POST', headers: { authorization } })).ok).toBe(true);
      expect((await run(guard, { method: 'GET', headers: { authorization, 'sec-fetch-site': 'cross-site' } })).ok).toBe(true);
    });
  });

  describe('trusted headers', () => {
    const trusted = { enabled: true, proxies: ['10.0.0.0/8', '::1'] };
    const fromProxy = { 'x-forwarded-user': 'sam@example.com', 'x-forwarded-groups': 'staff, auditors ,finance' };

    it('takes the user and groups from a proxy in the list, also an IPv4-mapped peer', async () => {
      const { guard } = build({ trusted });
      for (const peer of ['10.1.2.3', '::ffff:10.1.2.3', '::1']) {
        const { identity } = await run(guard, { peer, headers: fromProxy });
        expect(identity).toEqual({ username: 'sam@example.com', via: 'header', groups: ['staff', 'auditors', 'finance'], csrfToken: null });
      }
    });

    it('ignores the headers from any other peer, whatever X-Forwarded-For says', async () => {
      const { guard } = build({ trusted });
      const { error } = await run(guard, { peer: '203.0.113.9', headers: { ...fromProxy, 'x-forwarded-for': '10.1.2.3' } });
      expect(error).toBeInstanceOf(UnauthorizedException);
    });

    it('ignores them when trusted-header sign-in is off', async () => {
      const { guard } = build({ trusted: { ...trusted, enabled: false } });
      expect((await run(guard, { peer: '10.1.2.3', headers: fromProxy })).error).toBeInstanceOf(UnauthorizedException);
    });

    it('uses the configured header names', async () => {
      const { guard } = build({ trusted: { ...trusted, userHeader: 'Remote-User', groupsHeader: 'Remote-Groups' } });
      expect((await run(guard, { peer: '10.1.2.3', headers: fromProxy })).error).toBeInstanceOf(UnauthorizedException);
      const { identity } = await run(guard, { peer: '10.1.2.3', headers: { 'remote-user': 'kim', 'remote-groups': 'a' } });
      expect(identity).toMatchObject({ username: 'kim', groups: ['a'] });
    });

    it('with auditorGroups, lets in members of one of them and refuses others with 403', async () => {
      const { guard } = build({ trusted: { ...trusted, auditorGroups: ['auditors', 'internal-audit'] } });
      expect((await run(guard, { peer: '10.1.2.3', headers: fromProxy })).ok).toBe(true);
      const { error } = await run(guard, { peer: '10.1.2.3', headers: { 'x-forwarded-user': 'eve', 'x-forwarded-groups': 'staff,Auditors' } });
      expect(error).toBeInstanceOf(ForbiddenException);
      expect(error!.message).toMatch(/not an auditor/);
      const none = await run(guard, { peer: '10.1.2.3', headers: { 'x-forwarded-user': 'eve' } });
      expect(none.error).toBeInstanceOf(ForbiddenException);
    });

    it('refuses a user header the connector cannot use', async () => {
      const { guard } = build({ trusted });
      const { error } = await run(guard, { peer: '10.1.2.3', headers: { 'x-forwarded-user': 'a, b' } });
      expect(error).toBeInstanceOf(ForbiddenException);
    });

    it('falls back to the session when the proxy sends no user', async () => {
      const { guard, sessions } = build({ trusted });
      const { id } = await sessions.open('jane');
      const { identity } = await run(guard, { peer: '10.1.2.3', cookies: { clc_audit: id } });
      expect(identity).toMatchObject({ username: 'jane', via: 'session' });
    });
  });
});

describe('isAuditApiPath', () => {
  it.each([
    ['/api/audit', true],
    ['/api/audit/me', true],
    ['/API/Audit/me', true],
    ['/api/auditx', false],
    ['/audit/api/audit', false],
    ['/audit', false],
  ])('%s: %s', (path, expected) => {
    expect(isAuditApiPath(path)).toBe(expected);
  });
});

describe('verifyCsrf', () => {
  const session: AuditorIdentity = { username: 'jane', via: 'session', groups: [], csrfToken: 'token-1' };

  it('passes the session token and refuses anything else with a 403 page', () => {
    expect(() => verifyCsrf(session, 'token-1')).not.toThrow();
    for (const token of ['token-2', undefined, '', ['token-1']]) {
      const error = (() => {
        try {
          verifyCsrf(session, token);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(PageException);
      expect((error as PageException).getStatus()).toBe(403);
    }
  });

  it('does not apply to identities that no cookie carries', () => {
    expect(() => verifyCsrf({ username: 'k', via: 'basic', groups: [], csrfToken: null }, undefined)).not.toThrow();
    expect(() => verifyCsrf({ username: 'k', via: 'header', groups: [], csrfToken: null }, 'anything')).not.toThrow();
  });
});

describe('@Auditor()', () => {
  @Controller()
  class Probe {
    @Get()
    me(@Auditor() auditor: AuditorIdentity) {
      return auditor;
    }
  }
  const factory = () => {
    const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, Probe, 'me') as Record<string, { factory: Function }>;
    return Object.values(args)[0].factory as (data: unknown, ctx: ExecutionContextHost) => unknown;
  };

  it('gives the identity the guard set', () => {
    const auditor: AuditorIdentity = { username: 'jane', via: 'session', groups: [], csrfToken: 't' };
    expect(factory()(undefined, new ExecutionContextHost([{ auditor }]))).toBe(auditor);
  });

  it('fails loudly on a route without the guard', () => {
    expect(() => factory()(undefined, new ExecutionContextHost([{}]))).toThrow(/AuditorGuard/);
  });
});
