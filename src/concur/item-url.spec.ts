import { type AllowedOrigin, ItemUrlError } from './concur.types.js';
import { parseItemUrl } from './item-url.js';

const CONCUR: AllowedOrigin = { origin: 'https://us.api.concursolutions.com', pathPrefix: '' };
const WWW: AllowedOrigin = { origin: 'https://www.concursolutions.com', pathPrefix: '' };
const SANDBOX: AllowedOrigin = { origin: 'http://127.0.0.1:3000', pathPrefix: '/sandbox/concur' };
const ALLOWED = [CONCUR, WWW, SANDBOX];

const V4_REPORT = 'https://us.api.concursolutions.com/expensereports/v4/users/u-1/context/TRAVELER/reports/R1';

function reasonOf(raw: string, api: 'v3' | 'v4' = 'v4'): string {
  try {
    parseItemUrl(raw, api, ALLOWED);
  } catch (error) {
    expect(error).toBeInstanceOf(ItemUrlError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${raw}`);
}

describe(parseItemUrl.name, () => {
  it('parses a v3 entry', () => {
    const ref = parseItemUrl('https://us.api.concursolutions.com/api/v3.0/expense/entries/gWq$pE1x', 'v3', ALLOWED);
    expect(ref).toEqual({
      api: 'v3',
      level: 'ENTRY',
      entryId: 'gWq$pE1x',
      origin: 'https://us.api.concursolutions.com',
      url: 'https://us.api.concursolutions.com/api/v3.0/expense/entries/gWq%24pE1x',
    });
  });

  it('maps the legacy v1.1 entry URL to the v3 entry URL', () => {
    const ref = parseItemUrl(
      'https://www.concursolutions.com/api/expense/expensereport/v1.1/report/REP$1/entry/ENT$2',
      'v3',
      ALLOWED,
    );
    expect(ref.level).toBe('ENTRY');
    expect(ref.entryId).toBe('ENT$2');
    expect(ref.url).toBe('https://www.concursolutions.com/api/v3.0/expense/entries/ENT%242');
  });

  it('parses a v4 report header', () => {
    const ref = parseItemUrl(V4_REPORT, 'v4', ALLOWED);
    expect(ref).toMatchObject({ api: 'v4', level: 'HEADER', userId: 'u-1', context: 'TRAVELER', reportId: 'R1' });
    expect(ref.url).toBe(V4_REPORT);
  });

  it('parses a v4 expense and a v4 allocation in PROXY context', () => {
    const proxy = V4_REPORT.replace('TRAVELER', 'PROXY');
    expect(parseItemUrl(`${proxy}/expenses/E1`, 'v4', ALLOWED)).toMatchObject({
      level: 'ENTRY',
      context: 'PROXY',
      expenseId: 'E1',
      url: `${proxy}/expenses/E1`,
    });
    expect(parseItemUrl(`${proxy}/allocations/A1`, 'v4', ALLOWED)).toMatchObject({
      level: 'ALLOCATION',
      allocationId: 'A1',
      url: `${proxy}/allocations/A1`,
    });
  });

  it('accepts the sandbox over http under its path prefix only', () => {
    const ref = parseItemUrl('http://127.0.0.1:3000/sandbox/concur/api/v3.0/expense/entries/E1', 'v3', ALLOWED);
    expect(ref.url).toBe('http://127.0.0.1:3000/sandbox/concur/api/v3.0/expense/entries/E1');
    expect(ref.origin).toBe('http://127.0.0.1:3000');
    expect(reasonOf('http://127.0.0.1:3000/api/v3.0/expense/entries/E1', 'v3')).toBe('item URL is not on an allowed Concur host');
    expect(reasonOf('http://127.0.0.1:3000/sandbox/concurx/api/v3.0/expense/entries/E1', 'v3')).toBe(
      'item URL is not on an allowed Concur host',
    );
  });

  it('normalises default ports and host case', () => {
    const ref = parseItemUrl('https://US.API.concursolutions.com:443/api/v3.0/expense/entries/E1', 'v3', ALLOWED);
    expect(ref.url).toBe('https://us.api.concursolutions.com/api/v3.0/expense/entries/E1');
  });

  it('rebuilds the URL instead of echoing the input', () => {
    const ref = parseItemUrl(`${V4_REPORT}/`, 'v4', ALLOWED);
    expect(ref.url).toBe(V4_REPORT);
  });

  it('refuses http for Concur hosts', () => {
    expect(reasonOf('http://us.api.concursolutions.com/api/v3.0/expense/entries/E1', 'v3')).toBe('item URL must use https');
  });

  it('refuses other hosts, ports and lookalikes', () => {
    for (const raw of [
      'https://evil.test/api/v3.0/expense/entries/E1',
      'https://us.api.concursolutions.com.evil.test/api/v3.0/expense/entries/E1',
      'https://evil-us.api.concursolutions.com/api/v3.0/expense/entries/E1',
      'https://us.api.concursolutions.com:8443/api/v3.0/expense/entries/E1',
    ]) {
      expect(reasonOf(raw, 'v3')).toBe('item URL is not on an allowed Concur host');
    }
  });

  it('refuses user info, queries and fragments', () => {
    expect(reasonOf('https://user:pw@us.api.concursolutions.com/api/v3.0/expense/entries/E1', 'v3')).toMatch(/user name/);
    expect(reasonOf('https://us.api.concursolutions.com@evil.test/api/v3.0/expense/entries/E1', 'v3')).toMatch(/user name/);
    expect(reasonOf(`${V4_REPORT}?x=1`)).toMatch(/query or fragment/);
    expect(reasonOf(`${V4_REPORT}?`)).toMatch(/query or fragment/);
    expect(reasonOf(`${V4_REPORT}#top`)).toMatch(/query or fragment/);
  });

  it('refuses non-URLs and other schemes', () => {
    expect(reasonOf('not a url')).toBe('item URL is not a valid URL');
    expect(reasonOf('/expensereports/v4/users/u/context/TRAVELER/reports/R')).toBe('item URL is not a valid URL');
    expect(reasonOf('javascript:alert(1)')).toBe('item URL must use https');
  });

  it('refuses encoded traversal and bad ids', () => {
    expect(reasonOf(`${V4_REPORT.replace('/R1', '/..%2F..%2Fadmin')}`)).toBe('item URL carries an invalid id');
    expect(reasonOf(`${V4_REPORT}/expenses/%2E%2E/%2E%2E/%2E%2E/secrets`)).toBe('item URL is not a known Concur expense item');
    expect(reasonOf('http://127.0.0.1:3000/sandbox/concur/%2e%2e/admin/api/v3.0/expense/entries/E1', 'v3')).toBe(
      'item URL is not a known Concur expense item',
    );
    // Dot segments are refused, not resolved: an expense URL must not turn into its report's header.
    expect(reasonOf(`${V4_REPORT}/expenses/%2E%2E`)).toBe('item URL is not a known Concur expense item');
    expect(reasonOf(`${V4_REPORT}/expenses/x/..`)).toBe('item URL is not a known Concur expense item');
    expect(reasonOf(`${V4_REPORT}/expenses/a%20b`)).toBe('item URL carries an invalid id');
    expect(reasonOf(`${V4_REPORT}/expenses/${'x'.repeat(129)}`)).toBe('item URL carries an invalid id');
    expect(reasonOf(`${V4_REPORT}/expenses/%E0%A4%A`)).toBe('item URL is badly encoded');
  });

  it('refuses unknown shapes and the wrong API version', () => {
    expect(reasonOf(`${V4_REPORT}/comments/C1`)).toBe('item URL is not a known Concur expense item');
    expect(reasonOf(V4_REPORT.replace('TRAVELER', 'MANAGER'))).toBe('item URL is not a known Concur expense item');
    expect(reasonOf(V4_REPORT, 'v3')).toBe('item URL is not a known Concur expense item');
    expect(reasonOf('https://us.api.concursolutions.com/api/v3.0/expense/entries/E1', 'v4')).toBe(
      'item URL is not a known Concur expense item',
    );
    expect(reasonOf('https://us.api.concursolutions.com/api/v3.0/expense/entries//E1', 'v3')).toBe(
      'item URL is not a known Concur expense item',
    );
  });
});
