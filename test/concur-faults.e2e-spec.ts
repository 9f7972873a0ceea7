import { openLaunch, sandboxIds, signedUrl, startApp, v4Params, type Harness, type SandboxIds } from './harness.js';

describe('Concur answering slowly or dropping the connection', () => {
  let h: Harness;
  let ids: SandboxIds;

  beforeAll(async () => {
    h = await startApp({ concur: { timeoutMs: 300, maxRetries: 1, retryBaseDelayMs: 5 } });
    ids = await sandboxIds(h);
  });
  afterAll(() => h.close());

  const fault = (body: object) => h.http.post('/sandbox/api/faults').set('Content-Type', 'application/json').send(body).expect(200);

  const launched = () => openLaunch(h, signedUrl(h, 4, v4Params(h, ids, 'ENTRY')));

  it('a write past the timeout, twice, ends in update.failed and the Retry page', async () => {
    const { agent, location, csrf, id } = await launched();
    await fault({ delayMs: 1000, count: 2 });
    const res = await agent.post(`${location}/select`).type('form').send({ csrf, code: 'PRJ-1010' }).expect(502);
    expect(res.text).toContain('Retry');
    const events = await h.audit.eventsOfLaunch(id);
    expect(events.map((e) => e.type)).toEqual(['launch.accepted', 'update.requested', 'update.failed']);
    expect(events[2].reason).toMatch(/^unavailable/);
  });

  it('a connection reset is retried and the write succeeds', async () => {
    const { agent, location, csrf, id } = await launched();
    await fault({ reset: true, count: 1 });
    await agent.post(`${location}/select`).type('form').send({ csrf, code: 'PRJ-1011' }).expect(200);
    expect((await h.audit.eventsOfLaunch(id)).map((e) => e.type)).toEqual(['launch.accepted', 'update.requested', 'update.succeeded']);
  });

  it('a token that expires between the read and the write is renewed once and the write succeeds', async () => {
    const { agent, location, csrf, id } = await launched();
    const before = (await h.http.get('/sandbox/api/state').expect(200)).body.tokenRequests;
    await fault({ expireTokens: true });
    await agent.post(`${location}/select`).type('form').send({ csrf, code: 'PRJ-1012' }).expect(200);
    expect((await h.http.get('/sandbox/api/state').expect(200)).body.tokenRequests).toBe(before + 1);
    expect((await h.audit.eventsOfLaunch(id)).at(-1)?.type).toBe('update.succeeded');
  });

  it('the OAuth endpoint failing once is retried', async () => {
    const { agent, location, csrf, id } = await launched();
    await fault({ expireTokens: true });
    await fault({ target: 'token', status: 503, count: 1 });
    await agent.post(`${location}/select`).type('form').send({ csrf, code: 'PRJ-1013' }).expect(200);
    expect((await h.audit.eventsOfLaunch(id)).at(-1)?.type).toBe('update.succeeded');
  });
});
