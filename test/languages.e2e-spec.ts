import request from 'supertest';
import { csrfOf, openLaunch, sandboxIds, signedUrl, startApp, v1Params, v4Params, type Harness, type SandboxIds } from './harness.js';

/** The popup in the launch's language: v4's language_code, v1's Accept-Language, English otherwise. */
describe('the popup in the user language', () => {
  let h: Harness;
  let ids: SandboxIds;

  beforeAll(async () => {
    h = await startApp();
    ids = await sandboxIds(h);
  });
  afterAll(() => h.close());

  const htmlLang = (html: string) => /<html lang="([^"]+)">/.exec(html)?.[1];

  it('v4 language_code=de: the session page and the done page in German, amounts and dates German', async () => {
    const { agent, location, page, csrf } = await openLaunch(h, signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { language_code: 'de' })));
    expect(htmlLang(page.text)).toBe('de');
    expect(page.text).toContain('Wert auswählen');
    expect(page.text).toContain('Aktueller Wert');
    expect(page.text).toMatch(/<dd data-testid="item-amount">[\d.]+,\d\d\s€<\/dd>/);
    expect(page.text).toMatch(/<dd data-testid="item-date">\d{2}\.\d{2}\.\d{4}<\/dd>/);
    expect(page.text).not.toContain('Choose a value');

    const done = await agent.post(`${location}/select`).type('form').send({ csrf, code: 'PRJ-1002' }).expect(200);
    expect(htmlLang(done.text)).toBe('de');
    expect(done.text).toContain('Gespeichert');
    expect(done.text).toContain('PRJ-1002');
  });

  it.each([
    ['fr', 'Choisir une valeur'],
    ['es', 'Elija un valor'],
    ['ja', '値を選択'],
  ])('v4 language_code=%s: the page in that language', async (code, heading) => {
    const { page } = await openLaunch(h, signedUrl(h, 4, v4Params(h, ids, 'HEADER', { language_code: code })));
    expect(htmlLang(page.text)).toBe(code);
    expect(page.text).toContain(heading);
  });

  it('en-GB falls back to English words with British dates; an unknown language is English', async () => {
    const gb = await openLaunch(h, signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { language_code: 'en-GB' })));
    expect(htmlLang(gb.page.text)).toBe('en');
    expect(gb.page.text).toContain('Choose a value');
    expect(gb.page.text).toMatch(/<dd data-testid="item-date">\d{1,2} [A-Z][a-z]{2} \d{4}<\/dd>/);

    const unknown = await openLaunch(h, signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { language_code: 'xx' })));
    expect(htmlLang(unknown.page.text)).toBe('en');
    expect(unknown.page.text).toContain('Choose a value');
  });

  it("v1 follows the browser's Accept-Language, on every page of the window", async () => {
    const agent = request.agent(h.origin);
    const launch = await agent.get(signedUrl(h, 1, v1Params(h, ids.entryIds[0]))).set('Accept-Language', 'fr-CH, fr;q=0.9, en;q=0.5').expect(303);
    const location = launch.headers.location as string;
    const page = await agent.get(location).set('Accept-Language', 'fr-CH, fr;q=0.9, en;q=0.5').expect(200);
    expect(htmlLang(page.text)).toBe('fr');
    expect(page.text).toContain('Choisir une valeur');

    // A code not in the list: the error page in French, with the reference.
    const refused = await agent.post(`${location}/select`).set('Accept-Language', 'fr').type('form').send({ csrf: csrfOf(page.text), code: 'NOPE' }).expect(400);
    expect(htmlLang(refused.text)).toBe('fr');
    expect(refused.text).toContain('Cette valeur ne figure pas dans la liste');
    expect(refused.text).toMatch(/<code>[0-9a-f-]{36}<\/code>/);
  });

  it('error pages before any session: language_code of the launch, else Accept-Language', async () => {
    // A forged v4 launch: 401, in the language it asked for.
    const forged = signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { language_code: 'es' }), { password: 'wrong' });
    const rejected = await h.http.get(forged).expect(401);
    expect(htmlLang(rejected.text)).toBe('es');
    expect(rejected.text).not.toContain('This link cannot be used');

    // An unknown session: 410, in the browser's language.
    const gone = await h.http.get(`/launch/s/${'A'.repeat(22)}`).set('Accept-Language', 'ja-JP,ja;q=0.9').expect(410);
    expect(htmlLang(gone.text)).toBe('ja');
    expect(gone.text).not.toContain('This window has expired');

    // A hostile header is just not understood.
    const junk = await h.http.get(`/launch/s/${'A'.repeat(22)}`).set('Accept-Language', `<script>;q=1, ${'x-'.repeat(500)}`).expect(410);
    expect(htmlLang(junk.text)).toBe('en');
    expect(junk.text).toContain('This window has expired');
  });

  it('the auditor pages and the JSON APIs stay English', async () => {
    const signIn = await h.http.get('/audit/sign-in').set('Accept-Language', 'de').expect(200);
    expect(htmlLang(signIn.text)).toBe('en');
    const api = await h.http.get('/api/audit/events?nope=1').set('Accept-Language', 'de').auth('auditor', 'auditor-demo').expect(400);
    expect(api.body.error).toBe('The request could not be understood');
  });
});
