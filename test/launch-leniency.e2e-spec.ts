import { Writable } from 'node:stream';
import request from 'supertest';
import { SessionStore } from '../src/auth/session.store.js';
import { csrfOf, openLaunch, sandboxIds, signedUrl, startApp, v1Params, v4Params, type Harness, type SandboxIds } from './harness.js';

/**
 * Where Concur's docs are loose, real launches are not refused: nonces that are timestamps or
 * hashes, field ids in any case or zero-padded, and page hints (language, mobile) that fall back
 * to their defaults. And the popup's pages keep their opener (no COOP same-origin).
 */
describe('launches Concur may send, though its docs are loose', () => {
  const lines: string[] = [];
  const logs = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  let h: Harness;
  let ids: SandboxIds;

  beforeAll(async () => {
    h = await startApp({ logging: { level: 'warn' } }, {}, { logDestination: logs });
    ids = await sandboxIds(h);
  });
  afterAll(() => h.close());

  const htmlLang = (html: string) => /<html lang="([^"]+)">/.exec(html)?.[1];

  it('language_code=xx_YYYY! and is_mobile=maybe: the session page opens in English, and the log says why', async () => {
    const url = signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { language_code: 'xx_YYYY!', is_mobile: 'maybe' }));
    const { redirect, page, id } = await openLaunch(h, url);
    expect(htmlLang(page.text)).toBe('en');
    expect(page.text).toContain('Choose a value');
    const session = await h.app.get(SessionStore).get(id);
    expect(session).toMatchObject({ languageCode: 'en', isMobile: false, field: 'custom9' });

    const correlationId = redirect.headers['x-request-id'] as string;
    const warnings = lines.filter((line) => line.includes(correlationId) && line.includes('launch input fallback'));
    expect(warnings.join('\n')).toContain('language_code \\"xx_YYYY!\\" is not a language code; using en');
    expect(warnings.join('\n')).toContain('is_mobile \\"maybe\\" is not true or false; using false');
  });

  it.each([
    ['a URL-encoded timestamp', '2022-04-01 12:00:00.000'],
    ['a base64 hash', 'q2Xk/9vU+3bT0aHc1LwE7nQy5ZpR8sJf4mD6gA0iKo0='],
  ])('a nonce that is %s is accepted once, and its replay refused', async (_label, nonce) => {
    const url = signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { nonce }));
    expect(url).toContain(`nonce=${encodeURIComponent(nonce)}`);
    await openLaunch(h, url);
    const replay = await h.http.get(url).expect(401);
    const [event] = await h.audit.eventsOfCorrelation(replay.headers['x-request-id']);
    expect(event).toMatchObject({ type: 'launch.rejected', reason: 'nonce already used' });
  });

  it('a v1 nonce that is a timestamp is accepted once too', async () => {
    const url = signedUrl(h, 1, v1Params(h, ids.entryIds[0], { nonce: '2022-04-01 12:00:00.001' }));
    await openLaunch(h, url);
    await h.http.get(url).expect(401);
  });

  it('custom_field_launched_from=Custom09 opens the session for the configured custom9', async () => {
    const { agent, location, page, id } = await openLaunch(
      h,
      signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { custom_field_launched_from: 'Custom09' })),
    );
    const [accepted] = await h.audit.eventsOfLaunch(id);
    expect(accepted).toMatchObject({ type: 'launch.accepted', field: 'custom9' });
    await agent.post(`${location}/select`).type('form').send({ csrf: csrfOf(page.text), code: 'PRJ-1003' }).expect(200);
    const expense = (await h.http.get('/sandbox/api/state').expect(200)).body.expenses.find(
      (e: { expenseId: string }) => e.expenseId === ids.expenseIds[0],
    );
    expect(expense.customData.find((c: { id: string }) => c.id === 'custom9')?.value).toBe('PRJ-1003');
  });
});

/** Concur opens the popup with window.open and watches popup.closed: COOP same-origin would sever that link. */
describe('the popup keeps its opener', () => {
  let h: Harness;
  let ids: SandboxIds;

  beforeAll(async () => {
    h = await startApp();
    ids = await sandboxIds(h);
  });
  afterAll(() => h.close());

  const coop = (res: request.Response) => res.headers['cross-origin-opener-policy'] as string | undefined;

  it('the launch 303, the session page and the done page send no COOP', async () => {
    const { agent, redirect, location, page } = await openLaunch(h, signedUrl(h, 4, v4Params(h, ids, 'ENTRY')));
    expect(coop(redirect)).toBeUndefined();
    expect(coop(page)).toBeUndefined();
    const search = await agent.get(`${location}?q=PRJ`).expect(200);
    expect(coop(search)).toBeUndefined();
    const done = await agent.post(`${location}/select`).type('form').send({ csrf: csrfOf(page.text), code: 'PRJ-1001' }).expect(200);
    expect(done.text).toContain('close-window.js');
    expect(coop(done)).toBeUndefined();
  });

  it('nor do the error pages the popup may show', async () => {
    const v1 = await openLaunch(h, signedUrl(h, 1, v1Params(h, ids.entryIds[0])));
    expect(coop(v1.redirect)).toBeUndefined();
    const refused = await h.http.get(signedUrl(h, 4, v4Params(h, ids, 'ENTRY'), { password: 'not-the-password-123' })).expect(401);
    expect(coop(refused)).toBeUndefined();
    const malformed = await h.http.get(`${h.config.paths.v1Launch}?nonce=x`).expect(400);
    expect(coop(malformed)).toBeUndefined();
    const unknownSession = await h.http.get('/launch/s/AAAAAAAAAAAAAAAAAAAAAA');
    expect(unknownSession.status).toBeGreaterThanOrEqual(400);
    expect(coop(unknownSession)).toBeUndefined();
    const badCsrf = await v1.agent.post(`${v1.location}/select`).type('form').send({ csrf: 'wrong', code: 'PRJ-1001' });
    expect(badCsrf.status).toBeGreaterThanOrEqual(400);
    expect(coop(badCsrf)).toBeUndefined();
  });

  it('every other page keeps same-origin; the sandbox form, which opens the popup, allows popups', async () => {
    for (const path of ['/audit/sign-in', '/health/live', '/api/audit/me', '/sandbox/api/state', '/no-such-page']) {
      expect([path, coop(await h.http.get(path))]).toEqual([path, 'same-origin']);
    }
    expect(coop(await h.http.get('/sandbox').expect(200))).toBe('same-origin-allow-popups');
  });
});

describe('the popup keeps its opener on configured launch paths', () => {
  let h: Harness;
  let ids: SandboxIds;

  beforeAll(async () => {
    h = await startApp({ paths: { v4Launch: '/custom/v4/launch' } });
    ids = await sandboxIds(h);
  });
  afterAll(() => h.close());

  it('sends no COOP on the configured path, and same-origin on the hidden default', async () => {
    const { redirect } = await openLaunch(h, signedUrl(h, 4, v4Params(h, ids, 'ENTRY')));
    expect(redirect.headers['cross-origin-opener-policy']).toBeUndefined();
    const hidden = await h.http.get('/launchexternalurl/v4/form?nonce=x').expect(404);
    expect(hidden.headers['cross-origin-opener-policy']).toBe('same-origin');
  });
});
