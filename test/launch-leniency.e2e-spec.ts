import { Writable } from 'node:stream';
import { SessionStore } from '../src/auth/session.store.js';
import { csrfOf, openLaunch, sandboxIds, signedUrl, startApp, v1Params, v4Params, type Harness, type SandboxIds } from './harness.js';

/**
 * Where Concur's docs are loose, real launches are not refused: nonces that are timestamps or
 * hashes, field ids in any case or zero-padded, and page hints (language, mobile) that fall back
 * to their defaults.
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
