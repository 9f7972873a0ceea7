import { ConcurError } from '../concur/concur.types.js';
import { concurErrorPage } from './concur-error-page.js';

const retry = { method: 'GET' as const, action: '/launch/s/abc' };

describe(concurErrorPage.name, () => {
  it('blames Concur, with 502 and Retry, when Concur does not answer', () => {
    const page = concurErrorPage(new ConcurError('unavailable', 'HTTP 503', 503), 'reading', retry);
    expect(page.getStatus()).toBe(502);
    expect(page.page.title).toBe('Concur is not answering');
    expect(page.page.view).toEqual({ retry });
  });

  it("does not blame Concur when the connector's own shared store failed", () => {
    const error = new ConcurError('unavailable', 'Redis token read failed: Connection is closed.', undefined, 'shared-store');
    const page = concurErrorPage(error, 'reading', retry);
    expect(page.getStatus()).toBe(503);
    expect(page.page.title).toBe('The connector is briefly unavailable');
    expect(page.page.message).not.toContain('Concur did not answer');
    expect(page.page.view).toEqual({ retry });
    expect(page.page.detail).toContain('Redis token read failed');
  });

  it("shows a short quote of what Concur said, and keeps the rest and Concur's correlation id for the log", () => {
    const said = `Request failed validation | validation: expenseSource: must not be null ${'x'.repeat(400)}`;
    const error = new ConcurError('rejected', `Concur refused the write (HTTP 400): ${said}`, 400, 'concur', { concurMessage: said, concurCorrelationId: 'cc-9' });
    const page = concurErrorPage(error, 'saving', retry);
    expect(page.getStatus()).toBe(502);
    expect((page.page.view as { concurSays: string }).concurSays).toHaveLength(200);
    expect((page.page.view as { concurSays: string }).concurSays.startsWith('Request failed validation')).toBe(true);
    expect(page.page.detail).toContain('[concur-correlationid cc-9]');
  });

  it('on 108 tells the user that the administrator must renew the connection, without a Retry that cannot help', () => {
    const error = new ConcurError('auth', 'Concur refused the refresh_token grant (HTTP 400, code 108)', 400, 'concur', { oauthCode: 108 });
    const page = concurErrorPage(error, 'reading', retry);
    expect(page.page.title).toBe("The connector's access to Concur has expired");
    expect(page.page.view).toBeUndefined();
  });

  it("when the user's own token is refused, asks for a new launch instead of blaming the company connection", () => {
    const error = new ConcurError('auth', 'Concur refused the refresh_token grant (HTTP 400, code 108)', 400, 'concur', { oauthCode: 108, userToken: true });
    const page = concurErrorPage(error, 'saving', retry);
    expect(page.getStatus()).toBe(401);
    expect(page.page.title).toBe('This window has expired');
  });
});
