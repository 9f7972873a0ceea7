import {
  type CanActivate,
  createParamDecorator,
  type ExecutionContext,
  ForbiddenException,
  HttpException,
  HttpStatus,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { parseBasicAuth } from '../../common/basic-auth-header.js';
import { PageException } from '../../common/page.exception.js';
import { RedirectException } from '../../common/redirect.exception.js';
import { requestMeta } from '../../common/request-meta.js';
import { AppConfig } from '../../config/index.js';
import { AddressMatcher } from './address-range.js';
import { AuditorSessions } from './auditor-sessions.service.js';
import { AuditorSignIn, DEMO_NOT_LOCAL, lockedMessage, WRONG_CREDENTIALS } from './auditor-sign-in.service.js';
import { csrfMatches, signInUrl } from './sign-in.form.js';

/** Who is reading the audit log, and how the connector knows. */
export interface AuditorIdentity {
  username: string;
  via: 'session' | 'basic' | 'header';
  /** From the trusted proxy's groups header; empty for the other sources. */
  groups: string[];
  /** The session's token for forms that change something; null where no cookie signs the request in. */
  csrfToken: string | null;
}

export type AuditorRequest = Request & { auditor?: AuditorIdentity };

export const AUDIT_BASIC_CHALLENGE = 'Basic realm="concur-launch-connector audit"';

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const PROXY_USER = /^[^\u0000-\u001f\u007f,]{1,256}$/;
const MAX_GROUPS = 200;

/** The JSON side of the audit access: Basic is accepted here, and a missing sign-in is a 401. */
export function isAuditApiPath(path: string): boolean {
  const lower = path.toLowerCase();
  return lower === '/api/audit' || lower.startsWith('/api/audit/');
}

/**
 * Lets auditors, and only them, through to the audit pages (`/audit/...`) and API
 * (`/api/audit/...`). The sources, first match wins:
 * 1. trusted-header sign-in (`audit.trustedHeader`), only for a request whose TCP peer is one of
 *    its `proxies` (the socket address: X-Forwarded-For can be written by anyone); with
 *    `auditorGroups`, the user must be in one of them or gets 403;
 * 2. the auditor session cookie (`audit.cookieName`), of an account still configured;
 * 3. on the API only, HTTP Basic with an auditor account (the sign-in lockout applies).
 * Without one, pages redirect to the sign-in page and the API answers 401 with a Basic challenge.
 * A launch session never counts: its cookie is another name, path and store.
 *
 * Responses of guarded routes are never cached (`Cache-Control: no-store`): they hold audit data.
 */
@Injectable()
export class AuditorGuard implements CanActivate {
  private readonly proxies: AddressMatcher;

  constructor(
    private readonly config: AppConfig,
    private readonly sessions: AuditorSessions,
    private readonly signIn: AuditorSignIn,
  ) {
    const trusted = config.audit.trustedHeader;
    this.proxies = new AddressMatcher(trusted.enabled ? trusted.proxies : []);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const req = http.getRequest<AuditorRequest>();
    const res = http.getResponse<Response>();
    res.setHeader('Cache-Control', 'no-store');
    const api = isAuditApiPath(req.path);
    const identity = this.fromProxy(req) ?? (await this.fromSession(req)) ?? (api ? await this.fromBasic(req, res) : undefined);
    if (!identity) {
      // Only a GET can be repeated after signing in; a form posted without a session starts over.
      if (!api) throw new RedirectException(signInUrl(req.method === 'GET' || req.method === 'HEAD' ? req.originalUrl : '/audit'));
      res.setHeader('WWW-Authenticate', AUDIT_BASIC_CHALLENGE);
      throw new UnauthorizedException('Sign in as an auditor: HTTP Basic with an auditor account, or the session of /audit/sign-in');
    }
    if (identity.csrfToken === null && UNSAFE_METHODS.has(req.method) && sentCrossSite(req)) {
      throw new ForbiddenException('A change to the audit access cannot be sent from another site');
    }
    req.auditor = identity;
    return true;
  }

  private fromProxy(req: Request): AuditorIdentity | undefined {
    const trusted = this.config.audit.trustedHeader;
    if (!trusted.enabled || !this.proxies.matches(req.socket?.remoteAddress)) return undefined;
    const user = headerOf(req, trusted.userHeader)?.trim();
    if (user === undefined || user === '') return undefined;
    if (!PROXY_USER.test(user)) throw new ForbiddenException('The sign-in proxy sent a user name the connector cannot use');
    const groups = (headerOf(req, trusted.groupsHeader) ?? '')
      .split(',')
      .map((group) => group.trim())
      .filter(Boolean)
      .slice(0, MAX_GROUPS);
    if (trusted.auditorGroups.length > 0 && !groups.some((group) => trusted.auditorGroups.includes(group))) {
      throw new ForbiddenException(`${user} is signed in, but not an auditor: membership of an auditor group is needed`);
    }
    return { username: user, via: 'header', groups, csrfToken: null };
  }

  private async fromSession(req: Request): Promise<AuditorIdentity | undefined> {
    const found = await this.sessions.find(req.cookies?.[this.sessions.cookieName]);
    // An account removed from the configuration loses its open sessions at the next restart.
    const username = found && this.signIn.auditorNamed(found.session.username);
    if (!found || !username) return undefined;
    return { username, via: 'session', groups: [], csrfToken: found.session.csrfToken };
  }

  private async fromBasic(req: Request, res: Response): Promise<AuditorIdentity | undefined> {
    const credentials = parseBasicAuth(req.headers.authorization);
    if (!credentials) return undefined;
    const verdict = await this.signIn.attempt(credentials.username, credentials.password, 'basic', requestMeta(req));
    if (verdict.outcome === 'locked') {
      res.setHeader('Retry-After', String(verdict.retryAfterSeconds));
      throw new HttpException(`${lockedMessage(verdict.scope)}; try again in ${verdict.retryAfterSeconds} seconds.`, HttpStatus.TOO_MANY_REQUESTS);
    }
    if (verdict.outcome === 'wrong') {
      res.setHeader('WWW-Authenticate', AUDIT_BASIC_CHALLENGE);
      throw new UnauthorizedException(WRONG_CREDENTIALS);
    }
    if (verdict.outcome === 'demo_not_local') throw new ForbiddenException(DEMO_NOT_LOCAL);
    return { username: verdict.username, via: 'basic', groups: [], csrfToken: null };
  }
}

/** A header's value; a repeated one as Node joins it. */
function headerOf(req: Request, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Browsers say where a request was started from (Sec-Fetch-Site, and Origin on a POST). Basic
 * and proxy sign-ins ride along on any request the browser sends, so a change must not come
 * from another site; API clients send neither header and are not affected.
 */
function sentCrossSite(req: Request): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return true;
  return req.headers.origin === 'null';
}

/** Parameter decorator: the auditor AuditorGuard let through. */
export const Auditor = createParamDecorator((_: unknown, ctx: ExecutionContext): AuditorIdentity => {
  const auditor = ctx.switchToHttp().getRequest<AuditorRequest>().auditor;
  if (!auditor) throw new Error('@Auditor() used on a route without AuditorGuard');
  return auditor;
});

/**
 * For routes that change something: the form's `csrf` field must be the session's token. Only a
 * session is signed in by a cookie the browser adds to a forged cross-site form; Basic and
 * trusted-header identities have no token, and the guard refuses their unsafe requests when the
 * browser marks them cross-site, which is the protection that applies to them.
 */
export function verifyCsrf(identity: AuditorIdentity, token: unknown): void {
  if (identity.csrfToken === null) return;
  if (!csrfMatches(identity.csrfToken, token)) {
    throw new PageException(403, {
      title: 'This form has expired',
      message: 'Reload the page and try again.',
      detail: 'auditor csrf token missing or wrong',
    });
  }
}
