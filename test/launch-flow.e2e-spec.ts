import { csrfOf, openLaunch, referenceOf, sandboxIds, signedUrl, startApp, v1Params, v4Params, type Harness, type SandboxIds } from './harness.js';

describe('launch to audited field update (sandbox over real HTTP)', () => {
  let h: Harness;
  let ids: SandboxIds;

  beforeAll(async () => {
    h = await startApp();
    ids = await sandboxIds(h);
  });
  afterAll(() => h.close());
  beforeEach(async () => {
    await h.http.post('/sandbox/api/reset').set('Content-Type', 'application/json').send('{}').expect((r) => {
      if (r.status >= 300) throw new Error(`reset failed: ${r.status}`);
    });
  });

  /** Launches, follows the 303 and returns the agent (with the launch cookie) and the session page. */
  async function launch(url: string) {
    const { agent, redirect: res, location, id, page } = await openLaunch(h, url);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers.location).toMatch(/^\/launch\/s\/[A-Za-z0-9_-]{22}$/);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toContain(`Path=${res.headers.location}`);
    return { agent, location, page: page.text, launchId: id };
  }

  async function state() {
    const body = (await h.http.get('/sandbox/api/state').expect(200)).body;
    const byId = <T extends Record<string, unknown>>(list: T[], key: string) => Object.fromEntries(list.map((x) => [x[key], x]));
    return {
      ...body,
      entries: byId(body.entries, 'ID'),
      expenses: byId(body.expenses, 'expenseId'),
      allocations: byId(body.allocations, 'allocationId'),
    };
  }

  function customValue(item: { customData?: Array<{ id: string; value: string | null }> }, id: string) {
    return item.customData?.find((c) => c.id === id)?.value ?? null;
  }

  it('v1: writes the picked code into the v3 entry and audits every step', async () => {
    const entryId = ids.entryIds[0];
    const { agent, location, page, launchId } = await launch(signedUrl(h, 1, v1Params(h, entryId)));
    expect(page).toContain('Current value');
    expect(page).toMatch(/name="code" value="[^"]+"/);

    const done = await agent.post(`${location}/select`).type('form').send({ csrf: csrfOf(page), code: 'PRJ-1001' }).expect(200);
    expect(done.text).toContain('PRJ-1001');
    expect(done.text).toMatch(/<script src="\/assets\/close-window.js" nonce="[^"]+"><\/script>/);

    const entry = (await state()).entries[entryId];
    expect(entry.Custom1.Value).toBe('PRJ-1001');

    const events = await h.audit.eventsOfLaunch(launchId);
    expect(events.map((e) => e.type)).toEqual(['launch.accepted', 'update.requested', 'update.succeeded']);
    expect(events[2]).toMatchObject({ field: 'Custom1', oldValue: null, newValue: 'PRJ-1001', tenantId: 'sandbox', actingUser: 'sam.employee@sandbox.example.com' });
    expect(await h.audit.verify()).toMatchObject({ intact: true });

    // A refresh after Done shows Done again and writes nothing more.
    const again = await agent.get(location).expect(200);
    expect(again.text).toContain('Saved');
    expect((await h.audit.eventsOfLaunch(launchId)).length).toBe(3);
  });

  it.each(['HEADER', 'ENTRY', 'ALLOCATION'] as const)('v4 %s: PATCHes customData of the item', async (level) => {
    const { agent, location, page, launchId } = await launch(signedUrl(h, 4, v4Params(h, ids, level)));
    await agent.post(`${location}/select`).type('form').send({ csrf: csrfOf(page), code: 'PRJ-1002' }).expect(200);

    const s = await state();
    const item =
      level === 'HEADER' ? s.report : level === 'ENTRY' ? s.expenses[ids.expenseIds[0]] : s.allocations[ids.allocationIds[0]];
    expect(customValue(item, 'custom9')).toBe('PRJ-1002');
    const events = await h.audit.eventsOfLaunch(launchId);
    expect(events.map((e) => e.type)).toEqual(['launch.accepted', 'update.requested', 'update.succeeded']);
    expect(events[2].field).toBe('custom9');
    // The sandbox saw the connector's correlation ID on its write.
    const write = s.requests.find((r: { method: string }) => r.method === 'PATCH');
    expect(write?.correlationId).toBe(events[2].correlationId);
  });

  it('a refresh of the session page keeps working and the signed URL cannot be replayed', async () => {
    const url = signedUrl(h, 4, v4Params(h, ids, 'ENTRY'));
    const { agent, location } = await launch(url);
    await agent.get(location).expect(200);
    const replay = await h.http.get(url).expect(401);
    expect(replay.text).toContain('Close this window and click the field again in Concur');
    expect(referenceOf(replay.text)).toBe(replay.headers['x-request-id']);
    const rejected = (await h.audit.eventsOfCorrelation(replay.headers['x-request-id']))[0];
    expect(rejected).toMatchObject({ type: 'launch.rejected', outcome: 'failure' });
    expect(rejected.reason).toMatch(/nonce/);
  });

  it('searches the lookup source, ranked, on the session page', async () => {
    const { agent, location } = await launch(signedUrl(h, 1, v1Params(h, ids.entryIds[0])));
    const res = await agent.get(`${location}?q=prj-1001`).expect(200);
    const codes = [...res.text.matchAll(/name="code" value="([^"]+)"/g)].map((m) => m[1]);
    expect(codes[0]).toBe('PRJ-1001');
  });

  it('Concur 503 on the write: update.failed, a Retry page, and Retry succeeds once Concur is back', async () => {
    const { agent, location, page, launchId } = await launch(signedUrl(h, 4, v4Params(h, ids, 'ENTRY')));
    await h.http
      .post('/sandbox/api/faults')
      .set('Content-Type', 'application/json')
      .send({ status: 503, count: 3 })
      .expect((r) => expect(r.status).toBeLessThan(300));
    const failed = await agent.post(`${location}/select`).type('form').send({ csrf: csrfOf(page), code: 'PRJ-1003' }).expect(502);
    expect(failed.text).toContain('Retry');
    expect(referenceOf(failed.text)).toBeDefined();
    let events = await h.audit.eventsOfLaunch(launchId);
    expect(events.map((e) => e.type)).toEqual(['launch.accepted', 'update.requested', 'update.failed']);

    const retryForm = /<form method="POST" action="([^"]+)"[\s\S]*?name="csrf" value="([^"]+)"[\s\S]*?name="code" value="([^"]+)"/.exec(failed.text);
    expect(retryForm).not.toBeNull();
    const [, action, csrf, code] = retryForm!;
    await agent.post(action).type('form').send({ csrf, code }).expect(200);
    events = await h.audit.eventsOfLaunch(launchId);
    expect(events.map((e) => e.type)).toEqual(['launch.accepted', 'update.requested', 'update.failed', 'update.requested', 'update.succeeded']);
    expect(customValue((await state()).expenses[ids.expenseIds[0]], 'custom9')).toBe('PRJ-1003');
  });

  it('Concur 429 with Retry-After is honoured and the write still succeeds', async () => {
    const { agent, location, page } = await launch(signedUrl(h, 4, v4Params(h, ids, 'ENTRY')));
    await h.http.post('/sandbox/api/faults').set('Content-Type', 'application/json').send({ status: 429, retryAfterSeconds: 1, count: 1 });
    const started = Date.now();
    await agent.post(`${location}/select`).type('form').send({ csrf: csrfOf(page), code: 'PRJ-1004' }).expect(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(customValue((await state()).expenses[ids.expenseIds[0]], 'custom9')).toBe('PRJ-1004');
  });

  it('Concur 503 while reading the item shows the Retry page, and the page works once Concur is back', async () => {
    const { default: request } = await import('supertest');
    const agent = request.agent(h.origin);
    const res = await agent.get(signedUrl(h, 1, v1Params(h, ids.entryIds[1]))).expect(303);
    await h.http.post('/sandbox/api/faults').set('Content-Type', 'application/json').send({ status: 503, count: 3 });
    const failed = await agent.get(res.headers.location).expect(502);
    expect(failed.text).toContain('Concur is not answering');
    expect(failed.text).toContain(`action="${res.headers.location}"`);
    await agent.get(res.headers.location).expect(200);
  });
});
