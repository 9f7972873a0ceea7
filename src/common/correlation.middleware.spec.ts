import type { NextFunction, Request, Response } from 'express';
import { correlationMiddleware } from './correlation.middleware.js';
import { correlationIdOf } from './request-meta.js';

/** Express's trust function for `trust proxy: loopback`, and a request from `peer`. */
function run(given?: string | string[], peer = '127.0.0.1', trusted: (address: string) => boolean = (a) => a === '127.0.0.1') {
  const req = {
    headers: given === undefined ? {} : { 'x-request-id': given },
    socket: { remoteAddress: peer },
    app: { get: (name: string) => (name === 'trust proxy fn' ? trusted : undefined) },
  } as unknown as Request;
  const headers: Record<string, string> = {};
  const res = { setHeader: (name: string, value: string) => void (headers[name] = value) } as unknown as Response;
  let nextCalls = 0;
  correlationMiddleware(req, res, (() => nextCalls++) as NextFunction);
  return { id: correlationIdOf(req), header: headers['X-Request-Id'], nextCalls };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe(correlationMiddleware.name, () => {
  it('takes a well-formed X-Request-Id from a trusted proxy and echoes it', () => {
    expect(run('lb-7f3a.9:01_x')).toEqual({ id: 'lb-7f3a.9:01_x', header: 'lb-7f3a.9:01_x', nextCalls: 1 });
  });

  it('ignores X-Request-Id sent by a client that is not a trusted proxy', () => {
    const fromClient = run('lb-7f3a.9:01_x', '203.0.113.9');
    expect(fromClient.id).toMatch(UUID);
    const trustNone = run('lb-7f3a.9:01_x', '127.0.0.1', () => false);
    expect(trustNone.id).toMatch(UUID);
    expect(trustNone.header).toBe(trustNone.id);
  });

  it.each([
    ['none', undefined],
    ['an empty one', ''],
    ['one with spaces or a newline', 'a b\nX-Injected: 1'],
    ['one longer than 64 characters', 'x'.repeat(65)],
    ['a 16 KB one', 'x'.repeat(16 * 1024)],
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
