import { Body, Controller, Get, Header, HttpCode, Param, Post, Query, Render, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { LaunchSessionService } from '../auth/launch-session.service.js';
import type { LaunchSession } from '../auth/launch.types.js';
import { Meta, type RequestMeta } from '../common/request-meta.js';
import { msg, type PageLocale, translations } from '../i18n/i18n.js';
import { setPageLocale } from '../i18n/page-locale.js';
import { FieldUpdateService } from './field-update.service.js';
import { SessionPageService, type SessionPageQuery } from './session-page.service.js';

/** The popup after the launch: the session page, the selection, and the done page. */
@Controller('/launch/s/:id')
export class SessionController {
  constructor(
    private readonly sessions: LaunchSessionService,
    private readonly pages: SessionPageService,
    private readonly updates: FieldUpdateService,
  ) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  async show(
    @Param('id') id: string,
    @Query() query: SessionPageQuery,
    @Req() req: Request,
    @Res() res: Response,
    @Meta() meta: RequestMeta,
  ): Promise<void> {
    const session = await this.sessions.load(id, this.cookieOf(req));
    const locale = this.localeFor(session, req, res);
    const done = () => session.done;
    if (!done()) {
      const model = await this.pages.build(session, query, meta.correlationId, locale, meta);
      // build() may learn that a Save finished meanwhile.
      if (!done()) return res.render('launch/session', model);
    }
    res.render('launch/done', doneModel(session, done()!.value, null));
  }

  @Post('/select')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @Render('launch/done')
  async select(
    @Param('id') id: string,
    @Body() body: Record<string, unknown>,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Meta() meta: RequestMeta,
  ) {
    const session = await this.sessions.load(id, this.cookieOf(req));
    this.localeFor(session, req, res);
    this.sessions.verifyCsrf(session, body?.csrf);
    const result = await this.updates.apply(session, body?.code, meta);
    return doneModel(session, result.value, result.label);
  }

  /**
   * The window's language: v4's language_code, else (v1) the browser's Accept-Language. Set
   * for the page and for any error page from here on.
   */
  private localeFor(session: LaunchSession, req: Request, res: Response): PageLocale {
    const locale = translations().resolve(session.languageCode, req.headers['accept-language']);
    setPageLocale(res, locale);
    return locale;
  }

  private cookieOf(req: Request): string | undefined {
    const value: unknown = req.cookies?.[this.sessions.cookieName()];
    return typeof value === 'string' ? value : undefined;
  }
}

function doneModel(session: LaunchSession, value: string, label: string | null) {
  return { pageTitle: msg('Saved'), value, label, isMobile: session.isMobile, script: 'close-window.js' };
}
