import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import request from 'supertest';
import { AppModule } from '../src/app.module.js';
import { configureApp } from '../src/app.setup.js';
import { AuditAccessModule } from '../src/audit/access/access.module.js';
import { Auditor, AuditorGuard, type AuditorIdentity } from '../src/audit/access/auditor.guard.js';
import { hashPassword } from '../src/audit/access/password-hash.js';
import { AuditService } from '../src/audit/audit.service.js';
import type { AuditEvent } from '../src/audit/audit.types.js';
import { deepMerge, loadConfig } from '../src/config/index.js';
import { listen } from '../src/server.js';
import { csrfOf, type Harness, openLaunch, sandboxIds, signedUrl, startApp, v4Params } from './harness.js';

const DEMO = { username: 'auditor', password: 'auditor-demo' };
const CHALLENGE = 'Basic realm="concur-launch-connector audit"';
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

/**
 * A guarded page of another module, as the audit workbench will have: the access layer is tested
 * on a page route (redirects) besides its own API route. It also shows the session's CSRF token,
 * which the workbench renders into its forms.
 */
@Controller('audit/probe')
@UseGuards(AuditorGuard)
class ProbePageController {
  @Get()
  show(@Auditor() auditor: AuditorIdentity) {
    return { username: auditor.username, via: auditor.via, csrfToken: auditor.csrfToken };
  }
}

@Module({ imports: [AuditAccessModule], controllers: [ProbePageController] })
class ProbeModule {}

@Module({})
class ProbeRoot {}

/** test/harness.ts's startApp, with the probe page mounted beside the real application. */
async function startWithProbe(overrides: Record<string, unknown>, logDestination: NodeJS.WritableStream): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'clc-e2e-'));
  const base = {
    storage: { sqliteFile: ':memory:' },
    logging: { level: 'silent' },
    rateLimit: {
      launch: { limit: 100000, windowSeconds: 60 },
      testConnection: { limit: 100000, windowSeconds: 60 },
      failedTestConnection: { limit: 100000, windowSeconds: 60 },
    },
    audit: { signIn: { maxFailuresPerAddress: 100000 } },
  };
  const loaded = loadConfig({ CONNECTOR_DATA_DIR: dataDir }, deepMerge(base, overrides));
  const app = await NestFactory.create<NestExpressApplication>(
    { module: ProbeRoot, imports: [AppModule.forRoot(loaded, { logDestination }), ProbeModule] },
    { bodyParser: false, bufferLogs: true },
  );
  app.useLogger(app.get(Logger));
  configureApp(app);
  const origin = await listen(app, 0, '127.0.0.1');
  return {
    app,
    config: loaded.config,
    origin,
    audit: app.get(AuditService),
    http: request(origin),
    async close() {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

type Agent = ReturnType<typeof request.agent>;

/** The value a Set-Cookie header gives `name`, with the header itself. */
function cookieOf(res: { headers: Record<string, unknown> }, name: string): { value: string; header: string } | undefined {
  const headers = (res.headers['set-cookie'] as string[] | undefined) ?? [];
  const header = headers.find((h) => h.startsWith(`${name}=`));
  return header ? { value: decodeURIComponent(header.slice(name.length + 1).split(';')[0]), header } : undefined;
}

describe('auditor access', () => {
  const lines: string[] = [];
  const logs = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  /** Every secret used below; none may show in a log line. */
  const secrets = new Set<string>([DEMO.password]);
  const keep = <T extends string | undefined>(value: T): T => {
    if (value) secrets.add(value);
    return value;
  };

  const LOCKED = { username: 'locked.auditor', password: 'locked-auditor-password-1' };
  let h: Harness;

  beforeAll(async () => {
    keep(LOCKED.password);
    const demoHash = loadConfig({}).config.audit.auditors[0].passwordHash;
    h = await startWithProbe(
      {
        logging: { level: 'trace' },
        audit: {
          auditors: [
            { username: DEMO.username, passwordHash: demoHash },
            { username: LOCKED.username, passwordHash: await hashPassword(LOCKED.password) },
          ],
          signIn: { maxFailures: 3, lockoutSeconds: 600 },
        },
      },
      logs,
    );
  });
  afterAll(() => h.close());

  /** Opens the sign-in page with a cookie-keeping agent: the agent and the form's CSRF token. */
  async function signInPage(next?: string): Promise<{ agent: Agent; csrf: string; html: string }> {
    const agent = request.agent(h.origin);
    const page = await agent.get('/audit/sign-in').query(next === undefined ? {} : { next }).expect(200);
    return { agent, csrf: keep(csrfOf(page.text)), html: page.text };
  }

  async function signIn(username: string, password: string, next?: string) {
    const { agent, csrf } = await signInPage(next);
    const res = await agent
      .post('/audit/sign-in')
      .set('User-Agent', 'audit-access-e2e')
      .type('form')
      .send({ username, password, csrf, ...(next === undefined ? {} : { next }) });
    keep(cookieOf(res, 'clc_audit')?.value);
    return { agent, res };
  }

  async function events(type: AuditEvent['type']): Promise<AuditEvent[]> {
    return (await h.audit.latest(500)).filter((e) => e.type === type);
  }

  describe('without credentials', () => {
    it('a page redirects (303) to the sign-in page, with the way back', async () => {
      const res = await h.http.get('/audit/probe?field=custom9&x=1').expect(303);
      expect(res.headers.location).toBe('/audit/sign-in?next=%2Faudit%2Fprobe%3Ffield%3Dcustom9%26x%3D1');
      expect(res.headers['cache-control']).toBe('no-store');
    });

    it('the API answers 401 JSON with a Basic challenge and the correlation ID', async () => {
      const res = await h.http.get('/api/audit/me').expect(401);
      expect(res.headers['www-authenticate']).toBe(CHALLENGE);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(res.body).toMatchObject({ statusCode: 401, message: expect.stringMatching(/auditor/), correlationId: res.headers['x-request-id'] });
    });
  });

  describe('the sign-in page', () => {
    it('is a form with a CSRF token that matches a short-lived, HttpOnly, SameSite=Strict cookie', async () => {
      const res = await h.http.get('/audit/sign-in').expect(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.text).toContain('name="username"');
      expect(res.text).toContain('type="password"');
      const cookie = cookieOf(res, 'clc_audit_signin')!;
      expect(cookie.value).toBe(csrfOf(res.text));
      expect(cookie.header).toMatch(/; Max-Age=1800;/);
      expect(cookie.header).toMatch(/; Path=\/audit\/sign-in;/);
      expect(cookie.header).toMatch(/; HttpOnly/);
      expect(cookie.header).toMatch(/; SameSite=Strict/);
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
      expect(res.text).not.toMatch(/<script(?![^>]*nonce=)[^>]*>/);
    });

    it('keeps a safe next in the form and drops another', async () => {
      expect((await signInPage('/audit/probe?a=1')).html).toContain('name="next" value="/audit/probe?a&#x3D;1"');
      expect((await signInPage('https://evil.example/')).html).toContain('name="next" value="/audit"');
    });
  });

  describe('signing in', () => {
    it('with the right password: a session cookie, 303 to next, then the API and pages know the auditor', async () => {
      const { agent, res } = await signIn(DEMO.username, DEMO.password, '/audit/probe?from=sign-in');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/audit/probe?from=sign-in');
      const cookie = cookieOf(res, 'clc_audit')!;
      expect(cookie.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(cookie.header).toMatch(/; Max-Age=3600;/);
      expect(cookie.header).toMatch(/; Path=\/;/);
      expect(cookie.header).toMatch(/; HttpOnly/);
      expect(cookie.header).toMatch(/; SameSite=Strict/);
      expect(cookie.header).not.toMatch(/; Secure/);
      // The login CSRF cookie has done its work.
      expect(cookieOf(res, 'clc_audit_signin')?.header).toMatch(/Expires=Thu, 01 Jan 1970/);

      const me = await agent.get('/api/audit/me').expect(200);
      expect(me.body).toEqual({ username: 'auditor', via: 'session', groups: [] });
      expect(me.headers['cache-control']).toBe('no-store');
      const page = await agent.get('/audit/probe').expect(200);
      expect(page.body).toMatchObject({ username: 'auditor', via: 'session', csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    });

    it('the user name is not case-sensitive', async () => {
      const { res } = await signIn('AUDITOR', DEMO.password);
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/audit');
    });

    it('with a wrong password or an unknown user: the page again, 401, the same message, no session', async () => {
      const wrong = await signIn(DEMO.username, keep('not-the-password-7'));
      const unknown = await signIn('nobody.at.all', DEMO.password);
      for (const { res } of [wrong, unknown]) {
        expect(res.status).toBe(401);
        expect(res.headers['content-type']).toMatch(/text\/html/);
        expect(res.text).toContain('User name or password is wrong');
        expect(cookieOf(res, 'clc_audit')).toBeUndefined();
        expect(res.text).not.toContain('not-the-password-7');
        expect(res.text).not.toContain(DEMO.password);
        // Another try needs only the password: the form is there again with a token.
        expect(csrfOf(res.text)).toMatch(/^[A-Za-z0-9_-]{43}$/);
      }
      await wrong.agent.get('/api/audit/me').expect(401);
    });

    it('ignores a next that leads elsewhere (no open redirect)', async () => {
      for (const next of ['https://evil.example/audit', '//evil.example/audit', '/\\evil.example', '/launch/s/abc', '/audit/../sandbox']) {
        const { res } = await signIn(DEMO.username, DEMO.password, next);
        expect(res.status).toBe(303);
        expect(res.headers.location).toBe('/audit');
      }
    });

    it('refuses a form without the CSRF token, with a wrong one, or without the cookie: 403 and no session', async () => {
      const { agent, csrf } = await signInPage();
      const missing = await agent.post('/audit/sign-in').type('form').send({ username: DEMO.username, password: DEMO.password });
      const wrong = await agent.post('/audit/sign-in').type('form').send({ ...DEMO, csrf: `${csrf.slice(0, -2)}xx` });
      // A token from a page, posted by a browser without that page's cookie (another site's form).
      const foreign = await request(h.origin).post('/audit/sign-in').type('form').send({ ...DEMO, csrf });
      for (const res of [missing, wrong, foreign]) {
        expect(res.status).toBe(403);
        expect(res.text).toContain('The sign-in form had expired');
        expect(cookieOf(res, 'clc_audit')).toBeUndefined();
      }
    });

    it.each([
      ['no password', { username: 'auditor' }, 'Enter your user name and your password.'],
      ['an empty user name', { username: '', password: 'x' }, 'Enter your user name and your password.'],
      ['a repeated field', { username: ['auditor', 'other'], password: 'x' }, 'Enter your user name and your password.'],
      ['an oversized user name', { username: 'a'.repeat(129), password: 'x' }, 'at most 128 characters'],
      ['an oversized password', { username: 'auditor', password: 'p'.repeat(1025) }, 'at most 1024'],
    ])('answers %s with a 400 page that says what is wrong', async (_label, fields, message) => {
      const { agent, csrf } = await signInPage();
      const res = await agent.post('/audit/sign-in').type('form').send({ ...fields, csrf }).expect(400);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.text).toContain(message);
    });

    it('answers a body too large to read with 413, not 500', async () => {
      const { agent, csrf } = await signInPage();
      await agent.post('/audit/sign-in').type('form').send({ username: 'auditor', password: 'p'.repeat(40_000), csrf }).expect(413);
    });
  });

  describe('signing out', () => {
    it('needs the session CSRF token (403 without or with a wrong one), then ends the session', async () => {
      const { agent, res } = await signIn(DEMO.username, DEMO.password);
      const session = cookieOf(res, 'clc_audit')!.value;
      const { csrfToken } = (await agent.get('/audit/probe').expect(200)).body as { csrfToken: string };
      keep(csrfToken);

      const missing = await agent.post('/audit/sign-out').type('form').send({}).expect(403);
      expect(missing.text).toContain('This form has expired');
      await agent.post('/audit/sign-out').type('form').send({ csrf: `${csrfToken.slice(0, -2)}xx` }).expect(403);
      await agent.get('/api/audit/me').expect(200);

      const out = await agent.post('/audit/sign-out').type('form').send({ csrf: csrfToken }).expect(303);
      expect(out.headers.location).toBe('/audit/sign-in');
      expect(cookieOf(out, 'clc_audit')?.header).toMatch(/Expires=Thu, 01 Jan 1970/);
      // The old cookie is worth nothing now, even presented again.
      await request(h.origin).get('/api/audit/me').set('Cookie', `clc_audit=${session}`).expect(401);
      const events = (await h.audit.latest(20)).filter((e) => e.type === 'audit.sign_out');
      expect(events[0]).toMatchObject({ outcome: 'success', actingUser: 'auditor', correlationId: out.headers['x-request-id'] });
    });

    it('without a session sends the browser to the sign-in page', async () => {
      const res = await h.http.post('/audit/sign-out').type('form').send({ csrf: 'x' }).expect(303);
      expect(res.headers.location).toBe('/audit/sign-in');
    });
  });

  describe('lockout', () => {
    it(`after maxFailures failures a user name is refused with 429 for lockoutSeconds, even with the right password`, async () => {
      for (const name of [LOCKED.username, 'LOCKED.AUDITOR', 'Locked.Auditor']) {
        expect((await signIn(name, keep(`guess-${name}`))).res.status).toBe(401);
      }
      const { res } = await signIn(LOCKED.username, LOCKED.password);
      expect(res.status).toBe(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(590);
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(600);
      expect(res.text).toContain('Too many failed sign-ins for this user name');
      expect(res.text).toMatch(/try again after \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in 10 minutes\)/);
      expect(cookieOf(res, 'clc_audit')).toBeUndefined();
      // The API's Basic sign-in is locked too, and other names are not.
      const api = await h.http.get('/api/audit/me').set('Authorization', basic(LOCKED.username, LOCKED.password)).expect(429);
      expect(api.body).toMatchObject({ statusCode: 429, correlationId: api.headers['x-request-id'] });
      expect(api.headers['retry-after']).toMatch(/^\d+$/);
      await h.http.get('/api/audit/me').set('Authorization', basic(DEMO.username, DEMO.password)).expect(200);
      const metrics = (await h.http.get('/metrics').expect(200)).text;
      expect(metrics).toMatch(/clc_rate_limited_total\{limit="failed_audit_sign_in"\} 2/);
    });

    it('locks unknown user names after as many attempts', async () => {
      for (let i = 0; i < 3; i++) expect((await signIn('ghost.auditor', keep(`ghost-guess-${i}`))).res.status).toBe(401);
      expect((await signIn('ghost.auditor', keep('ghost-guess-x'))).res.status).toBe(429);
    });
  });

  describe('HTTP Basic on the API', () => {
    it('signs a request in with an auditor account', async () => {
      const res = await h.http.get('/api/audit/me').set('Authorization', basic(DEMO.username, DEMO.password)).expect(200);
      expect(res.body).toEqual({ username: 'auditor', via: 'basic', groups: [] });
      expect(res.headers['set-cookie']).toBeUndefined();
    });

    it('refuses wrong credentials with 401 and the challenge', async () => {
      keep(basic(DEMO.username, 'wrong-basic-password').slice(6));
      const res = await h.http.get('/api/audit/me').set('Authorization', basic(DEMO.username, 'wrong-basic-password')).expect(401);
      expect(res.headers['www-authenticate']).toBe(CHALLENGE);
      expect(res.body).toMatchObject({ statusCode: 401, message: 'User name or password is wrong' });
    });

    it('is not a way into pages', async () => {
      const res = await h.http.get('/audit/probe').set('Authorization', basic(DEMO.username, DEMO.password)).expect(303);
      expect(res.headers.location).toBe('/audit/sign-in?next=%2Faudit%2Fprobe');
    });
  });

  describe('launch and audit cookies stay apart', () => {
    it('a launch session never grants audit access', async () => {
      const ids = await sandboxIds(h);
      const launch = await openLaunch(h, signedUrl(h, 4, v4Params(h, ids, 'ENTRY')));
      const launchCookie = cookieOf(launch.redirect, 'clc_launch')!.value;
      keep(launchCookie);
      // The launch window's own agent, and its secret offered under every name.
      await launch.agent.get('/api/audit/me').expect(401);
      await h.http.get('/api/audit/me').set('Cookie', `clc_launch=${launchCookie}; clc_audit=${launchCookie}`).expect(401);
      const page = await h.http.get('/audit/probe').set('Cookie', `clc_audit=${launchCookie}`).expect(303);
      expect(page.headers.location).toMatch(/^\/audit\/sign-in/);
    });

    it('an auditor session never opens a launch window or the sandbox Concur API', async () => {
      const { res } = await signIn(DEMO.username, DEMO.password);
      const auditCookie = cookieOf(res, 'clc_audit')!.value;
      const ids = await sandboxIds(h);
      const redirect = await h.http.get(signedUrl(h, 4, v4Params(h, ids, 'ENTRY'))).expect(303);
      const location = redirect.headers.location as string;
      await h.http.get(location).set('Cookie', `clc_audit=${auditCookie}; clc_launch=${auditCookie}`).expect(403);
      const entry = `/sandbox/concur/api/v3.0/expense/entries/${encodeURIComponent(ids.entryIds[0])}`;
      await h.http.get(entry).set('Cookie', `clc_audit=${auditCookie}`).expect(401);
    });
  });

  describe('the audit log', () => {
    it('records sign-ins with who, why a failure failed, and the request', async () => {
      const ok = await signIn(DEMO.username, DEMO.password);
      const failed = await signIn(DEMO.username, keep('wrong-for-the-log-1'));
      const signIns = await events('audit.sign_in');
      expect(signIns.find((e) => e.correlationId === ok.res.headers['x-request-id'])).toMatchObject({
        outcome: 'success',
        actingUser: 'auditor',
        reason: null,
        clientIp: expect.stringMatching(/127\.0\.0\.1/),
        userAgent: 'audit-access-e2e',
      });
      expect(signIns.find((e) => e.correlationId === failed.res.headers['x-request-id'])).toMatchObject({
        outcome: 'failure',
        actingUser: 'auditor',
        reason: 'wrong user name or password',
      });
      expect(signIns.some((e) => e.outcome === 'failure' && e.actingUser === 'nobody.at.all')).toBe(true);
      expect(signIns.some((e) => e.reason === 'locked: too many failed sign-ins' && e.actingUser === LOCKED.username)).toBe(true);
      expect(signIns.some((e) => e.reason === 'locked: too many failed sign-ins (HTTP Basic)')).toBe(true);
      expect(signIns.some((e) => e.reason === 'wrong user name or password (HTTP Basic)')).toBe(true);
      const all = JSON.stringify(await h.audit.latest(1000));
      for (const secret of secrets) expect(all).not.toContain(secret);
      await expect(h.audit.verify()).resolves.toMatchObject({ intact: true });
    });
  });

  it('writes no password, session id or CSRF token to the logs', () => {
    expect(lines.length).toBeGreaterThan(50);
    expect(lines.some((l) => l.includes('/audit/sign-in'))).toBe(true);
    const leaks = [...secrets].filter((secret) => lines.some((line) => line.includes(secret)));
    expect(leaks).toEqual([]);
  });
});

describe('the demo auditor, outside production', () => {
  const DEMO_NOT_LOCAL =
    'The demo auditor signs in only from this machine; add your own auditor with `concur-launch-connector hash-password` (audit.auditors).';
  let h: Harness;
  beforeAll(async () => {
    // Behind one proxy: the client address is the one the proxy adds to X-Forwarded-For.
    h = await startApp({ server: { trustProxy: 1 } });
  });
  afterAll(() => h.close());

  async function signInFrom(from: string | undefined, username: string, password: string) {
    const agent = request.agent(h.origin);
    const page = await agent.get('/audit/sign-in').expect(200);
    const post = agent.post('/audit/sign-in').type('form');
    return (from === undefined ? post : post.set('X-Forwarded-For', from)).send({ username, password, csrf: csrfOf(page.text) });
  }

  it('signs in from this machine: no proxy, or a proxy that says the client is loopback', async () => {
    expect((await signInFrom(undefined, DEMO.username, DEMO.password)).status).toBe(303);
    expect((await signInFrom('127.0.0.1', DEMO.username, DEMO.password)).status).toBe(303);
    expect((await signInFrom('::1', DEMO.username, DEMO.password)).status).toBe(303);
    await h.http.get('/api/audit/me').set('X-Forwarded-For', '::ffff:127.0.0.1').set('Authorization', basic(DEMO.username, DEMO.password)).expect(200);
  });

  it('is refused from another address on the form and on the API, with what to do, and audited as a failed sign-in', async () => {
    const form = await signInFrom('203.0.113.7', DEMO.username, DEMO.password);
    expect(form.status).toBe(403);
    expect(form.headers['content-type']).toMatch(/text\/html/);
    expect(form.text).toContain('The demo auditor signs in only from this machine; add your own auditor with');
    expect(form.text).toContain('hash-password');
    expect(cookieOf(form, 'clc_audit')).toBeUndefined();

    // A forged X-Forwarded-For entry before the proxy's does not make a request local.
    const api = await h.http
      .get('/api/audit/me')
      .set('X-Forwarded-For', '127.0.0.1, 2001:db8::7')
      .set('Authorization', basic(DEMO.username, DEMO.password))
      .expect(403);
    expect(api.body).toMatchObject({ statusCode: 403, message: DEMO_NOT_LOCAL, correlationId: api.headers['x-request-id'] });

    const signIns = (await h.audit.latest(50)).filter((e) => e.type === 'audit.sign_in');
    expect(signIns.find((e) => e.correlationId === form.headers['x-request-id'])).toMatchObject({
      outcome: 'failure',
      actingUser: 'auditor',
      reason: 'demo auditor refused: signs in only from this machine',
      clientIp: '203.0.113.7',
    });
    expect(signIns.find((e) => e.correlationId === api.headers['x-request-id'])).toMatchObject({
      outcome: 'failure',
      reason: 'demo auditor refused: signs in only from this machine (HTTP Basic)',
      clientIp: '2001:db8::7',
    });
  });

  it('a wrong password from afar is only wrong (401): the refusal tells nothing a guess could use', async () => {
    expect((await signInFrom('203.0.113.8', DEMO.username, 'not-the-demo-password')).status).toBe(401);
  });
});

describe('trusted-header sign-in', () => {
  const proxyHeaders = { 'X-Forwarded-User': 'sam@example.com', 'X-Forwarded-Groups': 'staff,auditors' };

  describe('from a configured proxy (127.0.0.1)', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startApp({ audit: { trustedHeader: { enabled: true, proxies: ['127.0.0.1/32', '::1'], auditorGroups: ['auditors'] } } });
    });
    afterAll(() => h.close());

    it('takes the user and groups from the headers', async () => {
      const res = await h.http.get('/api/audit/me').set(proxyHeaders).expect(200);
      expect(res.body).toEqual({ username: 'sam@example.com', via: 'header', groups: ['staff', 'auditors'] });
    });

    it('refuses a user outside the auditor groups with 403 "not an auditor"', async () => {
      const res = await h.http.get('/api/audit/me').set({ 'X-Forwarded-User': 'eve@example.com', 'X-Forwarded-Groups': 'staff' }).expect(403);
      expect(res.body).toMatchObject({ statusCode: 403, message: expect.stringContaining('not an auditor') });
    });

    it('without the user header, the other ways in still apply', async () => {
      await h.http.get('/api/audit/me').expect(401);
      await h.http.get('/api/audit/me').set('Authorization', basic(DEMO.username, DEMO.password)).expect(200);
    });
  });

  describe('from an address that is not a configured proxy', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startApp({
        server: { trustProxy: 'loopback' },
        audit: { trustedHeader: { enabled: true, proxies: ['10.0.0.0/8'] } },
      });
    });
    afterAll(() => h.close());

    it('ignores the headers, even with an X-Forwarded-For naming a proxy', async () => {
      await h.http.get('/api/audit/me').set(proxyHeaders).expect(401);
      await h.http.get('/api/audit/me').set({ ...proxyHeaders, 'X-Forwarded-For': '10.1.2.3' }).expect(401);
    });
  });
});
