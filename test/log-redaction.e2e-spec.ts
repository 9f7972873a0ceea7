import { Writable } from 'node:stream';
import { jest } from '@jest/globals';
import request from 'supertest';
import { SandboxOAuth } from '../src/sandbox/sandbox.oauth.js';
import { csrfOf, sandboxIds, signedUrl, startApp, v1Params, v4Params, type Harness, type SandboxIds } from './harness.js';

/**
 * Runs every flow that handles a secret with logging at trace level into a captured stream, then
 * checks that no log line holds any of those secrets, in any encoding the request carried it.
 */
describe('logs carry no secrets', () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  /** Every secret value seen during the flows, with a name for the failure message. */
  const secrets = new Map<string, string>();
  const keep = (name: string, value: string | undefined) => {
    if (value) secrets.set(value, name);
  };
  /** A value as it appears in a query string, too. */
  const keepEncoded = (name: string, value: string) => {
    keep(name, value);
    if (encodeURIComponent(value) !== value) keep(`${name} (URL-encoded)`, encodeURIComponent(value));
  };

  let h: Harness;
  let ids: SandboxIds;

  beforeAll(async () => {
    h = await startApp({ logging: { level: 'trace' }, server: { trustProxy: 'loopback' } }, {}, { logDestination: destination });
    ids = await sandboxIds(h);
    // Tokens the sandbox issues are not in its API: record them as they are made.
    const oauth = h.app.get(SandboxOAuth);
    const issueAccess = oauth.issueAccessToken.bind(oauth);
    const issueRefresh = oauth.issueRefreshToken.bind(oauth);
    const issueCode = oauth.issueAuthorizationCode.bind(oauth);
    const answer = oauth.token.bind(oauth);
    jest.spyOn(oauth, 'issueAccessToken').mockImplementation((...args: Parameters<typeof issueAccess>) => {
      const issued = issueAccess(...args);
      keep(args[0] === 'company' ? 'access token' : "user's access token", issued.accessToken);
      return issued;
    });
    jest.spyOn(oauth, 'issueRefreshToken').mockImplementation((...args: Parameters<typeof issueRefresh>) => {
      const issued = issueRefresh(...args);
      keep(args[0] === 'company' ? 'rotated refresh token' : "user's refresh token", issued.refreshToken);
      return issued;
    });
    jest.spyOn(oauth, 'issueAuthorizationCode').mockImplementation((...args: Parameters<typeof issueCode>) => {
      const code = issueCode(...args);
      keepEncoded("sandbox launcher's client_auth_code", code);
      return code;
    });
    jest.spyOn(oauth, 'token').mockImplementation((...args: Parameters<typeof answer>) => {
      const reply = answer(...args);
      keep('id_token', (reply.body as { id_token?: string } | undefined)?.id_token);
      return reply;
    });

    const tenant = h.config.tenants[0];
    keep('connector password', tenant.connector.password);
    keep('OAuth client secret', tenant.oauth.clientSecret);
    keep('configured refresh token', tenant.oauth.refreshToken);

    await runFlows();
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await h.close();
  });

  function signatureOf(url: string): string {
    return new URLSearchParams(url.split('?')[1]).get('signature')!;
  }

  /** A launch as the popup runs it: signed URL, 303 with the cookie, session page, Save. */
  async function launchAndSave(url: string, code: string, requestId: string) {
    keepEncoded('launch signature', signatureOf(url));
    const agent = request.agent(h.origin);
    const redirect = await agent.get(url).set('X-Request-Id', requestId).expect(303);
    const cookie = /=([^;]+)/.exec(String(redirect.headers['set-cookie']))![1];
    keep('session cookie', cookie);
    const location = redirect.headers.location as string;
    const page = await agent.get(location).expect(200);
    const csrf = csrfOf(page.text);
    keepEncoded('CSRF token', csrf);
    await agent.post(`${location}/select`).set('X-Request-Id', `${requestId}-save`).type('form').send({ csrf, code }).expect(200);
    return location;
  }

  async function runFlows() {
    // v1 with a client_auth_code too (not a v1 parameter: it must not show up anyway).
    keepEncoded('client_auth_code', 'v1-auth-code-7Qx9');
    await launchAndSave(signedUrl(h, 1, v1Params(h, ids.entryIds[0], { client_auth_code: 'v1-auth-code-7Qx9' })), 'PRJ-1001', 'redact-v1');
    keepEncoded('client_auth_code', 'v4-auth-code-Zk31.~');
    await launchAndSave(signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { client_auth_code: 'v4-auth-code-Zk31.~' })), 'PRJ-1002', 'redact-v4');

    const { username, password } = h.config.tenants[0].connector;
    const good = Buffer.from(`${username}:${password}`).toString('base64');
    const bad = Buffer.from(`${username}:not-the-password-42`).toString('base64');
    keep('Basic credentials', good);
    keep('wrong Basic credentials', bad);
    keep('wrong connector password', 'not-the-password-42');
    await h.http.get('/system/v1.0/testconnection').set('Authorization', `Basic ${good}`).expect(200);
    await h.http.get('/system/v1.0/testconnection').set('Authorization', `Basic ${bad}`).expect(401);

    // As the user: the sandbox launcher's URL carries a client_auth_code that the connector exchanges.
    const asUser = (await h.http.get('/sandbox/api/launch-url').query({ version: '4', level: 'ENTRY', id: ids.expenseIds[0] }).expect(200)).body.url as string;
    await launchAndSave(asUser, 'PRJ-1003', 'redact-user');

    const forged = signedUrl(h, 4, v4Params(h, ids, 'HEADER', { client_auth_code: 'forged-auth-code-55' }), { password: 'guessed-password-1' });
    keepEncoded('forged launch signature', signatureOf(forged));
    keepEncoded('client_auth_code', 'forged-auth-code-55');
    await h.http.get(forged).set('X-Request-Id', 'redact-forged').expect(401);
  }

  it('captured the request lines, with the correlation ID and the path only', () => {
    expect(lines.length).toBeGreaterThan(20);
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const launch = parsed.find((l) => l.correlationId === 'redact-v1' && l.req !== undefined);
    expect(launch).toMatchObject({ level: 'info', req: { method: 'GET', path: h.config.paths.v1Launch }, res: { statusCode: 303 }, durationMs: expect.any(Number) });
    const save = parsed.find((l) => l.correlationId === 'redact-v4-save' && l.req !== undefined);
    expect(save).toMatchObject({ req: { method: 'POST', path: expect.stringMatching(/^\/launch\/s\/[A-Za-z0-9_-]{22}\/select$/) }, res: { statusCode: 200 } });
    // Lines logged while serving a request carry its correlation ID.
    const rejected = parsed.filter((l) => l.correlationId === 'redact-forged');
    expect(rejected.map((l) => l.context ?? 'request')).toEqual(expect.arrayContaining(['SignatureGuard', 'HttpError', 'request']));
    expect(parsed.some((l) => l.context === 'OAuthClient' && typeof l.correlationId === 'string')).toBe(true);
    expect(parsed.filter((l) => typeof (l.req as { path?: string } | undefined)?.path === 'string').every((l) => !(l.req as { path: string }).path.includes('?'))).toBe(true);
  });

  it('saw the secrets it checks for (tokens were issued and rotated)', () => {
    const names = new Set(secrets.values());
    for (const name of [
      'access token',
      'rotated refresh token',
      "user's access token",
      "user's refresh token",
      "sandbox launcher's client_auth_code",
      'id_token',
      'launch signature',
      'session cookie',
      'CSRF token',
      'client_auth_code',
    ]) {
      expect(names).toContain(name);
    }
  });

  it('has none of the secrets in any line', () => {
    const leaks: string[] = [];
    for (const [value, name] of secrets) {
      const line = lines.find((l) => l.includes(value));
      if (line) leaks.push(`${name} in: ${line.slice(0, 300)}`);
    }
    expect(leaks).toEqual([]);
  });
});
