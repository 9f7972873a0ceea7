import { HttpException } from '@nestjs/common';
import { DEFAULT_LOCALE, type MessageParams, msg, type PageLocale, translations } from '../i18n/i18n.js';

/**
 * An error the popup shows as an HTML page. `title` and `message` are for the person at the
 * screen and say what they can do: English message keys (`msg`), translated for the page with
 * `params` filled into their {placeholders}. `detail` is for the log only and never rendered.
 */
export interface PageErrorOptions {
  title: string;
  message: string;
  params?: MessageParams;
  /** Extra template data: e.g. { retryUrl, retryMethod: 'POST', retryFields } for the Retry button. */
  view?: Record<string, unknown>;
  detail?: string;
}

export class PageException extends HttpException {
  constructor(status: number, readonly page: PageErrorOptions) {
    super(page.title, status);
  }

  /** The title and message as shown in a locale (English by default), placeholders filled. */
  textIn(locale: PageLocale = DEFAULT_LOCALE): { title: string; message: string } {
    const t = (key: string) => translations().translate(locale, key, this.page.params);
    return { title: t(this.page.title), message: t(this.page.message) };
  }
}

export const CLOSE_AND_RELAUNCH = msg('Close this window and click the field again in Concur.');

export function badLaunchPage(detail: string): PageException {
  return new PageException(400, {
    title: msg('This link is not valid'),
    message: msg('The request that opened this window was incomplete or damaged. Close this window and click the field again in Concur.'),
    detail,
  });
}

export function rejectedLaunchPage(detail: string): PageException {
  return new PageException(401, {
    title: msg('This link cannot be used'),
    message: msg(
      'We could not confirm that this window was opened by Concur, or the link was already used. Close this window and click the field again in Concur.',
    ),
    detail,
  });
}

/** 429 on a launch; the caller sets Retry-After. */
export function tooManyLaunchesPage(retryAfterSeconds: number, detail: string): PageException {
  return new PageException(429, {
    title: msg('Too many attempts'),
    message: msg('Too many attempts from your network; wait {wait} and open the window again: close this window, then click the field again in Concur.'),
    params: { wait: { seconds: retryAfterSeconds } },
    detail,
  });
}
