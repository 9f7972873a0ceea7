import { createServer, type Server } from 'node:http';
import { RejectedLaunchAudit } from '../src/audit/rejected-launch.audit.js';
import type { AddressInfo } from 'node:net';
import { referenceOf, sandboxIds, signedUrl, startApp, v1Params, v4Params, type Harness, type SandboxIds } from './harness.js';

describe('launch rejections: clear pages, a reference ID, details only in the audit', () => {
  let h: Harness;
  let ids: SandboxIds;

  beforeAll(async () => {
    // Every rejection here comes from 127.0.0.1 and each test reads its own event: no rate bound.
    h = await startApp({ audit: { rejectedLaunches: { limit: 100000, windowSeconds: 60 } } });
    ids = await sandboxIds(h);
  });
  afterAll(() => h.close());

  async function expectPage(url: string, status: number, reason: RegExp) {
    const res = await h.http.get(url).expect(status);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toContain('Close this window and click the field again in Concur');
    const reference = referenceOf(res.text);
    expect(reference).toBe(res.headers['x-request-id']);
    const [event] = await h.audit.eventsOfCorrelation(reference!);
    expect(event).toMatchObject({ type: 'launch.rejected', outcome: 'failure' });
    expect(event.reason).toMatch(reason);
    // The page never says which check failed; the audit does.
    expect(res.text).not.toContain(event.reason);
    return res;
  }

  function tamper(url: string, name: string, value: string | null): string {
    const [path, query] = url.split('?');
    const parts = query.split('&').filter((p) => !p.startsWith(`${name}=`));
    if (value !== null) parts.push(`${name}=${value}`);
    return `${path}?${parts.join('&')}`;
  }

  describe('400: malformed input', () => {
    it('a missing parameter', () => expectPage(tamper(signedUrl(h, 1, v1Params(h, ids.entryIds[0])), 'nonce', null), 400, /nonce/));

    it('a duplicated parameter', async () => {
      const url = signedUrl(h, 1, v1Params(h, ids.entryIds[0]));
      await expectPage(`${url}&xuserid=someone.else`, 400, /twice/);
    });

    it('a signature that is not base64', () =>
      expectPage(tamper(signedUrl(h, 4, v4Params(h, ids, 'ENTRY')), 'signature', '%%%not-base64'), 400, /escape|encod/i));

    it('a non-base64 signature with valid escapes', () =>
      expectPage(tamper(signedUrl(h, 4, v4Params(h, ids, 'ENTRY')), 'signature', 'abc*def!'), 400, /signature/));

    it('an oversized parameter', () =>
      expectPage(signedUrl(h, 1, v1Params(h, ids.entryIds[0], { xuserid: 'u'.repeat(300) })), 400, /xuserid/));

    it('a query string over the size limit', async () => {
      const res = await h.http.get(`${h.config.paths.v4Launch}?junk=${'x'.repeat(9000)}`).expect(400);
      expect(referenceOf(res.text)).toBeDefined();
    });

    it('a nonce longer than 256 characters', () =>
      expectPage(signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { nonce: 'n'.repeat(257) })), 400, /nonce" is longer than 256/));

    it('a nonce with a control character', () =>
      expectPage(signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { nonce: '2022-04-01\t12:00' })), 400, /nonce" contains control/));

    it('a badly encoded value', () => expectPage(tamper(signedUrl(h, 1, v1Params(h, ids.entryIds[0])), 'xuserid', '%E0%A4%A'), 400, /encod|escape|UTF/i));

    it('invalid UTF-8', () => expectPage(tamper(signedUrl(h, 1, v1Params(h, ids.entryIds[0])), 'xuserid', '%C3%28'), 400, /encod|escape|UTF/i));
  });

  describe('401: not proven to come from Concur, or already used', () => {
    it('a bad signature', () =>
      expectPage(signedUrl(h, 1, v1Params(h, ids.entryIds[0]), { password: 'not-the-password-123' }), 401, /signature/));

    it('a signed value changed after signing', () => {
      const url = signedUrl(h, 1, v1Params(h, ids.entryIds[0]));
      return expectPage(url.replace('sam.employee', 'eve.attacker'), 401, /signature/);
    });

    it('an unknown company', () =>
      expectPage(signedUrl(h, 1, v1Params(h, ids.entryIds[0], { xcompanydomain: 'unknown.example' })), 401, /unknown company/));

    it('the wrong algorithm for the tenant', () =>
      expectPage(signedUrl(h, 4, v4Params(h, ids, 'ENTRY'), { algorithm: 'sha1' }), 401, /signature/));

    it('a reused nonce', async () => {
      const url = signedUrl(h, 1, v1Params(h, ids.entryIds[0]));
      await h.http.get(url).expect(303);
      await expectPage(url, 401, /nonce/);
    });
  });

  describe('400: signed but not acceptable (unsigned input is untrusted)', () => {
    it('item_url on a host that is not allow-listed gets 400 and no request', async () => {
      let hits = 0;
      const evil: Server = createServer((_req, res) => {
        hits++;
        res.end('{}');
      });
      await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
      const port = (evil.address() as AddressInfo).port;
      try {
        const itemUrl = `http://127.0.0.1:${port}/sandbox/concur/api/v3.0/expense/entries/E1`;
        await expectPage(signedUrl(h, 1, v1Params(h, 'x', { itemurl: itemUrl })), 400, /allowed|https/);
        const lookalike = 'https://us.api.concursolutions.com.evil.test/api/v3.0/expense/entries/E1';
        await expectPage(signedUrl(h, 1, v1Params(h, 'x', { itemurl: lookalike })), 400, /allowed/);
      } finally {
        evil.close();
      }
      expect(hits).toBe(0);
    });

    it('item_url that is not a known Concur item', () =>
      expectPage(signedUrl(h, 1, v1Params(h, 'x', { itemurl: `${h.origin}/sandbox/concur/api/v3.0/users/me` })), 400, /known/));

    it('a v4 field the tenant does not allow', () =>
      expectPage(signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { custom_field_launched_from: 'custom12' })), 400, /custom12/));

    it('a source that contradicts the item URL', () =>
      expectPage(signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { source: 'HEADER' })), 400, /source/));

    it('a source that is not a level', () =>
      expectPage(signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { source: 'REPORT<script>' })), 400, /source/));

    it('a v4 field that is no field id at all', () =>
      expectPage(signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { custom_field_launched_from: 'project' })), 400, /not a custom field id/));

    it('expense ids that are not ids', () =>
      expectPage(signedUrl(h, 4, v4Params(h, ids, 'ALLOCATION', { expense_ids: 'a,b c' })), 400, /expense_ids/));

    it('a malformed client_auth_code', () =>
      expectPage(signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { client_auth_code: 'a b' })), 400, /client_auth_code/));

    it('an item of another user than the report owner', () =>
      expectPage(
        signedUrl(h, 4, v4Params(h, ids, 'ENTRY', { report_owner_user_id: '00000000-0000-0000-0000-000000000000' })),
        400,
        /another user/,
      ),
    );

    it('the field written is the configured one even when the query names none', async () => {
      const params = v4Params(h, ids, 'ENTRY');
      delete params.custom_field_launched_from;
      const res = await h.http.get(signedUrl(h, 4, params)).expect(303);
      const [event] = await h.audit.eventsOfLaunch(res.headers.location.split('/').pop()!);
      expect(event).toMatchObject({ type: 'launch.accepted', field: 'custom9' });
    });
  });

  it('the audit chain stays intact through all of it', async () => {
    expect(await h.audit.verify()).toMatchObject({ intact: true });
  });
});

describe('launch versions and paths from configuration', () => {
  let h: Harness;
  let ids: SandboxIds;

  beforeAll(async () => {
    h = await startApp({ paths: { v4Launch: '/custom/v4/launch' } });
    ids = await sandboxIds(h);
  });
  afterAll(() => h.close());

  it('serves v4 on the configured path only, as Express matches paths', async () => {
    const url = signedUrl(h, 4, v4Params(h, ids, 'ENTRY'));
    expect(url.startsWith('/custom/v4/launch?')).toBe(true);
    await h.http.get(url).expect(303);
    await h.http.get(signedUrl(h, 4, v4Params(h, ids, 'ENTRY')).replace('/custom/v4/launch', '/Custom/V4/Launch/')).expect(303);
    for (const hidden of ['/launchexternalurl/v4/form', '/launchexternalurl/v4/form/', '/LaunchExternalUrl/v4/form']) {
      await h.http.get(signedUrl(h, 4, v4Params(h, ids, 'ENTRY')).replace('/custom/v4/launch', hidden)).expect(404);
    }
  });

  it('never echoes a signed query on a 404 page', async () => {
    const url = signedUrl(h, 4, v4Params(h, ids, 'ENTRY'));
    const signature = decodeURIComponent(/signature=([^&]+)/.exec(url)![1]);
    const res = await h.http.get(url.replace('/custom/v4/launch', '/custom/v4/launch/extra')).expect(404);
    expect(res.text).not.toContain(signature);
    expect(res.text).not.toContain(encodeURIComponent(signature));
    expect(res.text).not.toContain('nonce=');
  });

  it('answers HEAD on a launch path with 405 without using up the nonce', async () => {
    const url = signedUrl(h, 4, v4Params(h, ids, 'ENTRY'));
    const head = await h.http.head(url).expect(405);
    expect(head.headers.allow).toBe('GET');
    await h.http.get(url).expect(303);
  });
});

describe('a disabled launch version', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startApp({}, {});
    h.config.tenants[0].launch.versions = [4];
  });
  afterAll(() => h.close());

  it('gets 401', async () => {
    const ids = await sandboxIds(h);
    const res = await h.http.get(signedUrl(h, 1, v1Params(h, ids.entryIds[0]))).expect(401);
    const [event] = await h.audit.eventsOfCorrelation(res.headers['x-request-id']);
    expect(event.reason).toMatch(/not enabled/);
  });
});

describe('rejected launches from one address: audited at a bounded rate, the rest counted', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startApp({ audit: { rejectedLaunches: { limit: 30, windowSeconds: 3600 } } });
  });
  afterAll(() => h.close());

  it('100 rejected launches give 30 events and one event counting the other 70; every one gets its page', async () => {
    const ids = await sandboxIds(h);
    for (let i = 0; i < 100; i++) {
      const res = await h.http.get(signedUrl(h, 1, v1Params(h, ids.entryIds[0], { xcompanydomain: `unknown-${i}.example` }))).expect(401);
      expect(referenceOf(res.text)).toBe(res.headers['x-request-id']);
    }
    const individual = (await h.audit.search({ type: 'launch.rejected' }, 500)).events;
    expect(individual).toHaveLength(30);
    expect(individual.map((e) => e.companyDomain).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `unknown-${i}.example`).sort());

    // The count is written when the window closes (an hour here) or, as now, at shutdown.
    await h.app.get(RejectedLaunchAudit).beforeApplicationShutdown();
    const events = (await h.audit.search({ type: 'launch.rejected' }, 500)).events;
    expect(events).toHaveLength(31);
    expect(events[0]).toMatchObject({
      outcome: 'failure',
      clientIp: '127.0.0.1',
      reason: expect.stringMatching(/^70 more rejected launches from 127\.0\.0\.1 between \S+ and \S+ not written individually \(over 30 per 3600 s\)$/),
    });
    expect(await h.audit.verify()).toMatchObject({ intact: true });
  });
});
