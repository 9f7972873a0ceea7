import { Body, Controller, Get, HttpStatus, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { PageException } from '../../common/page.exception.js';
import { Meta, type RequestMeta } from '../../common/request-meta.js';
import { AppConfig } from '../../config/index.js';
import { Auditor, AuditorGuard, type AuditorIdentity, verifyCsrf } from './auditor.guard.js';
import { AuditorSessions } from './auditor-sessions.service.js';
import { AuditorSignIn, DEMO_NOT_LOCAL, lockedMessage, WRONG_CREDENTIALS } from './auditor-sign-in.service.js';
import { csrfMatches, isCsrfToken, newCsrfToken, parseSignInForm, safeNext, SIGN_IN_PATH } from './sign-in.form.js';

/** The login CSRF cookie lives this long: long enough to type a password, short enough to be useless later. */
const LOGIN_CSRF_SECONDS = 30 * 60;

interface SignInView {
  status: number;
  message?: string;
  username?: string;
  next: string;
}

/**
 * The auditor's sign-in page and sign-out. The sign-in form carries a CSRF token that must equal
 * the one in a short-lived cookie of its own (login CSRF: another site must not sign a browser in
 * under the attacker's account); sign-out takes the session's token.
 */
@ApiExcludeController()
@Controller('audit')
export class SignInController {
  constructor(
    private readonly signIn: AuditorSignIn,
    private readonly sessions: AuditorSessions,
    private readonly config: AppConfig,
  ) {}

  @Get('sign-in')
  show(@Query('next') next: unknown, @Req() req: Request, @Res() res: Response): void {
    this.render(req, res, { status: HttpStatus.OK, next: safeNext(next) });
  }

  @Post('sign-in')
  async submit(@Body() body: unknown, @Req() req: Request, @Res() res: Response, @Meta() meta: RequestMeta): Promise<void> {
    const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    if (!csrfMatches(this.loginCsrfOf(req), fields.csrf)) {
      const message = 'The sign-in form had expired or did not come from this page. Try again.';
      return this.render(req, res, { status: HttpStatus.FORBIDDEN, message, next: safeNext(fields.next) }, true);
    }
    const form = parseSignInForm(fields);
    if ('problem' in form) return this.render(req, res, { status: HttpStatus.BAD_REQUEST, message: form.problem, next: safeNext(fields.next) });

    const verdict = await this.signIn.attempt(form.username, form.password, 'form', meta);
    if (verdict.outcome === 'locked') {
      res.setHeader('Retry-After', String(verdict.retryAfterSeconds));
      const retryAt = new Date(Date.now() + verdict.retryAfterSeconds * 1000);
      const when = `try again after ${timeOf(retryAt)} (in ${durationOf(verdict.retryAfterSeconds)})`;
      const message = verdict.scope === 'user' ? `${lockedMessage('user')}. It is locked: ${when}.` : `${lockedMessage(verdict.scope)}: ${when}.`;
      return this.render(req, res, { status: HttpStatus.TOO_MANY_REQUESTS, message, username: form.username, next: form.next });
    }
    if (verdict.outcome === 'wrong') {
      return this.render(req, res, { status: HttpStatus.UNAUTHORIZED, message: WRONG_CREDENTIALS, username: form.username, next: form.next });
    }
    if (verdict.outcome === 'demo_not_local') {
      return this.render(req, res, { status: HttpStatus.FORBIDDEN, message: DEMO_NOT_LOCAL, username: form.username, next: form.next });
    }
    const { id } = await this.sessions.open(verdict.username);
    res.cookie(this.sessions.cookieName, id, this.sessions.cookieOptions(req.secure));
    res.clearCookie(this.loginCsrfCookie, { path: SIGN_IN_PATH });
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(HttpStatus.SEE_OTHER, form.next);
  }

  @Post('sign-out')
  @UseGuards(AuditorGuard)
  async signOut(
    @Auditor() auditor: AuditorIdentity,
    @Body() body: unknown,
    @Req() req: Request,
    @Res() res: Response,
    @Meta() meta: RequestMeta,
  ): Promise<void> {
    verifyCsrf(auditor, (body as Record<string, unknown> | undefined)?.csrf);
    if (auditor.via !== 'session') {
      throw new PageException(HttpStatus.BAD_REQUEST, {
        title: 'Sign out at your sign-in service',
        message: 'You are signed in through your organisation’s sign-in service, not with a password here: sign out there.',
        detail: `sign-out of a ${auditor.via} identity`,
      });
    }
    await this.sessions.close(req.cookies?.[this.sessions.cookieName]);
    res.clearCookie(this.sessions.cookieName, this.sessions.clearCookieOptions(req.secure));
    await this.signIn.recordSignOut(auditor.username, meta);
    res.redirect(HttpStatus.SEE_OTHER, SIGN_IN_PATH);
  }

  private get loginCsrfCookie(): string {
    return `${this.config.audit.cookieName}_signin`;
  }

  private loginCsrfOf(req: Request): string | undefined {
    const value: unknown = req.cookies?.[this.loginCsrfCookie];
    return isCsrfToken(value) ? value : undefined;
  }

  /** The page with a login CSRF token: the cookie's when it has a usable one (two open tabs both work), else a new one. */
  private render(req: Request, res: Response, view: SignInView, renew = false): void {
    const current = this.loginCsrfOf(req);
    const csrf = !renew && current ? current : newCsrfToken();
    res.cookie(this.loginCsrfCookie, csrf, {
      httpOnly: true,
      sameSite: 'strict',
      secure: req.secure,
      path: SIGN_IN_PATH,
      maxAge: LOGIN_CSRF_SECONDS * 1000,
    });
    res.setHeader('Cache-Control', 'no-store');
    res.status(view.status).render('audit/sign-in', { pageTitle: 'Auditor sign-in', csrf, error: view.status !== HttpStatus.OK, ...view });
  }
}

function timeOf(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function durationOf(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}
