import request from 'supertest';
import { SessionStore } from '../src/auth/session.store.js';
import { openLaunch, referenceOf, sandboxIds, signedUrl, startApp, v1Params, v4Params, type Harness, type SandboxIds } from './harness.js';

describe('Test Connection', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApp();
  });
  afterAll(() => h.close());

  const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

  it('answers 200 to the tenant credentials', async () => {
    const { username, password } = h.config.tenants[0].connector;
    await h.http.get('/system/v1.0/testconnection').set('Authorization', basic(username, password)).expect(200);
  });

  it.each([
    ['a wrong password', basic('SandboxConnector', 'wrong-password')],
    ['a wrong username', basic('SomeoneElse', 'sandbox-connector-password')],
    ['no colon', `Basic ${Buffer.from('nocolon').toString('base64')}`],
    ['not base64', 'Basic ***'],
    ['another scheme', 'Bearer abc'],
  ])('answers 401 with WWW-Authenticate to %s', async (_name, header) => {
    const res = await h.http.get('/system/v1.0/testconnection').set('Authorization', header).expect(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic /);
    expect(res.body).toMatchObject({ statusCode: 401, correlationId: res.headers['x-request-id'] });
  });

  it('answers 401 with WWW-Authenticate to a missing header', async () => {
    const res = await h.http.get('/system/v1.0/testconnection').expect(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic /);
  });
});

describe('launch session', () => {
  let h: Harness;
  let ids: SandboxIds;
  beforeAll(async () => {
    h = await startApp();
    ids = await sandboxIds(h);
  });
  afterAll(() => h.close());

  const launched = () => openLaunch(h, signedUrl(h, 4, v4Params(h, ids, 'ENTRY')));

  it('sends a strict CSP, no-referrer and no inline script without a nonce', async () => {
    const { page } = await launched();
    const csp = page.headers['content-security-policy'];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+'/);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.text).not.toMatch(/<script(?![^>]*nonce=)[^>]*>/);
    expect(page.text).not.toMatch(/ on[a-z]+="/);
  });

  it('refuses the session page without the launch cookie (403)', async () => {
    const { location } = await launched();
    const res = await h.http.get(location).expect(403);
    expect(referenceOf(res.text)).toBeDefined();
  });

  it('refuses a POST with a wrong CSRF token (403) and writes nothing', async () => {
    const { agent, location, id } = await launched();
    await agent.post(`${location}/select`).type('form').send({ csrf: 'forged', code: 'PRJ-1001' }).expect(403);
    await agent.post(`${location}/select`).type('form').send({ code: 'PRJ-1001' }).expect(403);
    expect((await h.audit.eventsOfLaunch(id)).map((e) => e.type)).toEqual(['launch.accepted']);
  });

  it('refuses a value that is not in the lookup source (400) before calling Concur', async () => {
    const { agent, location, csrf, id } = await launched();
    const res = await agent.post(`${location}/select`).type('form').send({ csrf, code: 'NOT-A-CODE' }).expect(400);
    expect(res.text).toContain('That value is not in the list');
    expect((await h.audit.eventsOfLaunch(id)).map((e) => e.type)).toEqual(['launch.accepted']);
  });

  it('refuses a value over 48 characters with a clear message before any call', async () => {
    const { agent, location, csrf, id } = await launched();
    const res = await agent.post(`${location}/select`).type('form').send({ csrf, code: 'X'.repeat(49) }).expect(400);
    expect(res.text).toContain('at most 48 characters');
    expect((await h.audit.eventsOfLaunch(id)).map((e) => e.type)).toEqual(['launch.accepted']);
  });

  it('shows the expired page (410) once the session has expired', async () => {
    const { agent, location, id } = await launched();
    const store = h.app.get(SessionStore);
    const session = (await store.get(id))!;
    await store.set({ ...session, expiresAt: Date.now() - 1 });
    const res = await agent.get(location).expect(410);
    expect(res.text).toContain('This window has expired');
  });

  it('answers an unknown session id with 410 and a malformed one with 404', async () => {
    const agent = request.agent(h.origin);
    await agent.get('/launch/s/AAAAAAAAAAAAAAAAAAAAAA').expect(410);
    await agent.get('/launch/s/not-an-id').expect(404);
  });

  it('answers a malformed form body with 400, not 500', async () => {
    const { agent, location } = await launched();
    const res = await agent.post(`${location}/select`).set('Content-Type', 'application/json').send('{"csrf": ').expect(400);
    expect(referenceOf(res.text)).toBeDefined();
  });

  it('answers an oversized form body with 413', async () => {
    const { agent, location, csrf } = await launched();
    await agent.post(`${location}/select`).type('form').send({ csrf, code: 'x'.repeat(40_000) }).expect(413);
  });

  it('answers unknown paths with a 404 page and API paths with JSON', async () => {
    const page = await h.http.get('/nowhere').expect(404);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const api = await h.http.get('/system/v1.0/nothing').expect(404);
    expect(api.body).toMatchObject({ statusCode: 404 });
  });

  it('makes its own correlation ID when X-Request-Id does not come from a trusted proxy, and never echoes an unsafe one', async () => {
    // Taking the header from a trusted proxy: test/observability.e2e-spec.ts.
    const ok = await h.http.get('/nowhere').set('X-Request-Id', 'abc-123').expect(404);
    expect(ok.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const bad = await h.http.get('/nowhere').set('X-Request-Id', '<script>').expect(404);
    expect(bad.headers['x-request-id']).not.toBe('<script>');
    expect(bad.text).not.toContain('<script>');
  });

  it('escapes what the query brings back into the page', async () => {
    const { agent, location } = await launched();
    const res = await agent.get(`${location}?q=${encodeURIComponent('"><img src=x>')}`).expect(200);
    expect(res.text).not.toContain('"><img src=x>');
    expect(res.text).toContain('&quot;&gt;&lt;img src&#x3D;x&gt;');
  });

  it('v1 launches work for the second entry too', async () => {
    const agent = request.agent(h.origin);
    const res = await agent.get(signedUrl(h, 1, v1Params(h, ids.entryIds[1]))).expect(303);
    await agent.get(res.headers.location).expect(200);
  });
});

describe('behind a TLS-terminating proxy', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startApp({ server: { trustProxy: 'loopback' } });
  });
  afterAll(() => h.close());

  it('marks the launch cookie Secure when the request came over HTTPS', async () => {
    const ids = await sandboxIds(h);
    const res = await h.http.get(signedUrl(h, 4, v4Params(h, ids, 'ENTRY'))).set('X-Forwarded-Proto', 'https').expect(303);
    expect(String(res.headers['set-cookie'])).toMatch(/;\s*Secure/i);
    expect(res.headers['strict-transport-security']).toMatch(/max-age=/);
  });

  it('does not mark it Secure over plain HTTP', async () => {
    const ids = await sandboxIds(h);
    const res = await h.http.get(signedUrl(h, 4, v4Params(h, ids, 'ENTRY'))).expect(303);
    expect(String(res.headers['set-cookie'])).not.toMatch(/;\s*Secure/i);
  });
});
