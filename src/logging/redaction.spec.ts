import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSecretKey, REDACTED, requestSerializer, responseSerializer, safeError, scrub, scrubLine, scrubText, withoutQuery } from './redaction.js';

describe('log redaction', () => {
  describe(isSecretKey.name, () => {
    it.each([
      'password',
      'secret',
      'token',
      'access_token',
      'refresh_token',
      'client_secret',
      'client_auth_code',
      'signature',
      'sig',
      'cookie',
      'authorization',
      'Authorization',
      'Set-Cookie',
      'Proxy-Authorization',
      'clientSecret',
      'refreshToken',
      'connectorPassword',
      'csrfToken',
      'refresh_token_enc',
    ])('%s is secret', (key) => {
      expect(isSecretKey(key)).toBe(true);
    });

    it.each(['tenantId', 'correlationId', 'status', 'tokenRequests', 'path', 'method', 'reason'])('%s is not', (key) => {
      expect(isSecretKey(key)).toBe(false);
    });
  });

  describe(scrub.name, () => {
    it('replaces secret keys at any depth, in arrays too, and leaves the rest', () => {
      const input = {
        tenantId: 'acme',
        oauth: { clientId: 'c', clientSecret: 's1', nested: { deeper: { deepest: { refresh_token: 'r1', keep: 1 } } } },
        list: [{ password: 'p1' }, { sig: 'x', ok: true }],
        headers: { authorization: 'Bearer abc', cookie: 'clc_launch=v', 'set-cookie': ['a=b'], accept: 'text/html' },
      };
      const out = scrub(input);
      expect(out).toEqual({
        tenantId: 'acme',
        oauth: { clientId: 'c', clientSecret: REDACTED, nested: { deeper: { deepest: { refresh_token: REDACTED, keep: 1 } } } },
        list: [{ password: REDACTED }, { sig: REDACTED, ok: true }],
        headers: { authorization: REDACTED, cookie: REDACTED, 'set-cookie': REDACTED, accept: 'text/html' },
      });
      // The caller's object is not touched.
      expect(input.oauth.clientSecret).toBe('s1');
    });

    it('drops the query of url-like keys', () => {
      expect(scrub({ url: '/concur/form/v1.0/get?signature=abc&xuserid=u', originalUrl: '/x?y=1', itemUrl: 'https://h/p' })).toEqual({
        url: '/concur/form/v1.0/get',
        originalUrl: '/x',
        itemUrl: 'https://h/p',
      });
    });

    it('reduces an error anywhere to type, message, stack and code, so an Axios config never shows', () => {
      const error = Object.assign(new Error('Request failed with status code 400'), {
        code: 'ERR_BAD_REQUEST',
        status: 400,
        config: { headers: { Authorization: 'Bearer at-123' }, data: 'grant_type=refresh_token&client_secret=cs-1&refresh_token=rt-1' },
      });
      const out = scrub({ error, nested: { err: error } }) as Record<string, Record<string, unknown>>;
      expect(out.error).toEqual({ type: 'Error', message: 'Request failed with status code 400', stack: expect.any(String), code: 'ERR_BAD_REQUEST', status: 400 });
      expect(JSON.stringify(out)).not.toMatch(/at-123|cs-1|rt-1/);
    });

    it('survives cycles and very deep objects', () => {
      const a: Record<string, unknown> = { name: 'a' };
      a.self = a;
      let deep: Record<string, unknown> = { password: 'p' };
      for (let i = 0; i < 20; i++) deep = { next: deep };
      expect(scrub(a)).toEqual({ name: 'a', self: '[circular]' });
      expect(JSON.stringify(scrub(deep))).not.toContain('"p"');
    });

    it('passes non-plain objects through for their serializers', () => {
      const date = new Date(0);
      expect(scrub({ at: date })).toEqual({ at: date });
    });
  });

  describe(scrubText.name, () => {
    it('hides query and form values of secret names, and Bearer/Basic credentials', () => {
      const text =
        'GET /v4?company_domain=a&signature=AbC%2B%3D&client_auth_code=6f1c-9 body grant_type=refresh_token&refresh_token=rt.xyz&client_secret=shh ' +
        'Authorization: Bearer sbxat.1.2.mac Basic U2FuZGJveDpwYXNz password=hunter2 access_token%3Dtok-42';
      const out = scrubText(text);
      for (const secret of ['AbC%2B%3D', '6f1c-9', 'rt.xyz', 'shh', 'sbxat.1.2.mac', 'U2FuZGJveDpwYXNz', 'hunter2', 'tok-42']) {
        expect(out).not.toContain(secret);
      }
      expect(out).toContain('company_domain=a');
      expect(out).toContain('grant_type=refresh_token');
      expect(out).toContain(`signature=${REDACTED}`);
    });

    it('never touches quotes or backslashes, so a JSON line stays valid', () => {
      const line = JSON.stringify({ msg: 'saw "signature=abc\\def" and token=x"y' });
      expect(() => JSON.parse(scrubText(line))).not.toThrow();
      expect(scrubText(line)).not.toContain('abc');
    });

    it('leaves ordinary text alone', () => {
      const text = 'launch rejected [corr-1]: signature does not match (tenant acme, status 401)';
      expect(scrubText(text)).toBe(text);
    });
  });

  describe(scrubLine.name, () => {
    it('replaces secret keys of a finished JSON line at any depth and keeps its newline', () => {
      const line = `${JSON.stringify({ correlationId: 'c', bound: { a: { b: { c: { d: { clientSecret: 'cs-1' } } } } }, msg: 'ok' })}\n`;
      const out = scrubLine(line);
      expect(out.endsWith('\n')).toBe(true);
      expect(JSON.parse(out)).toEqual({ correlationId: 'c', bound: { a: { b: { c: { d: { clientSecret: REDACTED } } } } }, msg: 'ok' });
    });

    it('leaves a line without secrets as it is, and still scrubs text that is not JSON', () => {
      const line = `${JSON.stringify({ level: 'info', msg: 'GET /launch/s/abc 200', durationMs: 3 })}\n`;
      expect(scrubLine(line)).toBe(line);
      expect(scrubLine('[03:00:45] INFO: GET /x?signature=abc\n')).toBe(`[03:00:45] INFO: GET /x?signature=${REDACTED}\n`);
    });
  });

  describe('serializers', () => {
    it('log a request as method and path only: no query, no headers', () => {
      const req = {
        method: 'GET',
        url: '/launch/s/abc',
        originalUrl: '/concur/form/v1.0/get?signature=s&xuserid=u',
        headers: { cookie: 'c', authorization: 'Basic x' },
      } as unknown as IncomingMessage;
      expect(requestSerializer(req)).toEqual({ method: 'GET', path: '/concur/form/v1.0/get' });
    });

    it('log a response as its status only', () => {
      const res = { statusCode: 303, getHeaders: () => ({ 'set-cookie': 'clc_launch=secret' }) } as unknown as ServerResponse;
      expect(responseSerializer(res)).toEqual({ statusCode: 303 });
    });

    it('keep a non-error as it is', () => {
      expect(safeError('text')).toBe('text');
      expect(withoutQuery('/a/b')).toBe('/a/b');
    });
  });
});
