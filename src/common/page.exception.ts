import { HttpException } from '@nestjs/common';

/**
 * An error the popup shows as an HTML page. `title` and `message` are for the person at the
 * screen and say what they can do; `detail` is for the log only and never rendered.
 */
export interface PageErrorOptions {
  title: string;
  message: string;
  /** Extra template data: e.g. { retryUrl, retryMethod: 'POST', retryFields } for the Retry button. */
  view?: Record<string, unknown>;
  detail?: string;
}

export class PageException extends HttpException {
  constructor(status: number, readonly page: PageErrorOptions) {
    super(page.title, status);
  }
}

export const CLOSE_AND_RELAUNCH = 'Close this window and click the field again in Concur.';

export function badLaunchPage(detail: string): PageException {
  return new PageException(400, {
    title: 'This link is not valid',
    message: `The request that opened this window was incomplete or damaged. ${CLOSE_AND_RELAUNCH}`,
    detail,
  });
}

export function rejectedLaunchPage(detail: string): PageException {
  return new PageException(401, {
    title: 'This link cannot be used',
    message: `We could not confirm that this window was opened by Concur, or the link was already used. ${CLOSE_AND_RELAUNCH}`,
    detail,
  });
}

/** 429 on a launch; the caller sets Retry-After. */
export function tooManyLaunchesPage(retryAfterSeconds: number, detail: string): PageException {
  const wait = `${retryAfterSeconds} second${retryAfterSeconds === 1 ? '' : 's'}`;
  return new PageException(429, {
    title: 'Too many attempts',
    message: `Too many attempts from your network; wait ${wait} and open the window again: close this window, then click the field again in Concur.`,
    detail,
  });
}
