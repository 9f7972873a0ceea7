import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { Request, Response as ExpressResponse } from 'express';
import { signLaunchParams } from '../auth/signature.js';
import { bodyParsers } from '../common/body-parsers.js';
import { checkContract, type ContractName } from '../concur/contract/contract.js';
import { ConfigModule, ServerAddress, loadConfig, type LoadedConfig } from '../config/index.js';
import { SandboxModule } from './sandbox.module.js';
import { SandboxOAuth } from './sandbox.oauth.js';
import { SANDBOX_USER } from './sandbox.store.js';

const root = join(import.meta.dirname, '..', '..');
const FIXTURES = join(root, 'test', 'fixtures', 'concur-docs');
const docBody = (file: string): Record<string, any> => JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'));

const user = SANDBOX_USER.uuid;
const reportUrl = (reportId: string) => `/sandbox/concur/expensereports/v4/users/${user}/context/TRAVELER/reports/${reportId}`;
const expenseUrl = `${reportUrl('SBXR1')}/expenses/SBXX1`;
const entryUrl = (id: string) => `/sandbox/concur/api/v3.0/expense/entries/${encodeURIComponent(id)}`;
const submittedRouteUrl = (reportId: string, expenseId: string) => `/sandbox/concur/expensereports/v4/reports/${reportId}/expenses/${expenseId}`;
const OTHER_USER = '9a8b7c6d-0000-4000-8000-000000000001';

type Json = Record<string, any>;

/** Boots the sandbox alone on 127.0.0.1; `parsers`: the connector's app-wide body parsers in front of it, as in the real app. */
async function startSandbox(loaded: LoadedConfig, parsers: boolean): Promise<{ app: NestExpressApplication; main: string; geo: string }> {
  const moduleRef = await Test.createTestingModule({ imports: [ConfigModule.forRoot(loaded), SandboxModule] }).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false, bodyParser: false });
  if (parsers) {
    for (const parser of bodyParsers((err, _req: Request, res: ExpressResponse) => res.status(err.getStatus()).json({ message: err.message }))) app.use(parser);
  }
  app.setBaseViewsDir(join(root, 'views'));
  app.setViewEngine('hbs');
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const main = `http://127.0.0.1:${port}`;
  app.get(ServerAddress).set(main);
  return { app, main, geo: `http://localhost:${port}` };
}

describe(SandboxModule.name, () => {
  let app: NestExpressApplication;
  let main: string;
  let geo: string;
  let loaded: LoadedConfig;
  let configDir: string;

  beforeAll(async () => {
    // An overlay file with its own lookup data, so the spec does not depend on the sample data's presence.
    configDir = mkdtempSync(join(tmpdir(), 'sandbox-spec-'));
    mkdirSync(join(configDir, 'lookup'));
    writeFileSync(join(configDir, 'lookup', 'projects.csv'), 'code,label\nPRJ-1001,Demo project\n');
    writeFileSync(join(configDir, 'connector.yaml'), 'sandbox:\n  enabled: true\n');
    loaded = loadConfig({ CONNECTOR_CONFIG: join(configDir, 'connector.yaml') });
    ({ app, main, geo } = await startSandbox(loaded, false));
  });

  afterAll(async () => {
    await app.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await control('/sandbox/api/reset', {});
  });

  const tenant = () => loaded.config.tenants.find((t) => t.oauth.baseUrl === 'sandbox')!;
  const redirectUri = () => (tenant().oauth as { redirectUri?: string }).redirectUri ?? 'https://connector.example.com';

  function control(path: string, body: unknown): Promise<Response> {
    return fetch(main + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  }

  function tokenRequest(fields: Record<string, string>, at = main): Promise<Response> {
    return fetch(`${at}/sandbox/concur/oauth2/v0/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }

  const client = () => ({ client_id: tenant().oauth.clientId, client_secret: tenant().oauth.clientSecret });
  const refreshFields = (refreshToken: string) => ({ ...client(), grant_type: 'refresh_token', refresh_token: refreshToken });
  const codeFields = (code: string) => ({ ...client(), grant_type: 'authorization_code', code, redirect_uri: redirectUri() });

  /** A body that must pass the named contract. */
  async function contractBody(res: Response, contract: ContractName): Promise<Json> {
    const body = (await res.json()) as Json;
    expect(checkContract(contract, body)).toEqual({ ok: true, errors: [] });
    return body;
  }

  async function granted(res: Response): Promise<Json> {
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    return contractBody(res, 'oauth.TokenResponse');
  }

  async function oauthError(res: Response, status: number, code: number | undefined): Promise<Json> {
    expect(res.status).toBe(status);
    const body = await contractBody(res, 'oauth.Error');
    expect(body.code).toBe(code);
    return body;
  }

  async function v4Error(res: Response, status: number): Promise<Json> {
    expect(res.status).toBe(status);
    const body = await contractBody(res, 'v4.ErrorMessage');
    expect(body.httpStatus).toMatch(new RegExp(`^${status} [A-Z_]+$`));
    expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);
    return body;
  }

  async function v3Error(res: Response, status: number): Promise<Json> {
    expect(res.status).toBe(status);
    return contractBody(res, 'v3.Error');
  }

  /** The company's tokens: the seed refresh token, redeemed at the main origin (it works once per reset). */
  async function companyTokens(): Promise<Json> {
    return granted(await tokenRequest(refreshFields(tenant().oauth.refreshToken)));
  }

  /** The demo user's tokens: a sandbox v4 launch's client_auth_code, exchanged at the main origin. */
  async function userTokens(): Promise<Json> {
    const { url } = (await (await fetch(`${main}/sandbox/api/launch-url?version=4&level=ENTRY&id=SBXX1`)).json()) as { url: string };
    const code = new URLSearchParams(url.split('?')[1]).get('client_auth_code')!;
    return granted(await tokenRequest(codeFields(code)));
  }

  function call(token: string, path: string, init: RequestInit = {}, at = geo): Promise<Response> {
    return fetch(at + path, { ...init, headers: { Authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } });
  }

  function patch(token: string, path: string, body: unknown, contentType = 'application/json', at = geo): Promise<Response> {
    return call(token, path, { method: 'PATCH', headers: { 'Content-Type': contentType }, body: JSON.stringify(body) }, at);
  }

  async function state(): Promise<Json> {
    return (await (await fetch(`${main}/sandbox/api/state`)).json()) as Json;
  }

  const customValue = (item: { customData: Array<{ id: string; value: string | null }> }, id: string) => item.customData.find((d) => d.id === id)?.value;

  describe('OAuth2 token endpoint (apidoc.markdown)', () => {
    it('answers the seed refresh token at the main origin: expires_in a string, the geolocation, no-store', async () => {
      const body = await companyTokens();
      expect(body).toMatchObject({ expires_in: '3600', token_type: 'Bearer', geolocation: `${geo}/sandbox/concur` });
      expect(Number(body.refresh_expires_in)).toBeGreaterThan(Date.now() / 1000 + 179 * 24 * 3600);
      expect(body.refresh_token).not.toBe(tenant().oauth.refreshToken);
      expect((await state()).tokenRequests).toBe(1);
    });

    it('refresh tokens work once, and only at their geolocation: 16 at the main origin, 108 when used again', async () => {
      const first = await companyTokens();
      await oauthError(await tokenRequest(refreshFields(tenant().oauth.refreshToken)), 400, 108);
      const elsewhere = await oauthError(await tokenRequest(refreshFields(first.refresh_token)), 400, 16);
      expect(elsewhere).toMatchObject({ error: 'invalid_request', error_description: 'user lives elsewhere', geolocation: `${geo}/sandbox/concur` });
      const second = await granted(await tokenRequest(refreshFields(first.refresh_token), geo));
      expect(second.access_token).not.toBe(first.access_token);
      expect(await oauthError(await tokenRequest(refreshFields(first.refresh_token), geo), 400, 108)).toMatchObject({ error: 'invalid_grant' });
      await granted(await tokenRequest(refreshFields(second.refresh_token), geo));
    });

    it('answers the documented codes for a missing or wrong client and a missing grant', async () => {
      const { client_id, client_secret } = client();
      await oauthError(await tokenRequest({ client_secret, grant_type: 'refresh_token', refresh_token: 'r' }), 400, 62);
      await oauthError(await tokenRequest({ client_id, grant_type: 'refresh_token', refresh_token: 'r' }), 400, 63);
      await oauthError(await tokenRequest({ client_id, client_secret, refresh_token: 'r' }), 400, 65);
      expect(await oauthError(await tokenRequest({ client_id, client_secret: 'nope', grant_type: 'refresh_token', refresh_token: 'r' }), 401, 64)).toMatchObject({
        error: 'invalid_client',
      });
      await oauthError(await tokenRequest({ client_id, client_secret, grant_type: 'refresh_token' }), 400, 106);
      // A JSON body is no form: none of its fields count.
      const json = await fetch(`${main}/sandbox/concur/oauth2/v0/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(refreshFields('r')),
      });
      await oauthError(json, 400, 62);
    });

    it("exchanges a launch's client_auth_code once for the user's tokens; no redirect_uri is 102, a used code 103", async () => {
      const { url } = (await (await fetch(`${main}/sandbox/api/launch-url?version=4&level=HEADER&id=SBXR1`)).json()) as { url: string };
      const code = new URLSearchParams(url.split('?')[1]).get('client_auth_code')!;
      const { redirect_uri: _, ...noRedirect } = codeFields(code);
      await oauthError(await tokenRequest(noRedirect), 400, 102);
      const body = await granted(await tokenRequest(codeFields(code)));
      expect(body.geolocation).toBe(`${geo}/sandbox/concur`);
      await oauthError(await tokenRequest(codeFields(code)), 400, 103);
      const refreshed = await granted(await tokenRequest(refreshFields(body.refresh_token), geo));
      await call(refreshed.access_token, reportUrl('SBXR1'));
      expect((await state()).requests[0]).toMatchObject({ method: 'GET', status: 200, principal: `user:${user}` });
    });
  });

  describe('Expense Reports v4 and Expense Entries v3', () => {
    it('answers every GET with a body that passes its documented contract', async () => {
      const token = (await companyTokens()).access_token as string;
      const reads: Array<[string, ContractName]> = [
        [reportUrl('SBXR1'), 'v4.ReportDetails'],
        [reportUrl('SBXR2'), 'v4.ReportDetails'],
        [`${reportUrl('SBXR1')}/expenses/SBXX1`, 'v4.ReportExpenseDetail'],
        [`${reportUrl('SBXR1')}/expenses/SBXX2`, 'v4.ReportExpenseDetail'],
        [`${reportUrl('SBXR2')}/expenses/SBXX3`, 'v4.ReportExpenseDetail'],
        [`${reportUrl('SBXR1')}/allocations/SBXA1`, 'v4.ReportAllocationResponse'],
        [`${reportUrl('SBXR1')}/allocations/SBXA2`, 'v4.ReportAllocationResponse'],
        [`${reportUrl('SBXR2')}/allocations/SBXA3`, 'v4.ReportAllocationResponse'],
        [entryUrl('SBXE1$a7Kq'), 'v3.EntryGet'],
        [entryUrl('SBXE2$b8Lr'), 'v3.EntryGet'],
      ];
      for (const [path, contract] of reads) {
        const res = await call(token, path);
        expect(res.status).toBe(200);
        await contractBody(res, contract);
      }
      const report = (await (await call(token, reportUrl('SBXR1'))).json()) as Json;
      expect(report).toMatchObject({ approvalStatusId: 'A_NOTF', approvalStatus: 'Not Submitted', submitDate: null, claimedAmount: { value: 326.4 } });
    });

    it('answers an access token at the main origin with 401: API calls go to the token’s geolocation', async () => {
      const token = (await companyTokens()).access_token as string;
      const v4 = await call(token, expenseUrl, {}, main);
      expect(v4.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect((await v4Error(v4, 401)).errorMessage).toContain(geo);
      await v3Error(await call(token, entryUrl('SBXE1$a7Kq'), {}, main), 401);
      expect((await call(token, expenseUrl)).status).toBe(200);
      await v4Error(await fetch(geo + expenseUrl), 401);
      await v4Error(await call('sbxat.e30.forged', expenseUrl), 401);
    });

    it("accepts the pages' example PATCH bodies, both JSON media types, and records the correlation id and principal", async () => {
      const token = (await companyTokens()).access_token as string;
      const allocation = { ...docBody('v4.allocations.update-allocation.request.json'), expenseIds: ['SBXX1'] };
      const correlated = await call(token, expenseUrl, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json', 'concur-correlationid': 'corr-123' },
        body: JSON.stringify(docBody('v4.expenses.update-unsubmitted-expense.request.json')),
      });
      expect(correlated.status).toBe(204);
      expect(await correlated.text()).toBe('');
      expect((await patch(token, reportUrl('SBXR1'), docBody('v4.reports.update-report.request.json'), 'application/merge-patch+json')).status).toBe(204);
      expect((await patch(token, `${reportUrl('SBXR1')}/allocations/SBXA1`, allocation)).status).toBe(204);
      expect((await patch(token, submittedRouteUrl('SBXR2', 'SBXX3'), docBody('v4.expenses.update-submitted-expense.request.json'))).status).toBe(204);
      const after = await state();
      expect(customValue(after.expenses[0], 'custom9')).toBe('81188b39-605d-2d4f-b80b-43efa84a7b49');
      expect(customValue(after.allocations[0], 'custom9')).toBe('058713001E2CD943824280D9275FDC3F');
      expect(after.requests).toContainEqual(expect.objectContaining({ method: 'PATCH', path: expenseUrl, correlationId: 'corr-123', status: 204, principal: 'company' }));
    });

    it('takes a v3 PUT of custom fields as plain strings: 200 with no body (Void)', async () => {
      const token = (await companyTokens()).access_token as string;
      const put = await call(token, entryUrl('SBXE1$a7Kq'), { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ Custom1: 'PRJ-1001' }) });
      expect(put.status).toBe(200);
      expect(await put.text()).toBe('');
      const entry = await contractBody(await call(token, entryUrl('SBXE1$a7Kq')), 'v3.EntryGet');
      expect(entry.Custom1).toEqual({ Type: 'Text', Value: 'PRJ-1001', Code: null, ListItemID: null });
      const missing = await call(token, entryUrl('SBXE9$zzzz'), { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      expect((await v3Error(missing, 404)).Error).toMatchObject({ Message: 'Expense entry SBXE9$zzzz was not found', Id: expect.any(String) });
      await v3Error(await call(token, entryUrl('SBXE9$zzzz')), 404);
    });

    it('refuses the old wrong bodies with 400 and the documented error bodies', async () => {
      const token = (await companyTokens()).access_token as string;
      const put = await call(token, entryUrl('SBXE1$a7Kq'), { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ Custom1: { Value: 'x' } }) });
      expect((await v3Error(put, 400)).Error.Message).toContain('/Custom1');
      const noSource = await v4Error(await patch(token, expenseUrl, { customData: [{ id: 'custom9', value: 'x' }] }), 400);
      expect(noSource.validationErrors).toContainEqual({ id: '/', message: "must have required property 'expenseSource'", source: 'v4.UpdateReportExpense' });
      const noReportSource = await v4Error(await patch(token, reportUrl('SBXR1'), { customData: [{ id: 'custom9', value: 'x' }] }), 400);
      expect(JSON.stringify(noReportSource.validationErrors)).toContain('reportSource');
      const oldAllocation = await v4Error(await patch(token, `${reportUrl('SBXR1')}/allocations/SBXA1`, { customData: [{ id: 'custom9', value: 'x' }] }), 400);
      expect(JSON.stringify(oldAllocation.validationErrors)).toContain('customData');
      const tooLong = await v4Error(await patch(token, expenseUrl, { customData: [{ id: 'custom9', value: 'x'.repeat(49) }], expenseSource: 'OTHER' }), 400);
      expect(JSON.stringify(tooLong.validationErrors)).toContain('48');
      const wrongExpense = await v4Error(await patch(token, `${reportUrl('SBXR1')}/allocations/SBXA1`, { allocation: { customData: [] }, expenseIds: ['SBXX2'] }), 400);
      expect(wrongExpense.validationErrors[0].message).toContain('SBXX1');
      const after = await state();
      expect(customValue(after.expenses[0], 'custom9')).toBeNull();
      expect(after.entries[0].Custom1.Value).toBeNull();
    });

    it('keeps a submitted report closed except for the submitted-report PATCH of an expense', async () => {
      const token = (await companyTokens()).access_token as string;
      const custom = [{ id: 'custom9', value: 'PRJ-S' }];
      expect((await v4Error(await patch(token, reportUrl('SBXR2'), { customData: custom, reportSource: 'OTHER' }), 400)).errorMessage).toContain('submitted');
      const expense = await v4Error(await patch(token, `${reportUrl('SBXR2')}/expenses/SBXX3`, { customData: custom, expenseSource: 'OTHER' }), 400);
      expect(expense.errorMessage).toContain('PATCH /expensereports/v4/reports/SBXR2/expenses/SBXX3');
      await v4Error(await patch(token, `${reportUrl('SBXR2')}/allocations/SBXA3`, { allocation: { customData: custom }, expenseIds: ['SBXX3'] }), 400);
      expect((await patch(token, submittedRouteUrl('SBXR2', 'SBXX3'), { customData: custom, expenseSource: 'OTHER' })).status).toBe(204);
      expect((await patch(token, submittedRouteUrl('SBXR1', 'SBXX2'), { customData: custom, expenseSource: 'OTHER' })).status).toBe(204);
      await v4Error(await patch(token, submittedRouteUrl('SBXR2', 'SBXX1'), { customData: custom, expenseSource: 'OTHER' }), 404);
      const read = (await (await call(token, `${reportUrl('SBXR2')}/expenses/SBXX3`)).json()) as Json;
      expect(customValue(read as never, 'custom9')).toBe('PRJ-S');
    });

    it('needs a JSON media type, a body of at most 64 KiB and valid JSON', async () => {
      const token = (await companyTokens()).access_token as string;
      const send = (body: string, contentType: string) => call(token, expenseUrl, { method: 'PATCH', headers: { 'Content-Type': contentType }, body });
      await v4Error(await send(JSON.stringify({ expenseSource: 'OTHER' }), 'text/plain'), 415);
      expect((await v4Error(await send('{"expenseSource":', 'application/json'), 400)).errorMessage).toContain('not valid JSON');
      await v4Error(await send('', 'application/merge-patch+json'), 400);
      await v4Error(await send(JSON.stringify({ expenseSource: 'OTHER', comment: 'x'.repeat(70 * 1024) }), 'application/json'), 413);
      await v3Error(await call(token, entryUrl('SBXE1$a7Kq'), { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{' }), 400);
    });

    it("confines a user token to its own user's reports: 403 for another user", async () => {
      const oauth = app.get(SandboxOAuth);
      const otherCode = oauth.issueAuthorizationCode(OTHER_USER);
      const other = (await granted(await tokenRequest(codeFields(otherCode)))).access_token as string;
      await v4Error(await call(other, expenseUrl), 403);
      await v4Error(await call(other, expenseUrl.replace(user, OTHER_USER)), 403);
      await v4Error(await patch(other, submittedRouteUrl('SBXR2', 'SBXX3'), { customData: [], expenseSource: 'OTHER' }), 403);
      await v3Error(await call(other, entryUrl('SBXE1$a7Kq')), 403);
      expect((await state()).requests[0]).toMatchObject({ status: 403, principal: `user:${OTHER_USER}` });

      const own = (await userTokens()).access_token as string;
      expect((await patch(own, expenseUrl, { customData: [{ id: 'custom9', value: 'PRJ-U' }], expenseSource: 'OTHER' })).status).toBe(204);
      expect((await state()).requests[0]).toMatchObject({ method: 'PATCH', status: 204, principal: `user:${user}` });
      expect(await (await fetch(`${main}/sandbox`)).text()).toContain(`as user:${user}`);
    });

    it('answers 401 to tokens issued before expireTokens and 403 "expired or been revoked" to tokens issued before revokeTokens', async () => {
      const first = await companyTokens();
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect((await control('/sandbox/api/faults', { revokeTokens: true })).status).toBe(200);
      expect(await v4Error(await call(first.access_token, expenseUrl), 403)).toMatchObject({
        errorMessage: 'The OAuth token has expired or been revoked',
        httpStatus: '403 FORBIDDEN',
      });
      await v3Error(await call(first.access_token, entryUrl('SBXE1$a7Kq')), 403);
      const second = await granted(await tokenRequest(refreshFields(first.refresh_token), geo));
      expect((await call(second.access_token, expenseUrl)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect((await control('/sandbox/api/faults', { expireTokens: true })).status).toBe(200);
      await v4Error(await call(second.access_token, expenseUrl), 401);
    });
  });

  describe('fault switches', () => {
    it('answers 503 with Retry-After and a documented error body for the next call, then recovers', async () => {
      const token = (await companyTokens()).access_token as string;
      expect((await control('/sandbox/api/faults', { status: 503, retryAfterSeconds: 1 })).status).toBe(200);
      const failed = await call(token, expenseUrl);
      expect(failed.headers.get('retry-after')).toBe('1');
      await v4Error(failed, 503);
      expect((await call(token, expenseUrl)).status).toBe(200);
      await control('/sandbox/api/faults', { status: 500 });
      await v3Error(await call(token, entryUrl('SBXE1$a7Kq')), 500);
    });

    it('fails a token call with a token-targeted switch', async () => {
      await control('/sandbox/api/faults', { switches: [{ target: 'token', status: 429, retryAfterSeconds: 2 }] });
      const res = await tokenRequest(refreshFields(tenant().oauth.refreshToken));
      expect(res.headers.get('retry-after')).toBe('2');
      await oauthError(res, 429, undefined);
      await companyTokens();
    });

    it('drops the connection without an answer on a reset switch', async () => {
      const token = (await companyTokens()).access_token as string;
      await control('/sandbox/api/faults', { reset: true });
      await expect(call(token, expenseUrl)).rejects.toThrow();
      expect((await state()).requests[0]).toMatchObject({ path: expenseUrl, status: 0, principal: null });
      expect((await call(token, expenseUrl)).status).toBe(200);
    });

    it('refuses a control POST that is not application/json (415) and a bad switch (400)', async () => {
      const form = await fetch(`${main}/sandbox/api/faults`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'status=503' });
      expect(form.status).toBe(415);
      const bad = await control('/sandbox/api/faults', { status: 404 });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(await bad.json())).toContain('status must be one of');
      expect((await state()).faults).toEqual([]);
      expect((await fetch(`${main}/sandbox/api/reset`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' })).status).toBe(415);
    });
  });

  describe('launch', () => {
    it('redirects to a v4 launch whose signature verifies, carrying a fresh client_auth_code', async () => {
      const res = await fetch(`${main}/sandbox/launch?version=4&level=ALLOCATION&id=SBXA1&mobile=true&lang=de-DE`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('cache-control')).toBe('no-store');
      const location = res.headers.get('location')!;
      expect(location.startsWith(`${loaded.config.paths.v4Launch}?`)).toBe(true);
      const params = Object.fromEntries(new URLSearchParams(location.split('?')[1]));
      expect(params).toMatchObject({
        company_domain: 'sandbox.example.com',
        logged_in_user_id: user,
        report_owner_user_id: user,
        report_owner_employee_id: 'E1001',
        item_url: `${main}/sandbox/concur/expensereports/v4/users/${user}/context/TRAVELER/reports/SBXR1/allocations/SBXA1`,
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

    it('launches on the submitted report too, with its own item URL', async () => {
      const { url } = (await (await fetch(`${main}/sandbox/api/launch-url?version=4&level=ENTRY&id=SBXX3`)).json()) as { url: string };
      expect(new URLSearchParams(url.split('?')[1]).get('item_url')).toBe(`${main}${reportUrl('SBXR2')}/expenses/SBXX3`);
    });

    it('redirects to a v1 launch signed with HMAC-SHA1 whose item URL encodes the "$"', async () => {
      const res = await fetch(`${main}/sandbox/launch?version=1&entry=${encodeURIComponent('SBXE2$b8Lr')}`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      const location = res.headers.get('location')!;
      expect(location.startsWith(`${loaded.config.paths.v1Launch}?`)).toBe(true);
      const params = Object.fromEntries(new URLSearchParams(location.split('?')[1]));
      expect(params.itemurl).toBe(`${main}/sandbox/concur/api/v3.0/expense/entries/SBXE2%24b8Lr`);
      expect(params.xuserid).toBe(SANDBOX_USER.login);
      expect(params).not.toHaveProperty('client_auth_code');
      const { username, password } = tenant().connector;
      const { signature, ...signed } = params;
      expect(signature).toBe(signLaunchParams(1, 'sha1', signed, username, password));
    });

    it('answers 400 in plain text for an unknown version, level or id', async () => {
      for (const query of ['version=2', 'version=4&level=TRIP&id=SBXR1', 'version=4&level=ENTRY&id=nope', 'version=4&level=HEADER&id=SBXX1', 'version=1&entry=nope']) {
        const res = await fetch(`${main}/sandbox/launch?${query}`, { redirect: 'manual' });
        expect(res.status).toBe(400);
        expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      }
    });

    it('gives tests a signed relative URL, with a fresh nonce and code each time', async () => {
      const get = async () => {
        const { url } = (await (await fetch(`${main}/sandbox/api/launch-url?version=4&level=HEADER&id=SBXR1`)).json()) as { url: string };
        return new URLSearchParams(url.split('?')[1]);
      };
      const [a, b] = [await get(), await get()];
      expect(a.get('nonce')).not.toBe(b.get('nonce'));
      expect(a.get('client_auth_code')).not.toBe(b.get('client_auth_code'));
      expect((await fetch(`${main}/sandbox/api/launch-url?version=4&level=HEADER&id=other`)).status).toBe(400);
    });
  });

  describe('state', () => {
    it('keeps the shape tests read, and adds every report', async () => {
      const s = await state();
      expect(Object.keys(s)).toEqual(
        expect.arrayContaining([
          ...['user', 'userId', 'entries', 'report', 'expenses', 'allocations', 'reports'],
          ...['tokenRequests', 'apiRequests', 'updates', 'requests', 'faults', 'tokenTtlSeconds'],
        ]),
      );
      expect(s.reports.map((r: Json) => r.report.reportId)).toEqual(['SBXR1', 'SBXR2']);
      expect(s.report.reportId).toBe('SBXR1');
    });
  });

  describe('page', () => {
    it('renders every report with a Launch URL button and value cell for every item, values escaped', async () => {
      const token = (await companyTokens()).access_token as string;
      await patch(token, expenseUrl, { customData: [{ id: 'custom9', value: '<script>x</script>' }], expenseSource: 'OTHER' });
      const res = await fetch(`${main}/sandbox`);
      expect(res.status).toBe(200);
      const html = await res.text();
      for (const testId of [
        'launch-4-HEADER-SBXR1',
        'launch-4-ENTRY-SBXX1',
        'launch-4-ENTRY-SBXX2',
        'launch-4-ALLOCATION-SBXA1',
        'launch-4-ALLOCATION-SBXA2',
        'launch-4-HEADER-SBXR2',
        'launch-4-ENTRY-SBXX3',
        'launch-4-ALLOCATION-SBXA3',
        'launch-1-ENTRY-SBXE1$a7Kq',
        'launch-1-ENTRY-SBXE2$b8Lr',
        'value-HEADER-SBXR1',
        'value-ALLOCATION-SBXA1',
        'value-ENTRY-SBXE1$a7Kq',
      ]) {
        expect(html).toContain(`data-testid="${testId}"`);
      }
      expect(html).toMatch(/data-testid="status-SBXR1">Not Submitted</);
      expect(html).toMatch(/data-testid="status-SBXR2">Submitted &amp; Pending Approval</);
      // Handlebars escapes '=' as &#x3D; and '&' as &amp;; the browser decodes both.
      const hrefs = [...html.matchAll(/<a [^>]*href="([^"]*)"[^>]*data-popup/g)].map((m) => m[1].replaceAll('&#x3D;', '=').replaceAll('&amp;', '&'));
      expect(hrefs).toContain('/sandbox/launch?version=1&entry=SBXE1%24a7Kq');
      expect(hrefs).toContain('/sandbox/launch?version=4&level=ALLOCATION&id=SBXA1');
      expect(hrefs).toHaveLength(10);
      expect(html.indexOf('launch-4-ENTRY-SBXX1')).toBeLessThan(html.indexOf('launch-4-ENTRY-SBXX3'));
      expect(new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1])).size).toBe([...html.matchAll(/\sid="([^"]+)"/g)].length);
      expect(html).toMatch(/data-testid="value-ENTRY-SBXX1">&lt;script&gt;x&lt;\/script&gt;</);
      expect(html).not.toContain('<script>x');
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
      expect(html).not.toMatch(/\sstyle=|\sonclick=/i);
      expect(html).toContain('PATCH');
      expect(html).toContain('as company');
    });

    it("sends the chosen language and phone flag with every v4 launch; v1 follows the browser; a bad language is English", async () => {
      const hrefsOf = async (query: string) => {
        const html = await (await fetch(`${main}/sandbox${query}`)).text();
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

  describe("behind the connector's app-wide body parsers", () => {
    let parsed: Awaited<ReturnType<typeof startSandbox>>;

    beforeAll(async () => {
      parsed = await startSandbox(loaded, true);
    });

    afterAll(async () => {
      await parsed.app.close();
    });

    it('reads the form and the JSON they parsed already, and the merge-patch document they leave unread', async () => {
      const token = await granted(await tokenRequest(refreshFields(tenant().oauth.refreshToken), parsed.main));
      const send = (contentType: string, value: string) =>
        patch(token.access_token, expenseUrl, { customData: [{ id: 'custom9', value }], expenseSource: 'OTHER' }, contentType, parsed.geo);
      expect((await send('application/json', 'PRJ-J')).status).toBe(204);
      expect((await send('application/merge-patch+json', 'PRJ-M')).status).toBe(204);
      const after = (await (await fetch(`${parsed.main}/sandbox/api/state`)).json()) as Json;
      expect(customValue(after.expenses[0], 'custom9')).toBe('PRJ-M');
      await v4Error(await patch(token.access_token, expenseUrl, { customData: [] }, 'application/json', parsed.geo), 400);
    });
  });
});
