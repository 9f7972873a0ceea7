import type { Request, Response } from 'express';
import hbs from 'hbs';
import { DEFAULT_LOCALE, type MessageParams, type PageLocale, translations } from './i18n.js';

/**
 * The locale of a popup page lives in `res.locals.i18n`: the views' `t` helper and the layout's
 * `lang` read it there, and the error filter translates its pages with it.
 */
export function setPageLocale(res: Response, locale: PageLocale): void {
  res.locals.i18n = locale;
}

/**
 * The locale a page is shown in: the one a handler set (a launch session's language), else the
 * request's own: a launch's language_code (unsigned, so only ever matched against the catalogs),
 * then the browser's Accept-Language. Auditor pages stay English.
 */
export function pageLocaleOf(req: Request, res: Response): PageLocale {
  const set = res.locals?.i18n as PageLocale | undefined;
  if (set) return set;
  if (req.path === '/audit' || req.path.startsWith('/audit/')) return DEFAULT_LOCALE;
  const code = req.query?.language_code;
  return translations().resolve(typeof code === 'string' ? code : undefined, req.headers['accept-language']);
}

/** `{{t "Page {page} of {pages}" page=page pages=pages}}`: escaped by {{ }} like any other value. */
export function registerViewHelpers(): void {
  hbs.registerHelper('t', function (key: unknown, options: { hash?: MessageParams; data?: { root?: { i18n?: PageLocale } } }) {
    if (typeof key !== 'string') return '';
    return translations().translate(options?.data?.root?.i18n ?? DEFAULT_LOCALE, key, options?.hash ?? {});
  });
}
