import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { wantsJson } from './error-routing.js';
import { PageException } from './page.exception.js';
import { correlationIdOf } from './request-meta.js';

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
    const reference = correlationIdOf(req);
    const status = exception instanceof HttpException ? exception.getStatus() : HttpStatus.INTERNAL_SERVER_ERROR;
    const { title, message, view, detail } = describe(exception, status);

    if (status >= 500 && !(exception instanceof PageException)) {
      this.logger.error(`${req.method} ${req.path} -> ${status} [${reference}]`, (exception as Error)?.stack);
    } else {
      this.logger.warn(`${req.method} ${req.path} -> ${status} [${reference}] ${detail ?? message}`);
    }
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
