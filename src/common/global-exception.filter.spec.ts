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
