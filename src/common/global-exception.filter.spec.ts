import { jest } from '@jest/globals';
import { BadRequestException, HttpException, Logger, NotFoundException } from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';
import type { Request, Response } from 'express';
import { GlobalExceptionFilter } from './global-exception.filter.js';
import { PageException } from './page.exception.js';
import { RedirectException } from './redirect.exception.js';

type Level = 'error' | 'warn' | 'info';

function hostFor(req: Request, res: Response): ArgumentsHost {
  const http = { getRequest: () => req, getResponse: () => res, getNext: () => undefined };
  return { switchToHttp: () => http } as unknown as ArgumentsHost;
}

function exchange(path: string, withRequestLog: boolean) {
  const logged: Array<{ level: Level; fields: Record<string, unknown>; text: string }> = [];
  const log = Object.fromEntries(
    (['error', 'warn', 'info'] as const).map((level) => [level, (fields: Record<string, unknown>, text: string) => void logged.push({ level, fields, text })]),
  );
  const req = {
    method: 'POST',
    path,
    originalUrl: `${path}?signature=abc`,
    body: { csrf: 'csrf-secret', code: 'PRJ-1' },
    correlationId: 'corr-9',
    ...(withRequestLog ? { log } : {}),
  } as unknown as Request;
  const sent: { status?: number; body?: unknown } = {};
  const res = {
    headersSent: false,
    status(code: number) {
      sent.status = code;
      return this;
    },
    setHeader: () => undefined,
    json(body: unknown) {
      sent.body = body;
    },
  } as unknown as Response;
  return { req, res, logged, sent };
}

describe(GlobalExceptionFilter.name, () => {
  afterEach(() => jest.restoreAllMocks());

  it('logs an unexpected error at error level with its stack, and answers without it', () => {
    const { req, res, logged, sent } = exchange('/api/x', true);
    const boom = new TypeError('cannot read x of undefined');
    new GlobalExceptionFilter().catch(boom, hostFor(req, res));
    expect(logged).toEqual([{ level: 'error', fields: { context: 'HttpError', err: boom }, text: 'POST /api/x -> 500 [corr-9] unexpected TypeError' }]);
    expect(sent.status).toBe(500);
    expect(JSON.stringify(sent.body)).not.toContain('cannot read');
    expect(sent.body).toMatchObject({ statusCode: 500, correlationId: 'corr-9' });
  });

  it('logs a handled 5xx at error level with its detail, without a stack', () => {
    const { req, res, logged } = exchange('/api/x', true);
    const page = new PageException(502, { title: 'Concur is not answering', message: 'Retry', detail: 'unavailable (HTTP 503)' });
    new GlobalExceptionFilter().catch(page, hostFor(req, res));
    expect(logged).toEqual([{ level: 'error', fields: { context: 'HttpError' }, text: 'POST /api/x -> 502 [corr-9] unavailable (HTTP 503)' }]);
  });

  it('logs a 4xx at warn and a missing route at info, path only and no request body', () => {
    const bad = exchange('/api/x', true);
    new GlobalExceptionFilter().catch(new BadRequestException('The request body could not be read.'), hostFor(bad.req, bad.res));
    const missing = exchange('/api/nothing', true);
    new GlobalExceptionFilter().catch(new NotFoundException('Cannot POST /api/nothing?signature=abc'), hostFor(missing.req, missing.res));
    expect([...bad.logged, ...missing.logged].map((l) => [l.level, l.text])).toEqual([
      ['warn', 'POST /api/x -> 400 [corr-9] The request body could not be read.'],
      ['info', 'POST /api/nothing -> 404 [corr-9] no route'],
    ]);
    expect(JSON.stringify([bad.logged, missing.logged])).not.toMatch(/signature|csrf-secret|PRJ-1/);
  });

  it("uses Nest's Logger when no request logger is attached", () => {
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const first = exchange('/api/x', false);
    new GlobalExceptionFilter().catch(new Error('boom'), hostFor(first.req, first.res));
    const second = exchange('/api/x', false);
    new GlobalExceptionFilter().catch(new HttpException('Conflict', 409), hostFor(second.req, second.res));
    expect(error).toHaveBeenCalledWith('POST /api/x -> 500 [corr-9] unexpected Error', expect.stringContaining('boom'));
    expect(warn).toHaveBeenCalledWith('POST /api/x -> 409 [corr-9] Conflict');
  });

  describe('a path with a broken %-escape (the router cannot decode it)', () => {
    const hostile = `/api/${'password%E0%A4%A'.repeat(1000)}`;
    /** What Nest's Express adapter passes on for the router's URIError. */
    const decodeError = (path: string) => new BadRequestException(`Failed to decode param '${path.slice(1)}'`, { cause: Object.assign(new URIError('URI malformed'), { status: 400 }) });

    it('answers JSON paths with a 400 and the correlation ID, without repeating the path', () => {
      const { req, res, logged, sent } = exchange(hostile, true);
      new GlobalExceptionFilter().catch(decodeError(hostile), hostFor(req, res));
      expect(sent.status).toBe(400);
      expect(sent.body).toEqual({
        statusCode: 400,
        error: 'The request could not be understood',
        message: 'The request path has a malformed %-escape, so it could not be read.',
        correlationId: 'corr-9',
      });
      expect(logged).toHaveLength(1);
      expect(logged[0].level).toBe('warn');
      expect(logged[0].text).toMatch(/^POST \/api\/password%E0%A4%A.*…\[\+\d+ chars\] -> 400 \[corr-9\] malformed %-escape in the path$/);
      expect(logged[0].text.length).toBeLessThan(700);
    });

    it('renders the error page for popup paths, without the path', () => {
      const path = `/launch/s/${'%E0%A4%A'.repeat(2000)}`;
      const { req, res, sent } = exchange(path, true);
      const rendered: Array<{ view: string; data: Record<string, unknown> }> = [];
      Object.assign(res, {
        locals: {},
        render: (view: string, data: Record<string, unknown>, done: (err: Error | null, html: string) => void) => {
          rendered.push({ view, data });
          done(null, '<html>page</html>');
        },
        type: () => res,
        send: (body: unknown) => void (sent.body = body),
      });
      Object.assign(req, { query: {}, headers: {} });
      new GlobalExceptionFilter().catch(decodeError(path), hostFor(req, res));
      expect(sent.status).toBe(400);
      expect(rendered).toEqual([
        {
          view: 'errors/error',
          data: expect.objectContaining({
            status: 400,
            reference: 'corr-9',
            title: 'The request could not be understood',
            message: 'The request that opened this window was incomplete or damaged. Close this window and click the field again in Concur.',
          }),
        },
      ]);
      expect(JSON.stringify(rendered)).not.toContain('%E0');
    });

    it('keeps a URIError thrown by server code a 500', () => {
      const { req, res, sent } = exchange('/api/x', true);
      new GlobalExceptionFilter().catch(new URIError('URI malformed'), hostFor(req, res));
      expect(sent.status).toBe(500);
    });
  });

  it('cuts a long path in its log line, and a long exception message on the answer', () => {
    const path = `/api/${'token/'.repeat(3000)}`;
    const { req, res, logged, sent } = exchange(path, true);
    new GlobalExceptionFilter().catch(new BadRequestException(`bad value ${'x'.repeat(5000)}`), hostFor(req, res));
    expect(logged[0].text.length).toBeLessThan(512 + 2048 + 100);
    expect(logged[0].text).toContain(`${path.slice(0, 512)}…[+${path.length - 512} chars] -> 400`);
    expect(String((sent.body as { message: string }).message).length).toBeLessThan(1020);
  });

  it('sends a RedirectException as a 303 to its location, uncached and not logged as an error', () => {
    const { req, res, logged } = exchange('/audit/events', true);
    const redirects: Array<[number, string]> = [];
    const headers: Record<string, string> = {};
    Object.assign(res, {
      redirect: (status: number, location: string) => void redirects.push([status, location]),
      setHeader: (name: string, value: string) => void (headers[name] = value),
    });
    new GlobalExceptionFilter().catch(new RedirectException('/audit/sign-in?next=%2Faudit%2Fevents'), hostFor(req, res));
    expect(redirects).toEqual([[303, '/audit/sign-in?next=%2Faudit%2Fevents']]);
    expect(headers['Cache-Control']).toBe('no-store');
    expect(logged).toEqual([]);
  });
});
