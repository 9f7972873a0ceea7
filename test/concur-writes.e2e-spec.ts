import { Kysely } from 'kysely';
import request from 'supertest';
import { SecretBox } from '../src/concur/secret-box.js';
import { TokenRepository } from '../src/concur/token.repository.js';
import { seedHash } from '../src/concur/token.service.js';
import { DB } from '../src/database/database.tokens.js';
import type { Database } from '../src/database/database.types.js';
import { csrfOf, openLaunch, referenceOf, sandboxIds, signedUrl, startApp, v1Params, v4Params, type Harness, type SandboxIds } from './harness.js';

interface Recorded {
  method: string;
  path: string;
  status: number;
  principal: string | null;
  correlationId: string | null;
}

interface CustomDatum {
  id: string;
  value: string | null;
}

/**
 * Every save the popup makes, through the real app, against the sandbox that refuses what
 * Concur's pages say Concur refuses (the same contract schemas, the documented error bodies,
 * single-use refresh tokens, tokens bound to their geolocation, user tokens confined to their user).
 */
describe("saves in the shapes Concur documents, against the strict sandbox", () => {
  let h: Harness;
  let ids: SandboxIds;

  beforeAll(async () => {
    h = await startApp();
    ids = await sandboxIds(h);
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    await h.http.post('/sandbox/api/reset').set('Content-Type', 'application/json').send('{}').expect(200);
  });

  async function state() {
    return (await h.http.get('/sandbox/api/state').expect(200)).body as {
      entries: Array<Record<string, { Value: string | null } | string>>;
      reports: Array<{
        report: { reportId: string; approvalStatusId: string; customData: CustomDatum[] };
        expenses: Array<{ expenseId: string; customData: CustomDatum[] }>;
        allocations: Array<{ allocationId: string; expenseId: string; customData: CustomDatum[] }>;
      }>;
      requests: Recorded[];
      tokenRequests: number;
    };
  }

  const valueOf = (item: { customData: CustomDatum[] }, id: string) => item.customData.find((d) => d.id === id)?.value ?? null;

  /** The writes (PUT/PATCH) the sandbox received, oldest first. */
  async function writes(): Promise<Recorded[]> {
    return (await state()).requests.filter((r) => r.method !== 'GET' && !r.path.includes('/oauth2/')).reverse();
  }

  async function save(url: string, code: string) {
    const { agent, location, page, id } = await openLaunch(h, url);
    const done = await agent.post(`${location}/select`).type('form').send({ csrf: csrfOf(page.text), code });
    return { done, id, agent, location };
  }

  /** A URL the sandbox's own launcher signs: it carries a client_auth_code for the demo user. */
  async function launcherUrl(level: 'HEADER' | 'ENTRY' | 'ALLOCATION', id: string): Promise<string> {
    const { url } = (await h.http.get('/sandbox/api/launch-url').query({ version: '4', level, id }).expect(200)).body as { url: string };
    expect(url).toContain('client_auth_code=');
    return url;
  }

  function v4Url(level: 'HEADER' | 'ENTRY' | 'ALLOCATION', itemPath: string, extra: Record<string, string> = {}) {
    const itemUrl = `${h.origin}/sandbox/concur/expensereports/v4/users/${ids.userId}/context/TRAVELER/reports/${itemPath}`;
    return signedUrl(h, 4, v4Params(h, ids, level, { item_url: itemUrl, ...extra }));
  }

  it('v1: a PUT of the plain string into the v3 entry', async () => {
    const { done } = await save(signedUrl(h, 1, v1Params(h, ids.entryIds[0])), 'PRJ-1001');
    expect(done.status).toBe(200);
    const entry = (await state()).entries.find((e) => e.ID === ids.entryIds[0])!;
    expect(entry.Custom1).toMatchObject({ Value: 'PRJ-1001' });
    expect((await writes()).map((w) => [w.method, w.status, w.principal])).toEqual([['PUT', 200, 'company']]);
  });

  it('v4 header: PATCH with reportSource, 204', async () => {
    const { done } = await save(v4Url('HEADER', 'SBXR1'), 'PRJ-1002');
    expect(done.status).toBe(200);
    expect(valueOf((await state()).reports[0].report, 'custom9')).toBe('PRJ-1002');
    expect((await writes()).map((w) => [w.method, w.path, w.status])).toEqual([
      ['PATCH', `/sandbox/concur/expensereports/v4/users/${ids.userId}/context/TRAVELER/reports/SBXR1`, 204],
    ]);
  });

  it('v4 expense in an unsubmitted report: the user-context path', async () => {
    const { done } = await save(v4Url('ENTRY', 'SBXR1/expenses/SBXX1'), 'PRJ-1003');
    expect(done.status).toBe(200);
    const report = (await state()).reports[0];
    expect(report.report.approvalStatusId).toBe('A_NOTF');
    expect(valueOf(report.expenses.find((e) => e.expenseId === 'SBXX1')!, 'custom9')).toBe('PRJ-1003');
    expect((await writes()).map((w) => w.path)).toEqual([`/sandbox/concur/expensereports/v4/users/${ids.userId}/context/TRAVELER/reports/SBXR1/expenses/SBXX1`]);
  });

  it('v4 expense in a submitted report: the submitted-report path, chosen from the status Concur reports', async () => {
    const { done, id } = await save(v4Url('ENTRY', 'SBXR2/expenses/SBXX3'), 'PRJ-1004');
    expect(done.status).toBe(200);
    const report = (await state()).reports[1];
    expect(report.report.approvalStatusId).toBe('A_PEND');
    expect(valueOf(report.expenses[0], 'custom9')).toBe('PRJ-1004');
    expect((await writes()).map((w) => [w.path, w.status])).toEqual([['/sandbox/concur/expensereports/v4/reports/SBXR2/expenses/SBXX3', 204]]);
    expect((await h.audit.eventsOfLaunch(id)).map((e) => e.type)).toEqual(['launch.accepted', 'update.requested', 'update.succeeded']);
  });

  it('v4 allocation: {"allocation":{customData}, "expenseIds"} with the expense Concur names', async () => {
    const { done } = await save(v4Url('ALLOCATION', 'SBXR1/allocations/SBXA1', { expense_ids: 'SBXX1' }), 'PRJ-1005');
    expect(done.status).toBe(200);
    const allocation = (await state()).reports[0].allocations.find((a) => a.allocationId === 'SBXA1')!;
    expect(valueOf(allocation, 'custom9')).toBe('PRJ-1005');
    expect((await writes()).map((w) => [w.method, w.status])).toEqual([['PATCH', 204]]);
  });

  it("v4 allocation whose expense is not among the launch's expense_ids: a 400 page, audited, nothing written", async () => {
    const url = v4Url('ALLOCATION', 'SBXR1/allocations/SBXA1', { expense_ids: 'SBXX2' });
    const agent = request.agent(h.origin);
    const redirect = await agent.get(url).expect(303);
    const page = await agent.get(redirect.headers.location as string).expect(400);
    expect(page.text).toContain('belongs to another expense');
    expect(referenceOf(page.text)).toBeDefined();
    const launchId = (redirect.headers.location as string).split('/').pop()!;
    const events = await h.audit.eventsOfLaunch(launchId);
    expect(events.map((e) => e.type)).toEqual(['launch.accepted', 'launch.rejected']);
    expect(events[1].reason).toMatch(/expense_ids \(SBXX2\) do not include the allocation's expense SBXX1/);
    expect(await writes()).toEqual([]);
  });

  it.each([
    ['HEADER', 'SBXR2'],
    ['ALLOCATION', 'SBXR2/allocations/SBXA3'],
  ] as const)('%s of a submitted report: Concur refuses, and its own words reach the audit and the page', async (level, path) => {
    const { done, id } = await save(v4Url(level, path, level === 'ALLOCATION' ? { expense_ids: 'SBXX3' } : {}), 'PRJ-1006');
    expect(done.status).toBe(502);
    expect(done.text).toContain('Concur said:');
    const failed = (await h.audit.eventsOfLaunch(id)).at(-1)!;
    expect(failed.type).toBe('update.failed');
    expect(failed.reason).toMatch(/HTTP 400/);
    expect(failed.reason).toMatch(/submitted/i);
  });

  describe("as the user, with the launch's client_auth_code", () => {
    it.each([
      ['HEADER', 'SBXR1'],
      ['ENTRY', 'SBXX1'],
      ['ENTRY', 'SBXX3'],
      ['ALLOCATION', 'SBXA1'],
    ] as const)('%s %s: read and written with the user token', async (level, itemId) => {
      const { done, id } = await save(await launcherUrl(level, itemId), 'PRJ-1007');
      expect(done.status).toBe(200);
      const calls = (await state()).requests.filter((r) => !r.path.includes('/oauth2/'));
      expect(calls.length).toBeGreaterThanOrEqual(2);
      expect(new Set(calls.map((c) => c.principal))).toEqual(new Set([`user:${ids.userId}`]));
      const events = await h.audit.eventsOfLaunch(id);
      expect(events[0]).toMatchObject({ type: 'launch.accepted', reason: expect.stringMatching(/^as the user/) });
      expect(events[1]).toMatchObject({ type: 'update.requested', reason: 'as the user' });
    });

    it('an unknown code falls back to the company token (preferred) and the audit says why', async () => {
      const { done, id } = await save(v4Url('ENTRY', 'SBXR1/expenses/SBXX1', { client_auth_code: 'not-issued-by-concur' }), 'PRJ-1008');
      expect(done.status).toBe(200);
      const accepted = (await h.audit.eventsOfLaunch(id))[0];
      expect(accepted.reason).toMatch(/^company token \(client_auth_code not exchanged: .*code 103/);
      expect(new Set((await writes()).map((w) => w.principal))).toEqual(new Set(['company']));
    });

    it('required: a launch without a code is refused with a 401 page and audited; one with a good code opens', async () => {
      const oauth = h.config.tenants[0].oauth;
      oauth.userTokens = 'required';
      try {
        const refused = await request(h.origin).get(v4Url('ENTRY', 'SBXR1/expenses/SBXX1')).expect(401);
        expect(refused.text).toContain('Concur did not confirm who you are');
        const reference = referenceOf(refused.text)!;
        const events = await h.audit.search({ correlationId: reference }, 10);
        expect(events.events.map((e) => [e.type, e.reason])).toEqual([
          ['launch.rejected', 'oauth.userTokens is required and the launch carried no client_auth_code'],
        ]);
        await openLaunch(h, await launcherUrl('ENTRY', 'SBXX1'));
      } finally {
        oauth.userTokens = 'preferred';
      }
    });

    it("the launcher's URL cannot be replayed (its nonce), so its code is never offered twice", async () => {
      const url = await launcherUrl('ENTRY', 'SBXX1');
      await openLaunch(h, url);
      await request(h.origin).get(url).expect(401);
    });
  });

  describe('tokens as the docs say', () => {
    it("follows the token's geolocation: refreshes and API calls at the sandbox's second origin", async () => {
      await save(signedUrl(h, 1, v1Params(h, ids.entryIds[0])), 'PRJ-1009');
      const geo = `http://localhost:${new URL(h.origin).port}/sandbox/concur`;
      const row = await new TokenRepository(h.app.get<Kysely<Database>>(DB)).find('sandbox');
      expect(row?.geolocation).toBe(geo);
      // The sandbox binds its tokens to that origin: had the connector ignored it, every call would be a 401.
      expect((await writes()).map((w) => w.status)).toEqual([200]);
    });

    it('the rotated refresh token is used next time; the one it replaced is dead (108 if used again)', async () => {
      const tokens = new TokenRepository(h.app.get<Kysely<Database>>(DB));
      const box = h.app.get(SecretBox);
      await save(signedUrl(h, 1, v1Params(h, ids.entryIds[0])), 'PRJ-1010');
      const replaced = box.open((await tokens.find('sandbox'))!.refresh_token_enc);
      const before = (await state()).tokenRequests;
      await h.http.post('/sandbox/api/faults').set('Content-Type', 'application/json').send({ expireTokens: true }).expect(200);
      const { done } = await save(signedUrl(h, 1, v1Params(h, ids.entryIds[1])), 'PRJ-1011');
      expect(done.status).toBe(200);
      expect((await state()).tokenRequests).toBe(before + 1);
      const row = (await tokens.find('sandbox'))!;
      expect(box.open(row.refresh_token_enc)).not.toBe(replaced);
      // Concur (and the sandbox) take a refresh token once: the one replaced is dead now.
      const tenant = h.config.tenants[0];
      const reused = await request(new URL(row.geolocation!).origin)
        .post('/sandbox/concur/oauth2/v0/token')
        .type('form')
        .send({ grant_type: 'refresh_token', client_id: tenant.oauth.clientId, client_secret: tenant.oauth.clientSecret, refresh_token: replaced })
        .expect(400);
      expect(reused.body).toMatchObject({ code: 108, error: 'invalid_grant' });
    });

    it('renews once on a 403 "expired or revoked" and the save succeeds', async () => {
      const { agent, location, page, id } = await openLaunch(h, signedUrl(h, 1, v1Params(h, ids.entryIds[0])));
      await h.http.post('/sandbox/api/faults').set('Content-Type', 'application/json').send({ revokeTokens: true }).expect(200);
      await agent.post(`${location}/select`).type('form').send({ csrf: csrfOf(page.text), code: 'PRJ-1012' }).expect(200);
      const statuses = (await state()).requests.filter((r) => r.method === 'PUT').reverse().map((r) => r.status);
      expect(statuses).toEqual([403, 200]);
      expect((await h.audit.eventsOfLaunch(id)).at(-1)?.type).toBe('update.succeeded');
    });

    it('a dead company refresh token (108): a clear page for the user and a metric (the admin line: token.service.spec)', async () => {
      // As if the stored refresh token had been revoked in Concur.
      const box = h.app.get(SecretBox);
      await new TokenRepository(h.app.get<Kysely<Database>>(DB)).save({
        tenant_id: 'sandbox',
        refresh_token_enc: box.seal('sbxrt.revoked.token'),
        seed_hash: seedHash(h.config.tenants[0].oauth.refreshToken),
        updated_at: new Date().toISOString(),
        geolocation: null,
      });
      await h.http.post('/sandbox/api/faults').set('Content-Type', 'application/json').send({ expireTokens: true }).expect(200);
      // The connector's cached token is still valid in its eyes: a refusal makes it refresh.
      const agent = request.agent(h.origin);
      const redirect = await agent.get(signedUrl(h, 1, v1Params(h, ids.entryIds[0]))).expect(303);
      const page = await agent.get(redirect.headers.location as string);
      expect(page.status).toBe(502);
      expect(page.text).toContain("The connector&#x27;s access to Concur has expired");
      expect(referenceOf(page.text)).toBeDefined();
      const metrics = await h.http.get('/metrics').expect(200);
      expect(metrics.text).toMatch(/clc_concur_oauth_refusals_total\{tenant="sandbox",code="108"\} 1/);
    });
  });

  describe('the sandbox behind the real app refuses what Concur refuses', () => {
    beforeEach(async () => {
      // The connector may have redeemed the seed already; a reset revives it.
      await h.http.post('/sandbox/api/reset').set('Content-Type', 'application/json').send('{}').expect(200);
    });

    async function companyToken(): Promise<{ token: string; geo: string }> {
      const tenant = h.config.tenants[0];
      const res = await h.http
        .post('/sandbox/concur/oauth2/v0/token')
        .type('form')
        .send({ grant_type: 'refresh_token', client_id: tenant.oauth.clientId, client_secret: tenant.oauth.clientSecret, refresh_token: tenant.oauth.refreshToken })
        .expect(200);
      expect(typeof res.body.expires_in).toBe('string');
      return { token: res.body.access_token as string, geo: res.body.geolocation as string };
    }

    it('the old wrong bodies get 400 with a documented error body', async () => {
      const { token, geo } = await companyToken();
      const api = request(new URL(geo).origin);
      const v3 = await api
        .put(`/sandbox/concur/api/v3.0/expense/entries/${encodeURIComponent(ids.entryIds[0])}`)
        .set('Authorization', `Bearer ${token}`)
        .send({ Custom1: { Value: 'PRJ-1001' } })
        .expect(400);
      expect(v3.body.Error.Message).toEqual(expect.any(String));
      const expense = await api
        .patch(`/sandbox/concur/expensereports/v4/users/${ids.userId}/context/TRAVELER/reports/SBXR1/expenses/SBXX1`)
        .set('Authorization', `Bearer ${token}`)
        .send({ customData: [{ id: 'custom9', value: 'PRJ-1001', isValid: true }] })
        .expect(400);
      expect(expense.body).toMatchObject({ errorMessage: expect.any(String), httpStatus: expect.stringMatching(/^400/), validationErrors: expect.any(Array) });
      const malformed = await api
        .patch(`/sandbox/concur/expensereports/v4/users/${ids.userId}/context/TRAVELER/reports/SBXR1`)
        .set('Authorization', `Bearer ${token}`)
        .set('Content-Type', 'application/json')
        .send('{"customData": [')
        .expect(400);
      expect(malformed.body).toMatchObject({ errorMessage: expect.any(String), path: expect.any(String), timestamp: expect.any(String) });
    });
  });
});
