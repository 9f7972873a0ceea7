import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { signLaunchParams } from '../auth/signature.js';
import { ConfigModule, ServerAddress, loadConfig, type LoadedConfig } from '../config/index.js';
import { SandboxModule } from './sandbox.module.js';
import { SANDBOX_USER } from './sandbox.store.js';

const root = join(import.meta.dirname, '..', '..');
const expenseUrl = `/sandbox/concur/expensereports/v4/users/${SANDBOX_USER.uuid}/context/TRAVELER/reports/SBXR1/expenses/SBXX1`;

describe(SandboxModule.name, () => {
  let app: NestExpressApplication;
  let base: string;
  let loaded: LoadedConfig;
  let configDir: string;

  beforeAll(async () => {
    // An overlay file with its own lookup data, so the spec does not depend on the sample data's presence.
    configDir = mkdtempSync(join(tmpdir(), 'sandbox-spec-'));
    mkdirSync(join(configDir, 'lookup'));
    writeFileSync(join(configDir, 'lookup', 'projects.csv'), 'code,label\nPRJ-1001,Demo project\n');
    writeFileSync(join(configDir, 'connector.yaml'), 'sandbox:\n  enabled: true\n');
    loaded = loadConfig({ CONNECTOR_CONFIG: join(configDir, 'connector.yaml') });
    const moduleRef = await Test.createTestingModule({ imports: [ConfigModule.forRoot(loaded), SandboxModule] }).compile();
    app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
    app.setBaseViewsDir(join(root, 'views'));
    app.setViewEngine('hbs');
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
    app.get(ServerAddress).set(base);
  });

  afterAll(async () => {
    await app.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await post('/sandbox/api/reset', {});
  });

  const tenant = () => loaded.config.tenants.find((t) => t.oauth.baseUrl === 'sandbox')!;

  function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(base + path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  }

  function tokenRequest(fields: Record<string, string>): Promise<Response> {
    return fetch(`${base}/sandbox/concur/oauth2/v0/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }

  async function grant(refreshToken = tenant().oauth.refreshToken): Promise<Record<string, unknown>> {
    const res = await tokenRequest({
      grant_type: 'refresh_token',
      client_id: tenant().oauth.clientId,
      client_secret: tenant().oauth.clientSecret,
      refresh_token: refreshToken,
    });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }

  async function accessToken(): Promise<string> {
    return (await grant()).access_token as string;
  }

  async function state(): Promise<Record<string, any>> {
    return (await (await fetch(`${base}/sandbox/api/state`)).json()) as Record<string, any>;
  }

  describe('OAuth2 token endpoint', () => {
    it('grants a token for the seed refresh token and rotates the refresh token on every grant', async () => {
      const first = await grant();
      expect(first).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'EXPRPT', geolocation: `${base}/sandbox/concur` });
      expect(first.refresh_token).not.toBe(tenant().oauth.refreshToken);
      const second = await grant(first.refresh_token as string);
      expect(second.refresh_token).not.toBe(first.refresh_token);
      expect(second.access_token).not.toBe(first.access_token);
      expect((await state()).tokenRequests).toBe(2);
    });

    it('answers 401 invalid_client for a wrong client and 400 invalid_grant for a bad token or grant', async () => {
      const { clientId, clientSecret, refreshToken } = tenant().oauth;
      const wrongClient = await tokenRequest({ grant_type: 'refresh_token', client_id: clientId, client_secret: 'nope', refresh_token: refreshToken });
      expect(wrongClient.status).toBe(401);
      expect(await wrongClient.json()).toEqual({ error: 'invalid_client' });
      const badToken = await tokenRequest({ grant_type: 'refresh_token', client_id: clientId, client_secret: clientSecret, refresh_token: 'sbxrt.forged.mac' });
      expect(badToken.status).toBe(400);
      expect(await badToken.json()).toEqual({ error: 'invalid_grant' });
      const badGrant = await tokenRequest({ grant_type: 'password', client_id: clientId, client_secret: clientSecret, refresh_token: refreshToken });
      expect(badGrant.status).toBe(400);
    });
  });

  describe('Expense Reports v4 and Expense Entries v3', () => {
    it('reads and patches a v4 expense with a token, and records the correlation id', async () => {
      const auth = { Authorization: `Bearer ${await accessToken()}` };
      const before = await fetch(base + expenseUrl, { headers: auth });
      expect(before.status).toBe(200);
      expect(await before.json()).toMatchObject({ expenseId: 'SBXX1', expenseType: { name: 'Hotel' } });

      const patch = await fetch(base + expenseUrl, {
        method: 'PATCH',
        headers: { ...auth, 'Content-Type': 'application/json', 'concur-correlationid': 'corr-123' },
        body: JSON.stringify({ customData: [{ id: 'custom9', value: 'PRJ-1001', isValid: true }] }),
      });
      expect(patch.status).toBe(204);
      const after = (await (await fetch(base + expenseUrl, { headers: auth })).json()) as { customData: Array<{ id: string; value: string }> };
      expect(after.customData.find((d) => d.id === 'custom9')?.value).toBe('PRJ-1001');
      expect((await state()).requests).toContainEqual(expect.objectContaining({ method: 'PATCH', path: expenseUrl, correlationId: 'corr-123', status: 204 }));
    });

    it('takes a JSON Merge Patch media type and refuses a value over 48 characters', async () => {
      const headers = { Authorization: `Bearer ${await accessToken()}`, 'Content-Type': 'application/merge-patch+json' };
      const ok = await fetch(base + expenseUrl, { method: 'PATCH', headers, body: JSON.stringify({ customData: [{ id: 'custom9', value: 'PRJ-7' }] }) });
      expect(ok.status).toBe(204);
      const tooLong = await fetch(base + expenseUrl, { method: 'PATCH', headers, body: JSON.stringify({ customData: [{ id: 'custom9', value: 'x'.repeat(49) }] }) });
      expect(tooLong.status).toBe(400);
      expect(await tooLong.json()).toEqual({ errorId: 'invalidRequest', errorMessage: expect.stringContaining('48') });
      const expense = (await state()).expenses[0];
      expect(expense.customData.find((d: { id: string }) => d.id === 'custom9').value).toBe('PRJ-7');
    });

    it('answers 403 for another user and 404 for an unknown expense', async () => {
      const auth = { Authorization: `Bearer ${await accessToken()}` };
      expect((await fetch(base + expenseUrl.replace(SANDBOX_USER.uuid, 'someone'), { headers: auth })).status).toBe(403);
      expect((await fetch(base + expenseUrl.replace('SBXX1', 'SBXX9'), { headers: auth })).status).toBe(404);
    });

    it('reads and updates a v3 entry whose id holds a "$"', async () => {
      const url = `${base}/sandbox/concur/api/v3.0/expense/entries/${encodeURIComponent('SBXE1$a7Kq')}`;
      const auth = { Authorization: `Bearer ${await accessToken()}` };
      const put = await fetch(url, { method: 'PUT', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ Custom1: { Value: 'PRJ-1001' } }) });
      expect(put.status).toBe(200);
      expect(await put.json()).toEqual({ ID: 'SBXE1$a7Kq', URI: url });
      const entry = (await (await fetch(url, { headers: auth })).json()) as { Custom1: { Value: string } };
      expect(entry.Custom1.Value).toBe('PRJ-1001');
      const tooLong = await fetch(url, { method: 'PUT', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ Custom1: { Value: 'x'.repeat(49) } }) });
      expect(tooLong.status).toBe(400);
      expect(await tooLong.json()).toEqual({ Message: expect.stringContaining('48') });
    });

    it('answers 401 invalid_token without a token, with a forged one, and with one issued before expireTokens', async () => {
      const none = await fetch(base + expenseUrl);
      expect(none.status).toBe(401);
      expect(await none.json()).toEqual({ error: 'invalid_token' });
      expect((await fetch(base + expenseUrl, { headers: { Authorization: 'Bearer sbxat.9999999999999.1-ab.forged' } })).status).toBe(401);

      const old = await accessToken();
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect((await post('/sandbox/api/faults', { expireTokens: true })).status).toBe(200);
      expect((await fetch(base + expenseUrl, { headers: { Authorization: `Bearer ${old}` } })).status).toBe(401);
      expect((await fetch(base + expenseUrl, { headers: { Authorization: `Bearer ${await accessToken()}` } })).status).toBe(200);
    });
  });

  describe('fault switches', () => {
    it('answers 503 with Retry-After for the next call, then recovers', async () => {
      const auth = { Authorization: `Bearer ${await accessToken()}` };
      const set = await post('/sandbox/api/faults', { status: 503, retryAfterSeconds: 1 });
      expect(set.status).toBe(200);
      const failed = await fetch(base + expenseUrl, { headers: auth });
      expect(failed.status).toBe(503);
      expect(failed.headers.get('retry-after')).toBe('1');
      expect((await fetch(base + expenseUrl, { headers: auth })).status).toBe(200);
    });

    it('fails a token call with a token-targeted switch', async () => {
      await post('/sandbox/api/faults', { switches: [{ target: 'token', status: 429, retryAfterSeconds: 2 }] });
      const { clientId, clientSecret, refreshToken } = tenant().oauth;
      const res = await tokenRequest({ grant_type: 'refresh_token', client_id: clientId, client_secret: clientSecret, refresh_token: refreshToken });
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('2');
    });

    it('drops the connection without an answer on a reset switch', async () => {
      const auth = { Authorization: `Bearer ${await accessToken()}` };
      await post('/sandbox/api/faults', { reset: true });
      await expect(fetch(base + expenseUrl, { headers: auth })).rejects.toThrow();
      expect((await state()).requests[0]).toMatchObject({ path: expenseUrl, status: 0 });
      expect((await fetch(base + expenseUrl, { headers: auth })).status).toBe(200);
    });

    it('refuses a control POST that is not application/json (415) and a bad switch (400)', async () => {
      const form = await fetch(`${base}/sandbox/api/faults`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'status=503',
      });
      expect(form.status).toBe(415);
      const bad = await post('/sandbox/api/faults', { status: 404 });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(await bad.json())).toContain('status must be one of');
      expect((await state()).faults).toEqual([]);
      expect((await fetch(`${base}/sandbox/api/reset`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' })).status).toBe(415);
    });
  });

  describe('launch', () => {
    it('redirects to a v4 launch whose signature verifies, with the unsigned values Concur sends', async () => {
      const res = await fetch(`${base}/sandbox/launch?version=4&level=ALLOCATION&id=SBXA1&mobile=true&lang=de-DE`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('cache-control')).toBe('no-store');
      const location = res.headers.get('location')!;
      expect(location.startsWith(`${loaded.config.paths.v4Launch}?`)).toBe(true);
      const params = Object.fromEntries(new URLSearchParams(location.split('?')[1]));
      expect(params).toMatchObject({
        company_domain: 'sandbox.example.com',
        logged_in_user_id: SANDBOX_USER.uuid,
        report_owner_user_id: SANDBOX_USER.uuid,
        report_owner_employee_id: 'E1001',
        item_url: `${base}/sandbox/concur/expensereports/v4/users/${SANDBOX_USER.uuid}/context/TRAVELER/reports/SBXR1/allocations/SBXA1`,
        custom_field_launched_from: 'custom9',
        source: 'ALLOCATION',
        expense_ids: 'SBXX1',
        is_mobile: 'true',
        language_code: 'de-DE',
      });
      expect(params.client_auth_code).toMatch(/^[0-9a-f-]{36}$/);
      const { username, password } = tenant().connector;
      const { signature, ...signed } = params;
      expect(signature).toBe(signLaunchParams(4, tenant().launch.v4Algorithm, signed, username, password));
    });

    it('redirects to a v1 launch signed with HMAC-SHA1 whose item URL encodes the "$"', async () => {
      const res = await fetch(`${base}/sandbox/launch?version=1&entry=${encodeURIComponent('SBXE2$b8Lr')}`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      const location = res.headers.get('location')!;
      expect(location.startsWith(`${loaded.config.paths.v1Launch}?`)).toBe(true);
      const params = Object.fromEntries(new URLSearchParams(location.split('?')[1]));
      expect(params.itemurl).toBe(`${base}/sandbox/concur/api/v3.0/expense/entries/SBXE2%24b8Lr`);
      expect(params.xuserid).toBe(SANDBOX_USER.login);
      const { username, password } = tenant().connector;
      const { signature, ...signed } = params;
      expect(signature).toBe(signLaunchParams(1, 'sha1', signed, username, password));
    });

    it('answers 400 in plain text for an unknown version, level or id', async () => {
      for (const query of ['version=2', 'version=4&level=TRIP&id=SBXR1', 'version=4&level=ENTRY&id=nope', 'version=1&entry=nope']) {
        const res = await fetch(`${base}/sandbox/launch?${query}`, { redirect: 'manual' });
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      }
    });

    it('gives tests a signed relative URL, with a fresh nonce each time', async () => {
      const get = async () => ((await (await fetch(`${base}/sandbox/api/launch-url?version=4&level=HEADER&id=SBXR1`)).json()) as { url: string }).url;
      const [a, b] = [await get(), await get()];
      expect(a.startsWith(`${loaded.config.paths.v4Launch}?`)).toBe(true);
      expect(new URLSearchParams(a.split('?')[1]).get('nonce')).not.toBe(new URLSearchParams(b.split('?')[1]).get('nonce'));
      expect((await fetch(`${base}/sandbox/api/launch-url?version=4&level=HEADER&id=other`)).status).toBe(400);
    });
  });

  describe('page', () => {
    it('renders the form with a Launch URL button and value cell for every item, values escaped', async () => {
      const auth = { Authorization: `Bearer ${await accessToken()}`, 'Content-Type': 'application/json' };
      await fetch(base + expenseUrl, { method: 'PATCH', headers: auth, body: JSON.stringify({ customData: [{ id: 'custom9', value: '<script>x</script>' }] }) });
      const res = await fetch(`${base}/sandbox`);
      expect(res.status).toBe(200);
      const html = await res.text();
      for (const testId of [
        'launch-4-HEADER-SBXR1',
        'launch-4-ENTRY-SBXX1',
        'launch-4-ENTRY-SBXX2',
        'launch-4-ALLOCATION-SBXA1',
        'launch-1-ENTRY-SBXE1$a7Kq',
        'launch-1-ENTRY-SBXE2$b8Lr',
        'value-HEADER-SBXR1',
        'value-ALLOCATION-SBXA1',
        'value-ENTRY-SBXE1$a7Kq',
      ]) {
        expect(html).toContain(`data-testid="${testId}"`);
      }
      // Handlebars escapes '=' as &#x3D; and '&' as &amp;; the browser decodes both.
      const hrefs = [...html.matchAll(/<a [^>]*href="([^"]*)"[^>]*data-popup/g)].map((m) => m[1].replaceAll('&#x3D;', '=').replaceAll('&amp;', '&'));
      expect(hrefs).toContain('/sandbox/launch?version=1&entry=SBXE1%24a7Kq');
      expect(hrefs).toContain('/sandbox/launch?version=4&level=ALLOCATION&id=SBXA1');
      expect(hrefs).toHaveLength(6);
      expect(html).toMatch(/data-testid="value-ENTRY-SBXX1">&lt;script&gt;x&lt;\/script&gt;</);
      expect(html).not.toContain('<script>x');
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
      expect(html).not.toMatch(/\sstyle=|\sonclick=/i);
      expect(html).toContain('PATCH');
    });

    it("sends the chosen language and phone flag with every v4 launch; v1 follows the browser; a bad language is English", async () => {
      const hrefsOf = async (query: string) => {
        const html = await (await fetch(`${base}/sandbox${query}`)).text();
        return { html, hrefs: [...html.matchAll(/<a [^>]*href="([^"]*)"[^>]*data-popup/g)].map((m) => m[1].replaceAll('&#x3D;', '=').replaceAll('&amp;', '&')) };
      };
      const chosen = await hrefsOf('?lang=de-CH&mobile=true');
      expect(chosen.hrefs).toContain('/sandbox/launch?version=4&level=ALLOCATION&id=SBXA1&lang=de-CH&mobile=true');
      expect(chosen.hrefs).toContain('/sandbox/launch?version=1&entry=SBXE1%24a7Kq');
      expect(chosen.html).toMatch(/<option value="de-CH" selected>/);
      expect(chosen.html).toMatch(/name="mobile" value="true" checked/);
      const hostile = await hrefsOf(`?lang=${encodeURIComponent('"><script>')}`);
      expect(hostile.hrefs).toContain('/sandbox/launch?version=4&level=ALLOCATION&id=SBXA1');
      expect(hostile.html).toMatch(/<option value="en" selected>/);
      expect(hostile.html).not.toContain('<script>');
    });
  });
});
