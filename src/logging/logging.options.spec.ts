import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { LoggingConfig } from '../config/index.js';
import { createRootLogger, requestLogging, usePretty } from './logging.options.js';

function collector() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream, parsed: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

function config(level: string, format: LoggingConfig['format'] = 'auto'): LoggingConfig {
  return Object.assign(new LoggingConfig(), { level, format });
}

describe('logging options', () => {
  describe(usePretty.name, () => {
    it.each([
      ['json', true, false, false],
      ['pretty', false, true, true],
      ['auto', true, false, true],
      ['auto', true, true, false],
      ['auto', false, false, false],
    ] as const)('format %s, TTY %s, production %s: pretty %s', (format, isTTY, production, expected) => {
      expect(usePretty(format, { isTTY, production })).toBe(expected);
    });
  });

  describe(createRootLogger.name, () => {
    it('writes JSON lines with a level label to the destination, even when pretty is configured', () => {
      const out = collector();
      const logger = createRootLogger(config('info', 'pretty'), out.stream, { isTTY: true, production: false });
      logger.info({ tenantId: 'acme' }, 'hello');
      logger.debug('not at info');
      expect(out.parsed()).toEqual([expect.objectContaining({ level: 'info', tenantId: 'acme', msg: 'hello', time: expect.any(String) })]);
    });

    it('builds a pretty logger on stdout for a developer terminal, and a JSON one otherwise', () => {
      const pretty = createRootLogger(config('silent', 'auto'), undefined, { isTTY: true, production: false });
      const json = createRootLogger(config('silent', 'auto'), undefined, { isTTY: false, production: false });
      expect(pretty.level).toBe('silent');
      expect(json.level).toBe('silent');
    });

    it('writes nothing at level silent', () => {
      const out = collector();
      createRootLogger(config('silent'), out.stream).error('boom');
      expect(out.lines).toEqual([]);
    });

    it('redacts secret keys, headers, errors and secrets inside messages, in objects and in bindings', () => {
      const out = collector();
      const logger = createRootLogger(config('trace'), out.stream);
      const axiosLike = Object.assign(new Error('Request failed'), { config: { data: 'client_secret=cs-9&refresh_token=rt-9' } });
      logger
        .child({ session: { cookieSecret: 'cookie-9' } })
        .warn(
          {
            req: { headers: { authorization: 'Basic YWJjOmRlZg==', 'proxy-authorization': 'x-9', cookie: 'c-9' } },
            oauth: { client_secret: 'cs-8', a: { b: { c: { access_token: 'at-8' } } } },
            err: axiosLike,
            other: axiosLike,
          },
          'calling /v4?signature=sig-9&client_auth_code=code-9 with Bearer at-77777777',
        );
      expect(out.lines).toHaveLength(1);
      for (const secret of ['YWJjOmRlZg', 'x-9', 'c-9', 'cs-8', 'at-8', 'cs-9', 'rt-9', 'sig-9', 'code-9', 'at-77777777', 'cookie-9']) {
        expect(out.lines[0]).not.toContain(secret);
      }
      const [line] = out.parsed();
      expect(line.err).toMatchObject({ type: 'Error', message: 'Request failed', stack: expect.any(String) });
      expect(line.msg).toContain('calling /v4?signature=[redacted]');
    });

    it('redacts secret keys of child-logger bindings at any depth, in grandchildren and in setBindings too', () => {
      const out = collector();
      const logger = createRootLogger(config('info'), out.stream);
      const child = logger.child({ bound: { a: { b: { c: { d: { clientSecret: 'cs-1' } } } } } });
      child.child({ deeper: { list: [{ refresh_token: 'rt-1' }] } }).info('grandchild');
      child.setBindings({ later: { nested: { apiKey: 'key-1' } } });
      child.info('after setBindings');
      expect(out.lines).toHaveLength(2);
      expect(out.lines.join('\n')).not.toMatch(/cs-1|rt-1|key-1/);
      const [grandchild, later] = out.parsed();
      expect(grandchild).toMatchObject({ bound: { a: { b: { c: { d: { clientSecret: '[redacted]' } } } } }, deeper: { list: [{ refresh_token: '[redacted]' }] } });
      expect(later).toMatchObject({ later: { nested: { apiKey: '[redacted]' } } });
    });

    it('cuts every string of a line to its limit before it is scrubbed: messages, fields, bindings, errors', () => {
      const out = collector();
      const long = `/${'password/'.repeat(2000)}`;
      const error = new Error(`Failed to decode param '${long}'`);
      createRootLogger(config('info'), out.stream)
        .child({ note: long })
        .warn({ path: long, err: error, nested: { detail: long } }, `GET ${long} -> 400`, long);
      const [line] = out.parsed() as Array<Record<string, Record<string, string>> & { msg: string; note: string; path: string }>;
      expect(out.lines[0].length).toBeLessThan(20000);
      expect(line.msg.length).toBeLessThanOrEqual(2048 + 20);
      expect(line.msg).toMatch(/…\[\+\d+ chars\]$/);
      for (const text of [line.note, line.path, line.nested.detail, line.err.message]) {
        expect(text.length).toBeLessThanOrEqual(2048 + 20);
        expect(text).toMatch(/…\[\+\d+ chars\]$/);
      }
      expect(line.err.stack.length).toBeLessThanOrEqual(8192 + 20);
      expect(line.err.stack).toContain('\n    at ');
    });
  });

  describe(requestLogging.name, () => {
    function exchange(url: string, status: number, correlationId = 'corr-42') {
      const req = Object.assign(new EventEmitter(), {
        method: 'GET',
        url,
        originalUrl: url,
        headers: { cookie: 'clc_launch=cookie-1', authorization: 'Basic abcdefgh' },
        correlationId,
      }) as unknown as IncomingMessage;
      const res = Object.assign(new EventEmitter(), { statusCode: status, getHeaders: () => ({}) }) as unknown as ServerResponse;
      return { req, res };
    }

    function serve(level: string, url: string, status: number) {
      const out = collector();
      const middleware = requestLogging(createRootLogger(config(level), out.stream));
      const { req, res } = exchange(url, status);
      middleware(req, res, () => undefined);
      req.log.info({ tenantId: 'acme' }, 'inside the request');
      res.emit('finish');
      return out;
    }

    it('logs one line a request with correlation ID, method, path without query, status and duration', () => {
      const out = serve('info', '/concur/form/v1.0/get?signature=sig-1&xuserid=user-1', 303);
      const [inside, done] = out.parsed();
      expect(inside).toMatchObject({ correlationId: 'corr-42', tenantId: 'acme', msg: 'inside the request' });
      expect(inside.req).toBeUndefined();
      expect(done).toMatchObject({
        level: 'info',
        correlationId: 'corr-42',
        req: { method: 'GET', path: '/concur/form/v1.0/get' },
        res: { statusCode: 303 },
        durationMs: expect.any(Number),
        msg: 'GET /concur/form/v1.0/get 303',
      });
      expect(out.lines.join('\n')).not.toMatch(/sig-1|user-1|cookie-1|abcdefgh/);
    });

    it('logs a 5xx at error without a made-up error object', () => {
      const [, done] = serve('info', '/launch/s/x', 502).parsed();
      expect(done).toMatchObject({ level: 'error', res: { statusCode: 502 } });
      expect(done.err).toBeUndefined();
    });

    it('writes no access line below the configured level, but still gives the request its logger', () => {
      const out = serve('warn', '/launch/s/x', 200);
      expect(out.parsed()).toEqual([]);
      const failed = serve('warn', '/launch/s/x', 503).parsed();
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ level: 'error', correlationId: 'corr-42', msg: 'GET /launch/s/x 503' });
    });

    it('logs once, and says so when the connection closed before the answer was sent', () => {
      const out = collector();
      const middleware = requestLogging(createRootLogger(config('info'), out.stream));
      const { req, res } = exchange('/launch/s/y', 200, 'corr-7');
      Object.assign(res, { writableFinished: false });
      let nextCalled = false;
      middleware(req, res, () => (nextCalled = true));
      expect(nextCalled).toBe(true);
      expect((req as unknown as { id: string }).id).toBe('corr-7');
      res.emit('close');
      res.emit('finish');
      expect(out.parsed()).toEqual([
        expect.objectContaining({ level: 'info', correlationId: 'corr-7', aborted: true, msg: 'GET /launch/s/y 200 (closed before the answer was sent)' }),
      ]);
    });

    it('logs probes at debug, so they stay out of an info log', () => {
      expect(serve('info', '/health/ready', 200).parsed()).toHaveLength(1);
      expect(serve('info', '/health/live//', 200).parsed()).toHaveLength(1);
      expect(serve('debug', '/metrics', 200).parsed()[1]).toMatchObject({ level: 'debug', msg: 'GET /metrics 200' });
    });

    it('logs a 16 KB path cut to 512 characters, with how much was cut, and no query', () => {
      const path = `/${'sig/'.repeat(4000)}`;
      const out = serve('info', `${path}?token=t-1`, 404);
      const [, done] = out.parsed() as Array<{ req: { path: string }; msg: string }>;
      expect(done.req.path).toBe(`${path.slice(0, 512)}…[+${path.length - 512} chars]`);
      expect(done.msg).toBe(`GET ${done.req.path} 404`);
      expect(out.lines.join('\n')).not.toContain('t-1');
      expect(out.lines[1].length).toBeLessThan(1500);
    });
  });
});
