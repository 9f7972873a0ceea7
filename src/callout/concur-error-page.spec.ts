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
});
