import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { wantsJson } from './error-routing.js';
import { PageException } from './page.exception.js';
import { RedirectException } from './redirect.exception.js';
import { correlationIdOf } from './request-meta.js';

/** The part of pino-http's per-request logger used here. */
type RequestLog = Record<'error' | 'warn' | 'info', (fields: object, message: string) => void>;

const GENERIC_TITLES: Record<number, string> = {
  400: 'The request could not be understood',
  401: 'You are not signed in for this',
  403: 'This is not allowed',
  404: 'Page not found',
  405: 'This action is not allowed here',
  409: 'This was already done',
  410: 'This window has expired',
  413: 'The request is too large',
  415: 'Unsupported request format',
  429: 'Too many requests',
  502: 'Concur is not answering',
};

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
    const { title, message, view, detail } = describe(exception, status);

    this.logFailure(exception, req, status, reference, detail ?? message);
    if (res.headersSent) return;

    res.status(status);
    res.setHeader('Cache-Control', 'no-store');
    if (wantsJson(req.path)) {
      res.json({ statusCode: status, error: title, message, correlationId: reference });
      return;
    }
    res.render('errors/error', { title, message, status, reference, ...view }, (err, html) => {
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
   * a missing route at info, other 4xx at warn. The path only, no query, no request body.
   */
  private logFailure(exception: unknown, req: Request, status: number, reference: string, detail: string): void {
    const line = `${req.method} ${req.path} -> ${status} [${reference}]`;
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
   * Through the request's own logger when pino-http attached one (its lines carry the correlation
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

function describe(exception: unknown, status: number) {
  if (exception instanceof PageException) return { ...exception.page };
  if (status === HttpStatus.NOT_FOUND) {
    // Nest's own message repeats the URL, query and all: a launch on a wrong path would show its signature.
    return {
      title: GENERIC_TITLES[404],
      message: 'This address does not lead anywhere. If Concur opened this window, close it and click the field again in Concur; if it keeps happening, give the reference below to your Concur administrator.',
      view: undefined,
      detail: 'no route',
    };
  }
  const title = GENERIC_TITLES[status] ?? (status >= 500 ? 'Something went wrong' : 'The request could not be handled');
  if (exception instanceof HttpException && status < 500) {
    const body = exception.getResponse();
    const raw = typeof body === 'string' ? body : (body as { message?: unknown }).message;
    const message = Array.isArray(raw) ? raw.join('; ') : typeof raw === 'string' ? raw : title;
    return { title, message, view: undefined, detail: undefined };
  }
  return {
    title,
    message: 'An unexpected error stopped this request. Try again; if it keeps happening, give the reference below to your IT support.',
    view: undefined,
    detail: undefined,
  };
}
