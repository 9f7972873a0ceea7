import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { wantsJson } from './error-routing.js';
import { msg } from '../i18n/i18n.js';
import { bounded, LOG_LIMITS } from '../logging/bounded-text.js';
import { pageLocaleOf } from '../i18n/page-locale.js';
import { PageException } from './page.exception.js';
import { RedirectException } from './redirect.exception.js';
import { correlationIdOf } from './request-meta.js';

/** The part of the per-request logger (requestLogging in logging.options.ts) used here. */
type RequestLog = Record<'error' | 'warn' | 'info', (fields: object, message: string) => void>;

const GENERIC_TITLES: Record<number, string> = {
  400: msg('The request could not be understood'),
  401: msg('You are not signed in for this'),
  403: msg('This is not allowed'),
  404: msg('Page not found'),
  405: msg('This action is not allowed here'),
  409: msg('This was already done'),
  410: msg('This window has expired'),
  413: msg('The request is too large'),
  415: msg('Unsupported request format'),
  429: msg('Too many requests'),
  502: msg('Concur is not answering'),
};

/** The JSON answer's message for a path with a broken %-escape; the page says it for the popup. */
const MALFORMED_PATH_MESSAGE = 'The request path has a malformed %-escape, so it could not be read.';

/** How much of an HttpException's own message a page or JSON answer shows. */
const MAX_SHOWN_MESSAGE = 1000;

/**
 * The one place errors become responses: HttpExceptions keep their status, anything else is a
 * 500 with a generic message. Popup routes get an HTML page, API routes JSON; both carry the
 * correlation ID, and the details only go to the log.
 */
@Catch()
export class GlobalExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    if (exception instanceof RedirectException) {
      if (res.headersSent) return;
      res.setHeader('Cache-Control', 'no-store');
      res.redirect(HttpStatus.SEE_OTHER, exception.location);
      return;
    }
    const reference = correlationIdOf(req);
    const status = exception instanceof HttpException ? exception.getStatus() : HttpStatus.INTERNAL_SERVER_ERROR;
    const malformedPath = isMalformedPath(exception);
    const page = malformedPath ? malformedPathPage() : asPage(exception, status);
    const english = page.textIn();

    this.logFailure(exception, req, status, reference, page.page.detail ?? english.message);
    if (res.headersSent) return;

    res.status(status);
    res.setHeader('Cache-Control', 'no-store');
    if (wantsJson(req.path)) {
      res.json({ statusCode: status, error: english.title, message: malformedPath ? MALFORMED_PATH_MESSAGE : english.message, correlationId: reference });
      return;
    }
    // The page in the launch's or the browser's language; a text without a catalog entry stays English.
    const locale = pageLocaleOf(req, res);
    const { title, message } = page.textIn(locale);
    res.render('errors/error', { title, message, status, reference, i18n: locale, ...page.page.view }, (err, html) => {
      if (err) {
        this.logger.error(`error page failed to render [${reference}]`, err.stack);
        res.type('text/plain').send(`${title}\n\n${message}\n\nReference: ${reference}\n`);
        return;
      }
      res.type('html').send(html);
    });
  }

  /**
   * 5xx at error level (an unexpected error with its stack: the log may have it, the client never);
   * a missing route at info, other 4xx at warn. The path only (cut to LOG_LIMITS.path: it is the
   * client's), no query, no request body.
   */
  private logFailure(exception: unknown, req: Request, status: number, reference: string, detail: string): void {
    const line = `${req.method} ${bounded(req.path, LOG_LIMITS.path)} -> ${status} [${reference}]`;
    detail = bounded(detail, LOG_LIMITS.text);
    if (!(exception instanceof HttpException)) {
      const what = exception instanceof Error ? exception.name : typeof exception;
      this.emit(req, 'error', `${line} unexpected ${what}`, exception instanceof Error ? exception : undefined);
    } else if (status >= 500) {
      this.emit(req, 'error', `${line} ${detail}`);
    } else if (status === HttpStatus.NOT_FOUND || status === HttpStatus.METHOD_NOT_ALLOWED) {
      this.emit(req, 'info', `${line} ${detail}`);
    } else {
      this.emit(req, 'warn', `${line} ${detail}`);
    }
  }

  /**
   * Through the request's own logger when the request logging attached one (its lines carry the correlation
   * ID, even for an error raised before Nest's pipeline, like a body parser's), else Nest's Logger.
   */
  private emit(req: Request, level: 'error' | 'warn' | 'info', text: string, error?: Error): void {
    const log = (req as Request & { log?: RequestLog }).log;
    if (log) {
      log[level]({ context: 'HttpError', ...(error ? { err: error } : {}) }, text);
    } else if (level === 'error') {
      if (error?.stack) this.logger.error(text, error.stack);
      else this.logger.error(text);
    } else if (level === 'warn') {
      this.logger.warn(text);
    } else {
      this.logger.log(text);
    }
  }
}

/**
 * Express's router could not decode a %-escape of the path (`/x%E0%A4%A`): its URIError, which
 * Nest's adapter wraps in a 400 BadRequestException whose message repeats the undecodable part.
 */
function isMalformedPath(exception: unknown): boolean {
  return exception instanceof HttpException && exception.getStatus() === HttpStatus.BAD_REQUEST && exception.cause instanceof URIError;
}

/** The 400 page of a malformed path: it never repeats the path, which can be 16 KB the client chose. */
function malformedPathPage(): PageException {
  return new PageException(HttpStatus.BAD_REQUEST, {
    title: GENERIC_TITLES[400],
    message: msg('The request that opened this window was incomplete or damaged. Close this window and click the field again in Concur.'),
    detail: 'malformed %-escape in the path',
  });
}

/** Every error as the page it shows: a PageException as it is, anything else with a generic title and message. */
function asPage(exception: unknown, status: number): PageException {
  if (exception instanceof PageException) return exception;
  if (status === HttpStatus.NOT_FOUND) {
    // Nest's own message repeats the URL, query and all: a launch on a wrong path would show its signature.
    return new PageException(status, {
      title: GENERIC_TITLES[404],
      message: msg(
        'This address does not lead anywhere. If Concur opened this window, close it and click the field again in Concur; if it keeps happening, give the reference below to your Concur administrator.',
      ),
      detail: 'no route',
    });
  }
  const title = GENERIC_TITLES[status] ?? (status >= 500 ? msg('Something went wrong') : msg('The request could not be handled'));
  if (exception instanceof HttpException && status < 500) {
    const body = exception.getResponse();
    const raw = typeof body === 'string' ? body : (body as { message?: unknown }).message;
    const message = Array.isArray(raw) ? raw.join('; ') : typeof raw === 'string' ? raw : title;
    return new PageException(status, { title, message: bounded(message, MAX_SHOWN_MESSAGE) });
  }
  return new PageException(status, {
    title,
    message: msg('An unexpected error stopped this request. Try again; if it keeps happening, give the reference below to your IT support.'),
  });
}
