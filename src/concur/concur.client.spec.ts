import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpService } from '@nestjs/axios';
import { Logger } from '@nestjs/common';
import { jest } from '@jest/globals';
import axios from 'axios';
import { AppConfig, ServerAddress, type TenantConfig } from '../config/index.js';
import { Metrics } from '../metrics/metrics.service.js';
import { ConcurClient } from './concur.client.js';
import { ConcurError, type ItemRef } from './concur.types.js';
import { HostAllowList } from './host-allow-list.js';
import { parseItemUrl } from './item-url.js';
import { SecretBox } from './secret-box.js';
import type { OAuthTokenRow, TokenRepository } from './token.repository.js';
import { TokenService } from './token.service.js';
import { OAuthClient } from './oauth.client.js';
import { concurCorrelationHeader } from './concur-errors.js';
import { UserTokenService, type UserTokens } from './user-token.service.js';

type Answer = { status: number; headers?: Record<string, string>; body?: unknown } | 'hang' | 'reset';
/** Decides the answer once the request is seen; may hold it back until the test releases it. */
type Responder = (request: Seen) => Answer | Promise<Answer>;

interface Seen {
  method: string;
  url: string;
  host: string;
  headers: IncomingHttpHeaders;
  body: string;
}

class RecordingClient extends ConcurClient {
  readonly waits: number[] = [];
  protected override async sleep(ms: number): Promise<void> {
    this.waits.push(ms);
  }
}

const V3_ENTRY = {
  ID: 'E$1',
  ExpenseTypeName: 'Taxi',
  TransactionAmount: 42.5,
  TransactionCurrencyCode: 'EUR',
  TransactionDate: '2026-11-02T00:00:00',
  Custom1: { Type: 'Text', Value: 'PRJ-001', Code: null, ListItemID: null },
};

/** The parts of a v4 report GET the connector reads (v4.reports.markdown ReportDetails). */
const report = (approvalStatusId: string) => ({ reportId: 'R1', name: 'Trip', approvalStatusId, customData: [] });
const ALLOCATION = { allocationId: 'A1', expenseId: 'X1', percentage: 50, allocationAmount: { value: 5, currencyCode: 'CHF' }, customData: [] };

const V4_EXPENSE = {
  expenseId: 'X1',
  expenseType: { id: 'TAXI', name: 'Taxi' },
  transactionDate: '2026-11-02',
  transactionAmount: { value: 12.3, currencyCode: 'CHF' },
  customData: [{ id: 'custom9', value: 'PRJ-9', isValid: true }],
};

describe(ConcurClient.name, () => {
  let server: Server;
  let origin: string;
  let seen: Seen[];
  let tokenRequests: number;
  let script: Answer[];
  let fallback: Answer | Responder;
  /** Statuses the token endpoint answers first (non-2xx with an empty body), before the usual 200. */
  let tokenScript: number[];
  let hanging: ServerResponse[];
  let tokenForms: Array<Record<string, string>>;
  let tokenGeolocation: string | undefined;
  let config: AppConfig;
  let address: ServerAddress;
  let tenant: TenantConfig;
  let allowList: HostAllowList;
  let tokens: TokenService;
  let client: RecordingClient;
  let metrics: Metrics;
  let userTokens: UserTokenService;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', async () => {
        if (req.url === '/sandbox/concur/oauth2/v0/token') {
          tokenRequests++;
          const status = tokenScript.shift() ?? 200;
          if (status !== 200) {
            res.writeHead(status, { 'content-type': 'application/json' });
            res.end('{}');
            return;
          }
          tokenForms.push(Object.fromEntries(new URLSearchParams(body)));
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ access_token: `access-${tokenRequests}`, expires_in: '3600', refresh_token: `refresh-${tokenRequests}`, ...(tokenGeolocation ? { geolocation: tokenGeolocation } : {}) }));
          return;
        }
        const request = { method: req.method ?? '', url: req.url ?? '', host: req.headers.host ?? '', headers: req.headers, body };
        seen.push(request);
        const next = script.shift() ?? fallback;
        const answer = typeof next === 'function' ? await next(request) : next;
        if (answer === 'hang') {
          hanging.push(res);
          return;
        }
        if (answer === 'reset') {
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.status, { ...(answer.body === undefined ? {} : { 'content-type': 'application/json' }), ...answer.headers });
        res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(() => {
    for (const level of ['log', 'warn', 'error', 'debug', 'verbose'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
    }
    seen = [];
    tokenRequests = 0;
    tokenScript = [];
    tokenForms = [];
    tokenGeolocation = undefined;
    script = [];
    fallback = { status: 200, body: V3_ENTRY };
    hanging = [];
    config = new AppConfig();
    config.concur.apiOrigins = ['https://us.api.concursolutions.com'];
    config.concur.timeoutMs = 2000;
    config.concur.maxRetries = 2;
    config.concur.retryBaseDelayMs = 10;
    config.concur.maxRetryAfterSeconds = 10;
    config.sandbox.enabled = true;
    config.security.encryptionKey = randomBytes(32).toString('base64');
    address = new ServerAddress();
    address.set(origin);
    tenant = {
      id: 'acme',
      allowedOrigins: [],
      oauth: { baseUrl: 'sandbox', clientId: 'client', clientSecret: 'secret', refreshToken: 'refresh', userTokens: 'preferred' },
      fields: { v4: { header: ['custom9'], entry: ['custom9'], allocation: ['custom9'], expenseSource: 'OTHER', reportSource: 'OTHER' } },
    } as unknown as TenantConfig;
    allowList = new HostAllowList(config, address);
    const repo = {
      find: async (): Promise<OAuthTokenRow | undefined> => undefined,
      save: async (): Promise<void> => undefined,
    } as unknown as TokenRepository;
    const http = new HttpService(axios.create());
    const oauth = new OAuthClient(http, config, allowList);
    tokens = new TokenService(oauth, config, allowList, repo, new SecretBox(config));
    metrics = new Metrics();
    userTokens = new UserTokenService(oauth, config, allowList, new SecretBox(config));
    client = new RecordingClient(http, tokens, allowList, config, metrics, userTokens);
  });

  afterEach(() => {
    for (const res of hanging) res.destroy();
    jest.restoreAllMocks();
  });

  const v3Item = (): ItemRef =>
    parseItemUrl(`${origin}/sandbox/concur/api/v3.0/expense/entries/E$1`, 'v3', allowList.originsFor(tenant));
  const v4Expense = (): ItemRef =>
    parseItemUrl(
      `${origin}/sandbox/concur/expensereports/v4/users/U1/context/TRAVELER/reports/R1/expenses/X1`,
      'v4',
      allowList.originsFor(tenant),
    );
  const v4Item = (suffix: string): ItemRef =>
    parseItemUrl(`${origin}/sandbox/concur/expensereports/v4/users/U1/context/TRAVELER/reports/R1${suffix}`, 'v4', allowList.originsFor(tenant));
  /** Answers GETs of the report and the allocation as Concur does, and PATCHes with `patch`. */
  const concur = (approvalStatusId: string, patch: Answer = { status: 204 }): Responder => (request) => {
    if (request.method === 'PATCH') return patch;
    if (request.url.endsWith('/reports/R1')) return { status: 200, body: report(approvalStatusId) };
    if (request.url.includes('/allocations/')) return { status: 200, body: ALLOCATION };
    return { status: 200, body: V4_EXPENSE };
  };

  it('reads a v3 entry with the bearer token and the correlation id', async () => {
    const view = await client.readItem(tenant, v3Item(), 'Custom1', '11111111-2222-4333-8444-555555555555');
    expect(view).toEqual({ level: 'ENTRY', title: 'Taxi', amount: 42.5, currency: 'EUR', date: '2026-11-02', fieldValue: 'PRJ-001', fieldId: 'Custom1' });
    expect(seen).toHaveLength(1);
    expect(seen[0].method).toBe('GET');
    expect(seen[0].url).toBe('/sandbox/concur/api/v3.0/expense/entries/E%241');
    expect(seen[0].headers.authorization).toBe('Bearer access-1');
    expect(seen[0].headers.accept).toMatch(/application\/json/);
    expect(seen[0].headers['concur-correlationid']).toBe('11111111-2222-4333-8444-555555555555');
    expect(client.stats.calls).toBe(1);
  });

  it('reads a v4 expense', async () => {
    fallback = { status: 200, body: V4_EXPENSE };
    const view = await client.readItem(tenant, v4Expense(), 'custom9', 'c');
    expect(view).toEqual({ level: 'ENTRY', title: 'Taxi', amount: 12.3, currency: 'CHF', date: '2026-11-02', fieldValue: 'PRJ-9', fieldId: 'custom9' });
    expect(seen[0].url).toBe('/sandbox/concur/expensereports/v4/users/U1/context/TRAVELER/reports/R1/expenses/X1');
  });

  it('refuses an answer that is not an item', async () => {
    fallback = { status: 200, body: 'not json at all' };
    await expect(client.readItem(tenant, v3Item(), 'Custom1', 'c')).rejects.toMatchObject({ kind: 'rejected' });
  });

  it('writes a v3 field with PUT and the value as a plain string (EntryPut.Custom1: string)', async () => {
    await client.writeField(tenant, v3Item(), 'Custom1', 'PRJ-002', 'corr-8');
    expect(seen).toHaveLength(1);
    expect(seen[0].method).toBe('PUT');
    expect(seen[0].headers['content-type']).toMatch(/^application\/json/);
    expect(seen[0].headers.authorization).toBe('Bearer access-1');
    // Not a UUID (a proxy's X-Request-Id): sent as the UUID derived from it, as Concur's pages want one.
    expect(seen[0].headers['concur-correlationid']).toBe(concurCorrelationHeader('corr-8'));
    expect(seen[0].headers['concur-correlationid']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(JSON.parse(seen[0].body)).toEqual({ Custom1: 'PRJ-002' });
  });

  it('writes an expense of an unsubmitted report through the user-context path, with expenseSource', async () => {
    fallback = concur('A_NOTF');
    await client.writeField(tenant, v4Expense(), 'custom9', 'PRJ-3', 'corr-9');
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /sandbox/concur/expensereports/v4/users/U1/context/TRAVELER/reports/R1',
      'PATCH /sandbox/concur/expensereports/v4/users/U1/context/TRAVELER/reports/R1/expenses/X1',
    ]);
    expect(seen[1].headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(seen[1].body)).toEqual({ customData: [{ id: 'custom9', value: 'PRJ-3', isValid: true }], expenseSource: 'OTHER' });
  });

  it('writes an expense of a submitted report through the submitted-report path, as Concur reports the status', async () => {
    fallback = concur('A_PEND');
    tenant.fields.v4.expenseSource = 'UI';
    await client.writeField(tenant, v4Expense(), 'custom9', 'PRJ-3', 'c');
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /sandbox/concur/expensereports/v4/users/U1/context/TRAVELER/reports/R1',
      'PATCH /sandbox/concur/expensereports/v4/reports/R1/expenses/X1',
    ]);
    expect(JSON.parse(seen[1].body)).toEqual({ customData: [{ id: 'custom9', value: 'PRJ-3', isValid: true }], expenseSource: 'UI' });
  });

  it('writes a report header with reportSource', async () => {
    fallback = concur('A_NOTF');
    await client.writeField(tenant, v4Item(''), 'custom9', 'PRJ-4', 'c', { fieldId: 'custom09' });
    expect(seen).toHaveLength(1);
    expect(seen[0].method).toBe('PATCH');
    // The id as Concur spelled it when the item was read.
    expect(JSON.parse(seen[0].body)).toEqual({ customData: [{ id: 'custom09', value: 'PRJ-4', isValid: true }], reportSource: 'OTHER' });
  });

  it("writes an allocation with the expense Concur says it belongs to", async () => {
    fallback = concur('A_NOTF');
    await client.writeField(tenant, v4Item('/allocations/A1'), 'custom9', 'PRJ-5', 'c', { expenseIds: ['X1', 'X2'] });
    expect(seen.map((s) => s.method)).toEqual(['GET', 'PATCH']);
    expect(JSON.parse(seen[1].body)).toEqual({ allocation: { customData: [{ id: 'custom9', value: 'PRJ-5', isValid: true }] }, expenseIds: ['X1'] });
  });

  it("writes nothing when the launch's expense_ids do not include the allocation's expense", async () => {
    fallback = concur('A_NOTF');
    await expect(client.writeField(tenant, v4Item('/allocations/A1'), 'custom9', 'PRJ-5', 'c', { expenseIds: ['X9'] })).rejects.toThrow(
      /do not include the allocation's expense X1/,
    );
    expect(seen.map((s) => s.method)).toEqual(['GET']);
  });

  it('fails a v4 PATCH that Concur answers with anything but 204', async () => {
    fallback = concur('A_NOTF', { status: 200, body: {} });
    await expect(client.writeField(tenant, v4Item(''), 'custom9', 'PRJ-4', 'c')).rejects.toMatchObject({ kind: 'rejected', status: 200 });
  });

  it("keeps Concur's ErrorMessage, its validation errors and its correlation id", async () => {
    fallback = concur('A_NOTF', {
      status: 400,
      headers: { 'concur-correlationid': 'cc-42' },
      body: {
        errorId: 'e1',
        errorMessage: 'Request failed validation',
        httpStatus: '400 BAD_REQUEST',
        path: '/x',
        timestamp: '2026-12-08T00:00:00Z',
        validationErrors: [{ id: 'expenseSource', message: 'must not be null', source: 'body' }],
      },
    });
    const error = (await client.writeField(tenant, v4Item(''), 'custom9', 'PRJ-4', 'c').catch((e: unknown) => e)) as ConcurError;
    expect(error).toBeInstanceOf(ConcurError);
    expect(error.details.concurMessage).toBe('Request failed validation | validation: expenseSource: must not be null');
    expect(error.details.concurCorrelationId).toBe('cc-42');
    expect(error.message).toContain('Request failed validation');
  });

  it("keeps a v3 error body's Message", async () => {
    fallback = { status: 400, body: { Error: { Id: 'x', Message: 'Custom1 is not on the form', 'Server-Time': 'now' } } };
    const error = (await client.writeField(tenant, v3Item(), 'Custom1', 'PRJ', 'c').catch((e: unknown) => e)) as ConcurError;
    expect(error.details.concurMessage).toBe('Custom1 is not on the form');
  });

  it('bounds what it keeps of a hostile error body', async () => {
    fallback = { status: 400, body: { errorMessage: 'x'.repeat(100_000), validationErrors: Array.from({ length: 1000 }, () => ({ id: 'a', message: 'b' })) } };
    const error = (await client.writeField(tenant, v3Item(), 'Custom1', 'PRJ', 'c').catch((e: unknown) => e)) as ConcurError;
    expect(error.details.concurMessage!.length).toBeLessThanOrEqual(500);
  });

  it('renews the token once on a 403 that says it expired or was revoked, but not on another 403', async () => {
    script = [{ status: 403, body: { errorMessage: 'The OAuth token has expired or been revoked' } }];
    await client.readItem(tenant, v3Item(), 'Custom1', 'c');
    expect(tokenRequests).toBe(2);
    script = [{ status: 403, body: { errorMessage: 'No access to this report' } }];
    await expect(client.readItem(tenant, v3Item(), 'Custom1', 'c')).rejects.toMatchObject({ kind: 'rejected', status: 403 });
    expect(tokenRequests).toBe(2);
  });

  it("sends API calls and the next refresh to the token's geolocation when it is an allowed base", async () => {
    const geo = address.sandboxGeoOrigin()!;
    tokenGeolocation = `${geo}/sandbox/concur`;
    await client.readItem(tenant, v3Item(), 'Custom1', 'c');
    expect(seen[0].host).toBe(new URL(geo).host);
    expect(seen[0].url).toBe('/sandbox/concur/api/v3.0/expense/entries/E%241');
  });

  it('ignores a geolocation that is not an allowed Concur host', async () => {
    tokenGeolocation = 'https://evil.test';
    await client.readItem(tenant, v3Item(), 'Custom1', 'c');
    expect(seen[0].host).toBe(new URL(origin).host);
  });

  describe("as the user (the launch's client_auth_code)", () => {
    const user = (grant: Partial<UserTokens['grant']> = {}): UserTokens & { saved: number } => {
      const tokensOfUser = {
        saved: 0,
        grant: { accessToken: 'user-access', refreshToken: 'user-refresh', geolocation: `${origin}/sandbox/concur`, refreshAt: Date.now() + 60_000, ...grant },
        async renewed() {
          tokensOfUser.saved++;
        },
      };
      return tokensOfUser;
    };

    it("reads and writes with the user's token, never asking for the company's", async () => {
      fallback = concur('A_NOTF');
      const tokensOfUser = user();
      await client.readItem(tenant, v4Expense(), 'custom9', 'c', tokensOfUser);
      await client.writeField(tenant, v4Expense(), 'custom9', 'PRJ', 'c', { user: tokensOfUser });
      expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer user-access', 'Bearer user-access', 'Bearer user-access']);
      expect(tokenRequests).toBe(0);
    });

    it("renews the user's token with its refresh token on 401 and hands the new grant back", async () => {
      script = [{ status: 401, body: {} }];
      const tokensOfUser = user();
      await client.readItem(tenant, v3Item(), 'Custom1', 'c', tokensOfUser);
      expect(tokenForms).toEqual([expect.objectContaining({ grant_type: 'refresh_token', refresh_token: 'user-refresh' })]);
      expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer user-access', 'Bearer access-1']);
      expect(tokensOfUser.saved).toBe(1);
      expect(tokensOfUser.grant).toMatchObject({ accessToken: 'access-1', refreshToken: 'refresh-1' });
    });

    it("renews an expired user token before using it", async () => {
      const tokensOfUser = user({ refreshAt: Date.now() - 1 });
      await client.readItem(tenant, v3Item(), 'Custom1', 'c', tokensOfUser);
      expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer access-1']);
    });
  });

  it('refuses a value over 48 characters before any request', async () => {
    await expect(client.writeField(tenant, v3Item(), 'Custom1', 'x'.repeat(49), 'c')).rejects.toThrow(/at most 48/);
    expect(seen).toHaveLength(0);
    expect(tokenRequests).toBe(0);
  });

  it('honours Retry-After on 429, then succeeds', async () => {
    script = [{ status: 429, headers: { 'retry-after': '2' }, body: {} }];
    await client.readItem(tenant, v3Item(), 'Custom1', 'c');
    expect(seen).toHaveLength(2);
    expect(client.waits).toEqual([2000]);
    expect(client.stats).toEqual({ calls: 2, retries: 1 });
  });

  it('does not wait for a Retry-After longer than allowed', async () => {
    script = [{ status: 429, headers: { 'retry-after': '60' }, body: {} }];
    const error = await client.readItem(tenant, v3Item(), 'Custom1', 'c').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurError);
    expect(error).toMatchObject({ kind: 'unavailable', status: 429 });
    expect(seen).toHaveLength(1);
    expect(client.waits).toEqual([]);
  });

  it('retries 503 with growing backoff, then fails as unavailable', async () => {
    fallback = { status: 503, body: {} };
    const error = await client.writeField(tenant, v3Item(), 'Custom1', 'PRJ', 'c').catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'unavailable', status: 503 });
    expect(seen).toHaveLength(3);
    expect(client.waits).toHaveLength(2);
    expect(client.waits[0]).toBeGreaterThanOrEqual(10);
    expect(client.waits[0]).toBeLessThan(20);
    expect(client.waits[1]).toBeGreaterThanOrEqual(20);
    expect(client.waits[1]).toBeLessThan(30);
  });

  it('retries a 5xx and succeeds when Concur recovers', async () => {
    script = [{ status: 502, body: {} }];
    await expect(client.readItem(tenant, v3Item(), 'Custom1', 'c')).resolves.toMatchObject({ title: 'Taxi' });
    expect(seen).toHaveLength(2);
  });

  it('retries a reset connection', async () => {
    script = ['reset'];
    await expect(client.readItem(tenant, v3Item(), 'Custom1', 'c')).resolves.toMatchObject({ title: 'Taxi' });
    expect(seen).toHaveLength(2);
  });

  it('treats a timeout as unavailable after the retries', async () => {
    config.concur.timeoutMs = 100;
    config.concur.maxRetries = 1;
    fallback = 'hang';
    await expect(client.readItem(tenant, v3Item(), 'Custom1', 'c')).rejects.toMatchObject({ kind: 'unavailable' });
    expect(seen).toHaveLength(2);
  });

  it('on 401 gets a new token once and retries with it', async () => {
    script = [{ status: 401, body: {} }];
    await client.readItem(tenant, v3Item(), 'Custom1', 'c');
    expect(tokenRequests).toBe(2);
    expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer access-1', 'Bearer access-2']);
  });

  it('gives up as rejected when the new token is refused too', async () => {
    fallback = { status: 401, body: {} };
    await expect(client.readItem(tenant, v3Item(), 'Custom1', 'c')).rejects.toMatchObject({ kind: 'rejected', status: 401 });
    expect(seen).toHaveLength(2);
    expect(tokenRequests).toBe(2);
  });

  it("keeps the shared store as the cause when the token cache's Redis fails on every attempt", async () => {
    config.concur.maxRetries = 1;
    jest
      .spyOn(tokens, 'getAccessToken')
      .mockRejectedValue(new ConcurError('unavailable', 'Redis token read failed: Connection is closed.', undefined, 'shared-store'));
    await expect(client.readItem(tenant, v3Item(), 'Custom1', 'c')).rejects.toMatchObject({
      kind: 'unavailable',
      source: 'shared-store',
      message: expect.stringContaining('Redis token read failed'),
    });
    expect(seen).toHaveLength(0);
  });

  it('retries when the OAuth endpoint is unavailable, then succeeds', async () => {
    tokenScript = [503];
    await expect(client.readItem(tenant, v3Item(), 'Custom1', 'c')).resolves.toMatchObject({ title: 'Taxi' });
    expect(tokenRequests).toBe(2);
    expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer access-2']);
    expect(client.waits).toHaveLength(1);
    expect(client.waits[0]).toBeGreaterThanOrEqual(10);
    expect(client.waits[0]).toBeLessThan(20);
    expect(client.stats).toEqual({ calls: 1, retries: 1 });
  });

  it('fails as unavailable when the OAuth endpoint stays unavailable', async () => {
    tokenScript = [503, 503, 503, 503, 503];
    const error = await client.writeField(tenant, v3Item(), 'Custom1', 'PRJ', 'c').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurError);
    expect(error).toMatchObject({ kind: 'unavailable', status: 503 });
    expect((error as Error).message).toContain('after 3 attempts');
    expect(tokenRequests).toBe(3);
    expect(seen).toHaveLength(0);
    expect(client.waits).toHaveLength(2);
    expect(client.stats).toEqual({ calls: 0, retries: 2 });
  });

  it('does not retry refused OAuth credentials', async () => {
    tokenScript = [400];
    await expect(client.readItem(tenant, v3Item(), 'Custom1', 'c')).rejects.toMatchObject({ kind: 'auth', status: 400 });
    expect(tokenRequests).toBe(1);
    expect(seen).toHaveLength(0);
    expect(client.waits).toEqual([]);
  });

  it('refreshes the token once when concurrent requests get 401 for the same old token', async () => {
    let renewedTokenSeen!: () => void;
    const renewed = new Promise<void>((resolve) => (renewedTokenSeen = resolve));
    let refusals = 0;
    fallback = async (request) => {
      if (request.headers.authorization !== 'Bearer access-1') {
        renewedTokenSeen();
        return { status: 200, body: V3_ENTRY };
      }
      // The second 401 lands only after the first request has renewed the token and used it.
      if (++refusals > 1) await renewed;
      return { status: 401, body: {} };
    };
    const views = await Promise.all([
      client.readItem(tenant, v3Item(), 'Custom1', 'a'),
      client.readItem(tenant, v3Item(), 'Custom1', 'b'),
    ]);
    expect(views.map((v) => v.title)).toEqual(['Taxi', 'Taxi']);
    expect(tokenRequests).toBe(2);
    expect(seen.map((s) => s.headers.authorization).sort()).toEqual([
      'Bearer access-1',
      'Bearer access-1',
      'Bearer access-2',
      'Bearer access-2',
    ]);
  });

  it('maps 404 to rejected without retrying', async () => {
    fallback = { status: 404, body: { Message: 'not found' } };
    const error = await client.readItem(tenant, v3Item(), 'Custom1', 'c').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurError);
    expect(error).toMatchObject({ kind: 'rejected', status: 404 });
    expect((error as Error).message).toContain('404');
    expect(seen).toHaveLength(1);
  });

  describe('counts every HTTP call in clc_concur_requests_total', () => {
    async function counted(): Promise<Record<string, number>> {
      const { values } = await metrics.concurRequests.get();
      return Object.fromEntries(values.map((v) => [`${v.labels.operation}:${v.labels.status}`, v.value]));
    }

    it('by operation and HTTP status, each attempt, with its duration', async () => {
      script = [{ status: 503, body: {} }];
      await client.readItem(tenant, v3Item(), 'Custom1', 'c');
      fallback = concur('A_NOTF');
      await client.writeField(tenant, v4Expense(), 'custom9', 'PRJ-3', 'c');
      expect(await counted()).toEqual({ 'read_item:503': 1, 'read_item:200': 2, 'write_field:204': 1 });
      const durations = (await metrics.concurDuration.get()).values.filter((v) => v.metricName === 'clc_concur_request_duration_seconds_count');
      expect(durations.reduce((sum, v) => sum + v.value, 0)).toBe(4);
    });

    it('as error when no answer came, and not at all when nothing was sent', async () => {
      script = ['reset'];
      await client.readItem(tenant, v3Item(), 'Custom1', 'c');
      tokenScript = [400];
      await tokens.invalidate(tenant.id);
      await client.readItem(tenant, v3Item(), 'Custom1', 'c').catch(() => undefined);
      expect(await counted()).toEqual({ 'read_item:error': 1, 'read_item:200': 1 });
    });
  });

  it('sends nothing, not even a token request, towards a host that is not allowed', async () => {
    const evil: ItemRef = { ...v3Item(), url: 'https://evil.test/api/v3.0/expense/entries/E1', origin: 'https://evil.test' };
    await expect(client.readItem(tenant, evil, 'Custom1', 'c')).rejects.toMatchObject({ kind: 'rejected', message: 'item host is not allowed' });
    await expect(client.writeField(tenant, evil, 'Custom1', 'PRJ', 'c')).rejects.toMatchObject({ kind: 'rejected' });
    const item = v3Item();
    config.sandbox.enabled = false;
    await expect(client.readItem(tenant, item, 'Custom1', 'c')).rejects.toMatchObject({ message: 'item host is not allowed' });
    expect(seen).toHaveLength(0);
    expect(tokenRequests).toBe(0);
    expect(client.stats.calls).toBe(0);
  });
});
