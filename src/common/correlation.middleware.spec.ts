import type { NextFunction, Request, Response } from 'express';
import { correlationMiddleware } from './correlation.middleware.js';
import { correlationIdOf } from './request-meta.js';

function run(given?: string | string[]) {
  const req = { headers: given === undefined ? {} : { 'x-request-id': given } } as unknown as Request;
  const headers: Record<string, string> = {};
  const res = { setHeader: (name: string, value: string) => void (headers[name] = value) } as unknown as Response;
  let nextCalls = 0;
  correlationMiddleware(req, res, (() => nextCalls++) as NextFunction);
  return { id: correlationIdOf(req), header: headers['X-Request-Id'], nextCalls };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe(correlationMiddleware.name, () => {
  it('takes a well-formed X-Request-Id and echoes it', () => {
    expect(run('lb-7f3a.9:01_x')).toEqual({ id: 'lb-7f3a.9:01_x', header: 'lb-7f3a.9:01_x', nextCalls: 1 });
  });

  it.each([
    ['none', undefined],
    ['an empty one', ''],
    ['one with spaces or a newline', 'a b\nX-Injected: 1'],
    ['one longer than 64 characters', 'x'.repeat(65)],
    ['a query-like one', 'id?signature=abc'],
    ['a repeated header', ['a', 'b']],
  ])('makes a new UUID for %s', (_label, given) => {
    const { id, header, nextCalls } = run(given as string | string[] | undefined);
    expect(id).toMatch(UUID);
    expect(header).toBe(id);
    expect(nextCalls).toBe(1);
  });

  it('makes a different ID for each request', () => {
    expect(run().id).not.toBe(run().id);
  });
});
