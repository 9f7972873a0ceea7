import { type Kysely, sql } from 'kysely';
import request from 'supertest';
import type { AuditEvent, AuditEventInput } from '../src/audit/audit.types.js';
import { DB } from '../src/database/database.tokens.js';
import type { Database } from '../src/database/database.types.js';
import { type Harness, signedUrl, startApp, v1Params } from './harness.js';

/** The auditor's workbench over HTTP: the API, the export, verify and the pages, with the demo auditor of config/default.yaml. */

const AUDITOR = { username: 'auditor', password: 'auditor-demo' };
const basic = `Basic ${Buffer.from(`${AUDITOR.username}:${AUDITOR.password}`).toString('base64')}`;

const EVENTS: AuditEventInput[] = [
  { type: 'launch.accepted', outcome: 'success', tenantId: 'sandbox', companyDomain: 'sandbox.example.com', actingUser: 'alice', reportOwner: 'alice', itemUrl: 'https://c.example.com/reports/R1', launchId: 'L1', correlationId: 'corr-1' },
  { type: 'update.requested', outcome: 'pending', tenantId: 'sandbox', companyDomain: 'sandbox.example.com', actingUser: 'alice', reportOwner: 'alice', itemUrl: 'https://c.example.com/reports/R1/expenses/E1', launchId: 'L1', field: 'custom9', oldValue: 'P-1', newValue: 'P-2', correlationId: 'corr-1' },
  { type: 'update.succeeded', outcome: 'success', tenantId: 'sandbox', companyDomain: 'sandbox.example.com', actingUser: 'alice', reportOwner: 'alice', itemUrl: 'https://c.example.com/reports/R1/expenses/E1', launchId: 'L1', field: 'custom9', oldValue: 'P-1', newValue: 'P-2', correlationId: 'corr-1' },
  { type: 'launch.rejected', outcome: 'failure', tenantId: 'sandbox', reason: 'signature mismatch', correlationId: 'corr-2' },
  { type: 'update.failed', outcome: 'failure', tenantId: 'other', actingUser: 'bob', reportOwner: 'carol', itemUrl: 'https://c.example.com/reports/R10', launchId: 'L2', field: 'custom1', newValue: '=HYPERLINK("http://evil")', reason: 'Concur answered 503', correlationId: 'corr-3' },
];

/** Undoes the HTML escaping Handlebars applies to attribute values (& and =). */
function decode(html: string): string {
  return html.replaceAll('&#x3D;', '=').replaceAll('&amp;', '&');
}

describe('the auditor workbench (e2e)', () => {
  let h: Harness;
  let recorded: AuditEvent[];

  beforeEach(async () => {
    h = await startApp({ audit: { headLogIntervalSeconds: 0 } });
    recorded = [];
    for (const input of EVENTS) recorded.push(await h.audit.record(input));
  });

  afterEach(async () => {
    await h.close();
  });

  const api = (path: string) => h.http.get(path).set('Authorization', basic);
  const seqs = (body: { events: Array<{ seq: number }> }) => body.events.map((e) => e.seq);

  describe('access', () => {
    it.each(['/api/audit/events', '/api/audit/events/00000000-0000-0000-0000-000000000000', '/api/audit/export', '/api/audit/verify'])(
      '%s answers 401 JSON without credentials',
      async (path) => {
        const res = await h.http.get(path).expect(401);
        expect(res.body).toMatchObject({ statusCode: 401, correlationId: expect.any(String) });
        expect(res.headers['www-authenticate']).toContain('Basic');
      },
    );

    it.each(['/audit', '/audit/verify', '/audit/events/00000000-0000-0000-0000-000000000000'])('%s redirects to the sign-in page', async (path) => {
      const res = await h.http.get(path).expect(303);
      // /audit is where a sign-in lands anyway, so it needs no `next`.
      expect(res.headers.location).toBe(path === '/audit' ? '/audit/sign-in' : `/audit/sign-in?next=${encodeURIComponent(path)}`);
    });

    it('refuses a wrong password', async () => {
      await h.http.get('/api/audit/events').set('Authorization', `Basic ${Buffer.from('auditor:wrong').toString('base64')}`).expect(401);
    });
  });

  describe('GET /api/audit/events', () => {
    it.each<[string, number[]]>([
      ['', [5, 4, 3, 2, 1]],
      ['?tenant=other', [5]],
      ['?company=sandbox.example.com', [3, 2, 1]],
      ['?user=alice', [3, 2, 1]],
      ['?owner=carol', [5]],
      ['?item=https%3A%2F%2Fc.example.com%2Freports%2FR1', [3, 2, 1]],
      ['?field=custom9', [3, 2]],
      ['?type=update.failed', [5]],
      ['?outcome=failure', [5, 4]],
      ['?launch=L1', [3, 2, 1]],
      ['?correlation=corr-2', [4]],
      ['?user=alice&field=custom9&outcome=success', [3]],
      ['?user=&field=', [5, 4, 3, 2, 1]],
    ])('filters %s', async (query, expected) => {
      const res = await api(`/api/audit/events${query}`).expect(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(seqs(res.body)).toEqual(expected);
    });

    it('filters by time: from inclusive, to exclusive, UTC when no zone is given', async () => {
      const first = encodeURIComponent(recorded[0].occurredAt);
      const last = encodeURIComponent(recorded[4].occurredAt);
      expect(seqs((await api('/api/audit/events?from=2020-01-01&to=2099-01-01T00:00').expect(200)).body)).toEqual([5, 4, 3, 2, 1]);
      expect(seqs((await api('/api/audit/events?from=2099-01-01').expect(200)).body)).toEqual([]);
      expect(seqs((await api(`/api/audit/events?to=${first}`).expect(200)).body)).toEqual([]);
      expect(seqs((await api(`/api/audit/events?from=${last}`).expect(200)).body)).toContain(5);
    });

    it('pages with nextCursor until there is none', async () => {
      const first = await api('/api/audit/events?limit=2').expect(200);
      expect(seqs(first.body)).toEqual([5, 4]);
      const second = await api(`/api/audit/events?limit=2&cursor=${first.body.nextCursor}`).expect(200);
      expect(seqs(second.body)).toEqual([3, 2]);
      const third = await api(`/api/audit/events?limit=2&cursor=${second.body.nextCursor}`).expect(200);
      expect(third.body).toMatchObject({ nextCursor: null });
      expect(seqs(third.body)).toEqual([1]);
    });

    it.each<[string, string]>([
      ['?usr=alice', 'unknown parameter "usr"'],
      ['?user=alice&user=bob', 'user is given more than once'],
      ['?from=yesterday', 'from "yesterday" is not a time'],
      ['?from=2026-02-01&to=2026-01-01', 'the time range is empty'],
      ['?type=update.deleted', 'type "update.deleted" is not an event type'],
      ['?outcome=maybe', 'outcome "maybe" is not one of success, failure, pending'],
      ['?limit=0', 'limit must be a whole number from 1 to 500'],
      ['?limit=501', 'limit must be a whole number from 1 to 500'],
      ['?cursor=bogus', 'cursor is not one a previous page returned'],
      [`?item=${'x'.repeat(2049)}`, 'item is longer than 2048 characters'],
    ])('answers %.60s with 400 and what is wrong', async (query, message) => {
      const res = await api(`/api/audit/events${query}`).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, correlationId: expect.any(String) });
      expect(res.body.message).toContain(message);
    });

    it('records every read in the log itself, with the filter and who read', async () => {
      await api('/api/audit/events?user=alice').expect(200);
      const [read] = await h.audit.latest(1);
      expect(read).toMatchObject({ type: 'audit.read', outcome: 'success', actingUser: 'auditor', field: 'search', reason: 'user="alice" (via basic)' });
    });
  });

  describe('GET /api/audit/events/:id', () => {
    it('gives the event, its place in the chain and its launch', async () => {
      const res = await api(`/api/audit/events/${recorded[2].id}`).expect(200);
      expect(res.body).toMatchObject({
        event: { seq: 3, field: 'custom9', oldValue: 'P-1', newValue: 'P-2', prevHash: recorded[1].hash },
        hashMatches: true,
        linksToPrevious: true,
        previous: { id: recorded[1].id, seq: 2 },
        next: { id: recorded[3].id, seq: 4 },
      });
      expect(res.body.launchEvents.map((e: AuditEvent) => e.seq)).toEqual([1, 2, 3]);
    });

    it('answers 404 for an unknown or malformed id', async () => {
      for (const id of ['00000000-0000-0000-0000-000000000000', 'not-an-id', '%3Cscript%3E']) {
        const res = await api(`/api/audit/events/${id}`).expect(404);
        expect(res.body.message).toContain('No audit event has this id');
      }
    });
  });

  describe('GET /api/audit/export', () => {
    it('streams CSV of the filter oldest first, with a trailer of the filter, row count and chain head', async () => {
      const res = await api('/api/audit/export?user=alice').buffer(true).expect(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers['content-disposition']).toMatch(/^attachment; filename="audit-\d{8}T\d{6}Z\.csv"$/);
      const lines = res.text.trimEnd().split('\r\n');
      expect(lines[0].split(',').slice(0, 4)).toEqual(['seq', 'id', 'occurredAt', 'type']);
      expect(lines.slice(1, -1).map((line) => Number(line.split(',')[0]))).toEqual([1, 2, 3]);
      const trailer = lines.at(-1)!;
      expect(trailer).toMatch(/^# export: 3 row\(s\) up to chain head #6 [0-9a-f]{64},"\{/);
      const summary = JSON.parse(trailer.slice(trailer.indexOf(',"') + 2, -1).replaceAll('""', '"'));
      expect(summary).toMatchObject({ rows: 3, filter: { user: 'alice' }, chainHead: { seq: 6 } });
    });

    it('defuses a value a spreadsheet would run as a formula', async () => {
      const res = await api('/api/audit/export?tenant=other').buffer(true).expect(200);
      expect(res.text).toContain(`"'=HYPERLINK(""http://evil"")"`);
    });

    it('streams NDJSON with a trailer object', async () => {
      const res = await api('/api/audit/export?format=ndjson&outcome=failure').buffer(true).expect(200);
      expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
      const lines = res.text.trimEnd().split('\n').map((line) => JSON.parse(line));
      expect(lines.slice(0, -1).map((e) => e.seq)).toEqual([4, 5]);
      expect(lines.at(-1)).toMatchObject({ export: { rows: 2, filter: { outcome: 'failure' }, chainHead: { seq: 6 } } });
    });

    it('exports thousands of rows, all of them, chunked', async () => {
      for (let i = 0; i < 3000; i++) await h.audit.record({ type: 'launch.accepted', outcome: 'success', tenantId: 'bulk', actingUser: `u${i}` });
      const res = await api('/api/audit/export?format=ndjson&tenant=bulk').buffer(true).expect(200);
      expect(res.headers['transfer-encoding']).toBe('chunked');
      const lines = res.text.trimEnd().split('\n');
      expect(lines).toHaveLength(3001);
      expect(JSON.parse(lines.at(-1)!)).toMatchObject({ export: { rows: 3000 } });
      // Writing 3000 events one by one (each its own commit) takes seconds on a busy machine.
    }, 30_000);

    it('refuses an unknown format', async () => {
      const res = await api('/api/audit/export?format=xlsx').expect(400);
      expect(res.body.message).toContain('format must be csv or ndjson');
    });
  });

  describe('verify', () => {
    it('says intact up to the head, in the API and on the page', async () => {
      const res = await api('/api/audit/verify').expect(200);
      expect(res.body).toMatchObject({ intact: true, headSeq: 5, count: 5, summary: expect.stringMatching(/^intact up to #5: 5 event\(s\) from #1, head hash [0-9a-f]{64}$/) });
    });

    it('reports the exact event changed directly in the database', async () => {
      const db = h.app.get<Kysely<Database>>(DB);
      await sql`DROP TRIGGER audit_events_no_update`.execute(db);
      await sql`UPDATE audit_events SET new_value = 'P-9' WHERE seq = 3`.execute(db);
      const res = await api('/api/audit/verify').expect(200);
      expect(res.body).toMatchObject({ intact: false, brokenAt: 3, why: 'event #3 was altered', summary: 'BROKEN at #3: event #3 was altered; intact up to #2' });
      const detail = await api(`/api/audit/events/${recorded[2].id}`).expect(200);
      expect(detail.body.hashMatches).toBe(false);
    });
  });

  describe('pages', () => {
    async function signedIn() {
      const agent = request.agent(h.origin);
      const form = await agent.get('/audit/sign-in').expect(200);
      const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)![1];
      await agent.post('/audit/sign-in').type('form').send({ ...AUDITOR, csrf, next: '/audit' }).expect(303);
      return agent;
    }

    it('search: filters, a table of events, export links and the next page', async () => {
      const agent = await signedIn();
      const res = await agent.get('/audit?user=alice&limit=2').expect(200);
      res.text = decode(res.text);
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
      expect(res.text).toContain('data-testid="auditor">auditor<');
      expect(res.text).toMatch(/<input id="f-user" name="user" value="alice"/);
      expect((res.text.match(/aria-label="Event \d+"/g) ?? []).length).toBe(2);
      expect(res.text).toContain('href="/api/audit/export?user=alice&format=csv"');
      const next = /data-testid="next-page"/.test(res.text) ? /href="([^"]+)" rel="next"/.exec(res.text)![1] : undefined;
      expect(next).toMatch(/^\/audit\?user=alice&limit=2&cursor=/);
      const older = await agent.get(next!).expect(200);
      expect(older.text).toContain('aria-label="Event 1"');
    });

    it('search: escapes what it shows', async () => {
      await h.audit.record({ type: 'launch.rejected', outcome: 'failure', reason: '<script>alert(1)</script>' });
      const agent = await signedIn();
      const res = await agent.get('/audit').expect(200);
      expect(res.text).not.toContain('<script>alert(1)</script>');
      expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    });

    it('search: a bad filter is a 400 page saying what is wrong', async () => {
      const agent = await signedIn();
      const res = await agent.get('/audit?from=soon').expect(400);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.text).toContain('from &quot;soon&quot; is not a time');
    });

    it('event: every field, its chain checks and the steps of its launch', async () => {
      const agent = await signedIn();
      const res = await agent.get(`/audit/events/${recorded[2].id}`).expect(200);
      expect(res.text).toContain('Event #3');
      expect(res.text).toContain('data-testid="hash-matches" class="good">yes');
      expect(res.text).toMatch(/data-testid="launch-events"[\s\S]*#1[\s\S]*#2[\s\S]*#3/);
      expect(res.text).toContain(`href="/audit/events/${recorded[1].id}" rel="prev"`);
    });

    it('verify: the summary and the head hash', async () => {
      const agent = await signedIn();
      const res = await agent.get('/audit/verify').expect(200);
      expect(res.text).toMatch(/data-testid="verify-summary" class="summary">intact up to #\d+/);
    });
  });

  describe('untrusted text from a rejected launch, shown and exported safely', () => {
    const DOMAIN = 'evil\u202Emoc.elpmaxe';
    const USER = 'ad\u200Bmin';

    async function rejectedLaunch(): Promise<AuditEvent> {
      const url = signedUrl(h, 1, v1Params(h, 'E1', { xcompanydomain: DOMAIN, xuserid: USER }));
      const res = await h.http.get(url).expect(401);
      const [event] = await h.audit.eventsOfCorrelation(res.headers['x-request-id']);
      // Stored as received: the chain covers the text the sender sent.
      expect(event).toMatchObject({ type: 'launch.rejected', companyDomain: DOMAIN, actingUser: USER });
      return event;
    }

    async function signedIn() {
      const agent = request.agent(h.origin);
      const form = await agent.get('/audit/sign-in').expect(200);
      const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)![1];
      await agent.post('/audit/sign-in').type('form').send({ ...AUDITOR, csrf, next: '/audit' }).expect(303);
      return agent;
    }

    it('shows bidi and zero-width characters as marked escapes on the search and event pages', async () => {
      const event = await rejectedLaunch();
      const agent = await signedIn();
      const search = await agent.get('/audit?type=launch.rejected').expect(200);
      expect(search.text).not.toMatch(/[\u202E\u200B]/);
      expect(search.text).toContain('<bdi class="untrusted">ad<span class="esc" title="zero-width space, U+200B">\\u200B</span>min</bdi>');
      const page = await agent.get(`/audit/events/${event.id}`).expect(200);
      expect(page.text).not.toMatch(/[\u202E\u200B]/);
      expect(page.text).toContain('<bdi class="untrusted">evil<span class="esc" title="right-to-left override, U+202E">\\u202E</span>moc.elpmaxe</bdi>');
      expect(page.text).toContain('<span class="esc" title="zero-width space, U+200B">\\u200B</span>');
    });

    it('writes them as visible escapes in CSV, and as JSON escapes in NDJSON that read back as the stored text', async () => {
      const event = await rejectedLaunch();
      const csv = await api('/api/audit/export?type=launch.rejected').buffer(true).expect(200);
      expect(csv.text).not.toMatch(/[\u202E\u200B]/);
      const row = csv.text.split('\r\n').find((line) => line.startsWith(`${event.seq},`))!;
      expect(row.split(',').slice(6, 8)).toEqual(['evil\\u202Emoc.elpmaxe', 'ad\\u200Bmin']);

      const ndjson = await api('/api/audit/export?type=launch.rejected&format=ndjson').buffer(true).expect(200);
      expect(ndjson.text).not.toMatch(/[\u202E\u200B]/);
      expect(ndjson.text).toContain('"companyDomain":"evil\\u202emoc.elpmaxe","actingUser":"ad\\u200bmin"');
      const exported = ndjson.text.trimEnd().split('\n').map((line) => JSON.parse(line)).find((e) => e.seq === event.seq);
      expect(exported).toMatchObject({ companyDomain: DOMAIN, actingUser: USER, hash: event.hash });
    });
  });

  describe('API documentation', () => {
    it('serves the OpenAPI document of the audit API and the Swagger UI', async () => {
      const doc = await h.http.get('/api/docs/openapi.json').expect(200);
      expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/audit/events', '/api/audit/events/{id}', '/api/audit/export', '/api/audit/verify']));
      expect(doc.body.paths['/api/audit/events'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining(['from', 'to', 'tenant', 'company', 'user', 'owner', 'item', 'field', 'type', 'outcome', 'launch', 'correlation', 'cursor', 'limit']),
      );
      expect(Object.keys(doc.body.paths).filter((path) => !path.startsWith('/api/audit'))).toEqual([]);
      const ui = await h.http.get('/api/docs').expect(200);
      expect(ui.text).toContain('swagger-ui');
    });
  });
});
