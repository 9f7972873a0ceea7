import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpService } from '@nestjs/axios';
import { Logger } from '@nestjs/common';
import { jest } from '@jest/globals';
import axios from 'axios';
import { AppConfig, ServerAddress, type TenantConfig } from '../config/index.js';
import { Metrics } from '../metrics/metrics.service.js';
import { ConcurError } from './concur.types.js';
import { HostAllowList } from './host-allow-list.js';
import { SecretBox } from './secret-box.js';
import { OAuthClient } from './oauth.client.js';
import { concurCorrelationHeader } from './concur-errors.js';
import type { OAuthTokenRow, TokenRepository } from './token.repository.js';
import { seedHash, TokenService } from './token.service.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  form: URLSearchParams;
}

type Reply = (form: URLSearchParams) => { status: number; body: unknown };

class FakeTokenRepository {
  readonly rows = new Map<string, OAuthTokenRow>();
  async find(tenantId: string): Promise<OAuthTokenRow | undefined> {
    return this.rows.get(tenantId);
  }
  async save(row: Partial<OAuthTokenRow> & Pick<OAuthTokenRow, 'tenant_id'>): Promise<void> {
    this.rows.set(row.tenant_id, { geolocation: null, refresh_expires_at: null, ...row } as OAuthTokenRow);
  }
}

describe(TokenService.name, () => {
  let server: Server;
  let baseUrl: string;
  let seen: Seen[];
  let reply: Reply;
  let config: AppConfig;
  let repo: FakeTokenRepository;
  let box: SecretBox;
  let tenant: TenantConfig;
  let logged: string[];

  const ok = (accessToken: string, extra: Record<string, unknown> = {}): Reply => (form) => ({
    status: 200,
    body: { access_token: accessToken, expires_in: 3600, refresh_token: form.get('refresh_token'), ...extra },
  });

  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
      req.on('end', () => {
        const form = new URLSearchParams(raw);
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, form });
        const { status, body } = reply(form);
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(() => {
    seen = [];
    reply = ok('access-1');
    logged = [];
    for (const level of ['log', 'warn', 'error', 'debug', 'verbose'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation((message: unknown) => {
        logged.push(String(message));
      });
    }
    config = new AppConfig();
    config.concur.tokenRefreshSkewSeconds = 300;
    config.concur.timeoutMs = 2000;
    config.security.encryptionKey = randomBytes(32).toString('base64');
    tenant = {
      id: 'acme',
      allowedOrigins: [],
      oauth: { baseUrl, clientId: 'client-id', clientSecret: 'client-secret-xyz', refreshToken: 'configured-refresh' },
    } as unknown as TenantConfig;
    repo = new FakeTokenRepository();
    box = new SecretBox(config);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  function service(metrics?: Metrics, address = new ServerAddress()): TokenService {
    const allowList = new HostAllowList(config, address);
    const oauth = new OAuthClient(new HttpService(axios.create()), config, allowList, metrics);
    return new TokenService(oauth, config, allowList, repo as unknown as TokenRepository, box, undefined, metrics);
  }

  /** The test server as the sandbox: its two origins (127.0.0.1 and localhost) are allowed bases under /sandbox/concur. */
  function sandboxed(metrics?: Metrics): TokenService {
    config.sandbox.enabled = true;
    const address = new ServerAddress();
    address.set(baseUrl);
    return service(metrics, address);
  }

  it('asks for a token by the refresh_token grant, form-encoded, with the correlation id', async () => {
    const tokens = service();
    await expect(tokens.getAccessToken(tenant, 'corr-1')).resolves.toHaveProperty('accessToken', 'access-1');
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/oauth2/v0/token');
    expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(request.headers.accept).toMatch(/application\/json/);
    expect(request.headers['concur-correlationid']).toBe(concurCorrelationHeader('corr-1'));
    expect(Object.fromEntries(request.form)).toEqual({
      grant_type: 'refresh_token',
      client_id: 'client-id',
      client_secret: 'client-secret-xyz',
      refresh_token: 'configured-refresh',
    });
    expect(tokens.stats.tokenRequests).toBe(1);
  });

  it('caches the access token: two calls make one request', async () => {
    const tokens = service();
    expect((await tokens.getAccessToken(tenant, 'c')).accessToken).toBe('access-1');
    reply = ok('access-2');
    expect((await tokens.getAccessToken(tenant, 'c')).accessToken).toBe('access-1');
    expect(seen).toHaveLength(1);
  });

  it('refreshes once the expiry minus the skew has passed', async () => {
    const start = Date.now();
    let now = start;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const tokens = service();
    expect((await tokens.getAccessToken(tenant, 'c')).accessToken).toBe('access-1');
    reply = ok('access-2');
    now = start + (3600 - 300 - 1) * 1000;
    expect((await tokens.getAccessToken(tenant, 'c')).accessToken).toBe('access-1');
    expect(seen).toHaveLength(1);
    now = start + (3600 - 300 + 1) * 1000;
    expect((await tokens.getAccessToken(tenant, 'c')).accessToken).toBe('access-2');
    expect(seen).toHaveLength(2);
  });

  it('does not cache a token that lives less than the skew', async () => {
    reply = ok('short', { expires_in: 200 });
    const tokens = service();
    await tokens.getAccessToken(tenant, 'c');
    await tokens.getAccessToken(tenant, 'c');
    expect(seen).toHaveLength(2);
  });

  it('shares one refresh among 50 concurrent callers', async () => {
    const tokens = service();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => tokens.getAccessToken(tenant, `c${i}`)));
    expect(new Set(results.map((r) => r.accessToken))).toEqual(new Set(['access-1']));
    expect(seen).toHaveLength(1);
    expect(tokens.stats.tokenRequests).toBe(1);
  });

  it('counts and times token requests to Concur as operation "token" by status', async () => {
    const metrics = new Metrics();
    const tokens = service(metrics);
    await tokens.getAccessToken(tenant, 'c');
    reply = () => ({ status: 503, body: {} });
    await tokens.invalidate(tenant.id);
    await tokens.getAccessToken(tenant, 'c').catch(() => undefined);
    const counted = (await metrics.concurRequests.get()).values.map((v) => [v.labels.operation, v.labels.status, v.value]);
    expect(counted).toEqual(expect.arrayContaining([['token', '200', 1], ['token', '503', 1]]));
    const durations = (await metrics.concurDuration.get()).values.filter((v) => v.metricName?.endsWith('_count'));
    expect(durations.map((v) => v.value).reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('refreshes per tenant', async () => {
    const tokens = service();
    const other = { ...tenant, id: 'other' } as TenantConfig;
    await Promise.all([tokens.getAccessToken(tenant, 'c'), tokens.getAccessToken(other, 'c')]);
    expect(seen).toHaveLength(2);
  });

  it('fetches a new token after invalidate', async () => {
    const tokens = service();
    await tokens.getAccessToken(tenant, 'c');
    reply = ok('access-2');
    await tokens.invalidate(tenant.id);
    expect((await tokens.getAccessToken(tenant, 'c')).accessToken).toBe('access-2');
    expect(seen).toHaveLength(2);
  });

  it('invalidating a rejected token keeps a newer one fetched meanwhile', async () => {
    const tokens = service();
    expect((await tokens.getAccessToken(tenant, 'c')).accessToken).toBe('access-1');
    reply = ok('access-2');
    await tokens.invalidate(tenant.id, 'access-1');
    expect((await tokens.getAccessToken(tenant, 'c')).accessToken).toBe('access-2');
    reply = ok('access-3');
    await tokens.invalidate(tenant.id, 'access-1');
    expect((await tokens.getAccessToken(tenant, 'c')).accessToken).toBe('access-2');
    expect(seen).toHaveLength(2);
    await tokens.invalidate(tenant.id, 'access-2');
    expect((await tokens.getAccessToken(tenant, 'c')).accessToken).toBe('access-3');
    expect(seen).toHaveLength(3);
  });

  it('invalidating a rejected token does not disturb an in-flight refresh', async () => {
    const tokens = service();
    await tokens.getAccessToken(tenant, 'c');
    reply = ok('access-2');
    await tokens.invalidate(tenant.id, 'access-1');
    const first = tokens.getAccessToken(tenant, 'a');
    await tokens.invalidate(tenant.id, 'access-1');
    const second = tokens.getAccessToken(tenant, 'b');
    expect((await Promise.all([first, second])).map((t) => t.accessToken)).toEqual(['access-2', 'access-2']);
    expect((await tokens.getAccessToken(tenant, 'c')).accessToken).toBe('access-2');
    expect(seen).toHaveLength(2);
  });

  it('persists a rotated refresh token sealed and uses it next time', async () => {
    reply = ok('access-1', { refresh_token: 'rotated-1' });
    const tokens = service();
    await tokens.getAccessToken(tenant, 'c');
    const row = repo.rows.get('acme');
    expect(row).toBeDefined();
    expect(row!.refresh_token_enc).not.toContain('rotated-1');
    expect(box.open(row!.refresh_token_enc)).toBe('rotated-1');
    expect(row!.seed_hash).toBe(seedHash('configured-refresh'));

    reply = ok('access-2');
    await tokens.invalidate('acme');
    expect((await tokens.getAccessToken(tenant, 'c')).accessToken).toBe('access-2');
    expect(seen[1].form.get('refresh_token')).toBe('rotated-1');

    // A restarted process (new service, same store) also starts from the rotated token.
    await service().getAccessToken(tenant, 'c');
    expect(seen[2].form.get('refresh_token')).toBe('rotated-1');
  });

  it('keeps a rotated token whose save failed, and stores it at the next refresh', async () => {
    reply = ok('access-1', { refresh_token: 'rotated-1' });
    const tokens = service();
    const save = jest.spyOn(repo, 'save').mockRejectedValueOnce(new Error('database down'));
    await tokens.getAccessToken(tenant, 'c');
    expect(repo.rows.get('acme')).toBeUndefined();
    expect(logged.join('\n')).toContain('rotated refresh token of tenant acme could not be stored: database down');

    // The next refresh first stores the kept token (so other replicas see it), then uses it.
    reply = ok('access-2');
    await tokens.invalidate('acme');
    await tokens.getAccessToken(tenant, 'c');
    expect(save).toHaveBeenCalledTimes(2);
    expect(box.open(repo.rows.get('acme')!.refresh_token_enc)).toBe('rotated-1');
    expect(seen[1].form.get('refresh_token')).toBe('rotated-1');
    // And another process starts from it.
    await service().getAccessToken(tenant, 'c');
    expect(seen[2].form.get('refresh_token')).toBe('rotated-1');
  });

  it('does not write when the refresh token comes back unchanged', async () => {
    await service().getAccessToken(tenant, 'c');
    expect(repo.rows.size).toBe(0);
  });

  it('lets a newly configured refresh token win over one rotated from the old', async () => {
    repo.rows.set('acme', {
      tenant_id: 'acme',
      refresh_token_enc: box.seal('rotated-from-old'),
      seed_hash: seedHash('configured-refresh'),
      updated_at: new Date().toISOString(),
      geolocation: null,
      refresh_expires_at: null,
    });
    tenant.oauth.refreshToken = 'configured-new';
    await service().getAccessToken(tenant, 'c');
    expect(seen[0].form.get('refresh_token')).toBe('configured-new');
  });

  it('falls back to the configured token when the stored one cannot be opened', async () => {
    repo.rows.set('acme', {
      tenant_id: 'acme',
      refresh_token_enc: Buffer.alloc(40, 1).toString('base64'),
      seed_hash: seedHash('configured-refresh'),
      updated_at: new Date().toISOString(),
      geolocation: null,
      refresh_expires_at: null,
    });
    await service().getAccessToken(tenant, 'c');
    expect(seen[0].form.get('refresh_token')).toBe('configured-refresh');
  });

  it.each([400, 401, 403])('maps %i to an auth error', async (status) => {
    reply = () => ({ status, body: { error: 'invalid_grant' } });
    const error = await service().getAccessToken(tenant, 'c').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConcurError);
    expect(error).toMatchObject({ kind: 'auth', status, message: expect.stringMatching(/^Concur refused the refresh_token grant \(HTTP \d+\): invalid_grant$/) });
  });

  it.each([429, 500, 503])('maps %i to unavailable', async (status) => {
    reply = () => ({ status, body: {} });
    await expect(service().getAccessToken(tenant, 'c')).rejects.toMatchObject({ kind: 'unavailable', status });
  });

  it('maps a connection failure to unavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    tenant.oauth.baseUrl = `http://127.0.0.1:${port}`;
    await expect(service().getAccessToken(tenant, 'c')).rejects.toMatchObject({ kind: 'unavailable' });
  });

  it('maps an answer without access token to unavailable', async () => {
    reply = () => ({ status: 200, body: { token_type: 'Bearer' } });
    await expect(service().getAccessToken(tenant, 'c')).rejects.toMatchObject({ kind: 'unavailable' });
  });

  it('tries again after a failed refresh', async () => {
    reply = () => ({ status: 503, body: {} });
    const tokens = service();
    await expect(tokens.getAccessToken(tenant, 'c')).rejects.toBeInstanceOf(ConcurError);
    reply = ok('access-2');
    await expect(tokens.getAccessToken(tenant, 'c')).resolves.toHaveProperty('accessToken', 'access-2');
  });

  it('never logs tokens or secrets', async () => {
    reply = ok('access-secret-1', { refresh_token: 'rotated-secret' });
    const tokens = service();
    await tokens.getAccessToken(tenant, 'c');
    reply = () => ({ status: 401, body: {} });
    await tokens.invalidate('acme');
    await tokens.getAccessToken(tenant, 'c').catch(() => undefined);
    expect(logged.length).toBeGreaterThan(0);
    for (const secret of ['access-secret-1', 'rotated-secret', 'configured-refresh', 'client-secret-xyz']) {
      expect(logged.join('\n')).not.toContain(secret);
    }
  });

  it('reads expires_in as a string, as the docs show it', async () => {
    reply = () => ({ status: 200, body: { access_token: 'access-s', expires_in: '3600' } });
    const tokens = service();
    await tokens.getAccessToken(tenant, 'c');
    await tokens.getAccessToken(tenant, 'c');
    expect(seen).toHaveLength(1);
  });

  it("stores the token's geolocation with the refresh token and sends the next refresh and the API calls there", async () => {
    const geo = `http://localhost:${new URL(baseUrl).port}/sandbox/concur`;
    reply = ok('access-1', { refresh_token: 'rotated-1', geolocation: geo });
    const tokens = sandboxed();
    await expect(tokens.getAccessToken(tenant, 'c')).resolves.toEqual({ accessToken: 'access-1', geolocation: geo });
    expect(repo.rows.get('acme')).toMatchObject({ geolocation: geo });
    await tokens.invalidate('acme');
    reply = ok('access-2', { geolocation: geo });
    await tokens.getAccessToken(tenant, 'c');
    expect(seen[1].url).toBe('/sandbox/concur/oauth2/v0/token');
    expect(seen[1].headers.host).toBe(new URL(geo).host);
    expect(seen[1].form.get('refresh_token')).toBe('rotated-1');
    // A restarted replica reads it from the database.
    await sandboxed().getAccessToken(tenant, 'c');
    expect(seen[2].headers.host).toBe(new URL(geo).host);
  });

  it('ignores a geolocation that is not an allowed Concur host, and says so', async () => {
    reply = ok('access-1', { refresh_token: 'rotated-1', geolocation: 'https://evil.test' });
    const tokens = service();
    await expect(tokens.getAccessToken(tenant, 'c')).resolves.toEqual({ accessToken: 'access-1', geolocation: baseUrl });
    expect(repo.rows.get('acme')!.geolocation).toBe(baseUrl);
    expect(logged.join('\n')).toContain('https://evil.test is not an allowed Concur host');
  });

  it('asks again where Concur says the token lives (code 16), when that is an allowed base', async () => {
    const geo = `http://localhost:${new URL(baseUrl).port}/sandbox/concur`;
    reply = (form) =>
      seen.length === 1
        ? { status: 400, body: { code: 16, error: 'invalid_request', error_description: 'user lives elsewhere', geolocation: geo } }
        : ok('access-geo')(form);
    await expect(sandboxed().getAccessToken(tenant, 'c')).resolves.toEqual({ accessToken: 'access-geo', geolocation: geo });
    expect(seen.map((s) => s.headers.host)).toEqual([new URL(baseUrl).host, new URL(geo).host]);
  });

  it('on 108 (bad or expired refresh token) fails as auth, counts it and tells the admin what to do', async () => {
    reply = () => ({ status: 400, body: { code: 108, error: 'invalid_grant', error_description: 'bad or expired refresh token', geolocation: baseUrl } });
    const metrics = new Metrics();
    const error = (await service(metrics).getAccessToken(tenant, 'c').catch((e: unknown) => e)) as ConcurError;
    expect(error).toMatchObject({ kind: 'auth', status: 400, details: { oauthCode: 108, concurMessage: 'bad or expired refresh token' } });
    expect(logged.join('\n')).toMatch(/tenant acme: Concur refused the company refresh token \(code 108.*set TENANT_ACME_OAUTH_REFRESH_TOKEN/);
    const { values } = await metrics.oauthRefusals.get();
    expect(values).toEqual([expect.objectContaining({ labels: { tenant: 'acme', code: '108' }, value: 1 })]);
  });

  it('tracks when the refresh token expires: stored, a gauge, and a warning under 30 days', async () => {
    const metrics = new Metrics();
    const in90Days = Math.floor(Date.now() / 1000) + 90 * 86400;
    reply = ok('access-1', { refresh_expires_in: String(in90Days) });
    const tokens = service(metrics);
    await tokens.getAccessToken(tenant, 'c');
    expect(repo.rows.get('acme')!.refresh_expires_at).toBe(new Date(in90Days * 1000).toISOString());
    const gauge = (await metrics.refreshTokenExpiry.get()).values[0];
    expect(gauge.labels).toEqual({ tenant: 'acme' });
    expect(gauge.value).toBeGreaterThan(89 * 86400);
    expect(logged.join('\n')).not.toContain('expires in');
    await tokens.invalidate('acme');
    reply = ok('access-2', { refresh_expires_in: 10 * 86400 });
    await tokens.getAccessToken(tenant, 'c');
    expect(logged.join('\n')).toMatch(/tenant acme: the company refresh token expires in (9|10) day\(s\)/);
  });
});
