import { checkContract } from '../concur/contract/contract.js';
import type { AppConfig } from '../config/index.js';
import { ServerAddress, Tenants } from '../config/index.js';
import { SandboxFaults } from './sandbox.faults.js';
import { AUTH_CODE_LIFETIME_MS, REFRESH_LIFETIME_SECONDS, SandboxOAuth } from './sandbox.oauth.js';
import { COMPANY, userPrincipal } from './sandbox.principal.js';
import { SANDBOX_COMPANY, SANDBOX_USER } from './sandbox.seed.js';

const MAIN = 'http://127.0.0.1:4000';
const GEO = 'http://localhost:4000';
const NOW = 1_800_000_000_000;
const OTHER_USER = '9a8b7c6d-0000-4000-8000-000000000001';

function tenants(oauth: Record<string, unknown> = {}): Tenants {
  const other = { id: 'acme', companyDomains: ['acme.example'], oauth: { baseUrl: 'https://us.api.concursolutions.com', clientId: 'x', clientSecret: 'y', refreshToken: 'z' } };
  const sandbox = {
    id: 'sandbox',
    companyDomains: ['sandbox.example.com'],
    oauth: { baseUrl: 'sandbox', clientId: 'sandbox-client', clientSecret: 'sandbox-client-secret', refreshToken: 'seed-refresh-token', ...oauth },
  };
  return new Tenants({ tenants: [other, sandbox] } as unknown as AppConfig);
}

function address(origin?: string): ServerAddress {
  const server = new ServerAddress();
  if (origin) server.set(origin);
  return server;
}

const client = { client_id: 'sandbox-client', client_secret: 'sandbox-client-secret' };
const refreshForm = (refreshToken: string, extra: Record<string, unknown> = {}) => ({ ...client, grant_type: 'refresh_token', refresh_token: refreshToken, ...extra });
const codeForm = (code: string, extra: Record<string, unknown> = {}) => ({
  ...client,
  grant_type: 'authorization_code',
  code,
  redirect_uri: 'https://connector.example.com',
  ...extra,
});

function jwtClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe(ServerAddress.name, () => {
  it('names the sandbox geolocation: the same port under the other loopback name', () => {
    expect(address('http://127.0.0.1:4000').sandboxGeoOrigin()).toBe('http://localhost:4000');
    expect(address('https://localhost:8443/').sandboxGeoOrigin()).toBe('https://127.0.0.1:8443');
    expect(address('http://connector.example.com:3000').sandboxGeoOrigin()).toBeUndefined();
    expect(address('http://[::1]:3000').sandboxGeoOrigin()).toBeUndefined();
    expect(address().sandboxGeoOrigin()).toBeUndefined();
  });
});

describe(SandboxOAuth.name, () => {
  let faults: SandboxFaults;
  let oauth: SandboxOAuth;

  beforeEach(() => {
    faults = new SandboxFaults();
    oauth = new SandboxOAuth(tenants(), faults, address(MAIN));
  });

  /** A successful token answer's body, checked against the documented TokenResponse. */
  function granted(reply: ReturnType<SandboxOAuth['token']>): Record<string, string> {
    expect(reply.status).toBe(200);
    expect(checkContract('oauth.TokenResponse', reply.body)).toEqual({ ok: true, errors: [] });
    return reply.body as Record<string, string>;
  }

  /** An error answer: its status and code, the body checked against the documented oauth error. */
  function refused(reply: ReturnType<SandboxOAuth['token']>, status: number, code: number | undefined): Record<string, unknown> {
    expect(reply.status).toBe(status);
    expect(checkContract('oauth.Error', reply.body)).toEqual({ ok: true, errors: [] });
    expect((reply.body as { code?: number }).code).toBe(code);
    expect(reply.headers).toMatchObject({ 'Cache-Control': 'no-store' });
    return reply.body as Record<string, unknown>;
  }

  it('uses the first tenant whose OAuth base URL is "sandbox" and accepts only its client', () => {
    expect(oauth.tenant()?.id).toBe('sandbox');
    expect(oauth.clientMatches('sandbox-client', 'sandbox-client-secret')).toBe(true);
    expect(oauth.clientMatches('sandbox-client', 'wrong')).toBe(false);
    expect(oauth.clientMatches('x', 'y')).toBe(false);
    expect(oauth.clientMatches(undefined, 'sandbox-client-secret')).toBe(false);
  });

  describe('refresh_token grant', () => {
    it('answers the seed refresh token at the main origin as apidoc.markdown shows: strings for the times, the geolocation', () => {
      const body = granted(oauth.token(refreshForm('seed-refresh-token'), MAIN, NOW));
      expect(body).toMatchObject({ expires_in: '3600', token_type: 'Bearer', geolocation: `${GEO}/sandbox/concur` });
      expect(Object.keys(body)).toEqual(['expires_in', 'scope', 'token_type', 'access_token', 'refresh_token', 'refresh_expires_in', 'id_token', 'geolocation']);
      expect(body.refresh_expires_in).toBe(String(NOW / 1000 + REFRESH_LIFETIME_SECONDS));
      expect(jwtClaims(body.id_token)).toMatchObject({ 'concur.type': 'company', sub: SANDBOX_COMPANY.uuid, aud: 'sandbox-client' });
      expect(oauth.authenticate(`Bearer ${body.access_token}`, GEO, NOW)).toEqual({ ok: true, principal: COMPANY });
    });

    it('lets the seed refresh token work once (108 afterwards), until the sandbox is reset', () => {
      granted(oauth.token(refreshForm('seed-refresh-token'), MAIN, NOW));
      refused(oauth.token(refreshForm('seed-refresh-token'), MAIN, NOW), 400, 108);
      oauth.reset();
      granted(oauth.token(refreshForm('seed-refresh-token'), MAIN, NOW));
    });

    it('lets an issued refresh token work once: the second use answers 108 bad or expired refresh token', () => {
      const first = granted(oauth.token(refreshForm('seed-refresh-token'), MAIN, NOW));
      const second = granted(oauth.token(refreshForm(first.refresh_token), GEO, NOW));
      expect(second.refresh_token).not.toBe(first.refresh_token);
      expect(refused(oauth.token(refreshForm(first.refresh_token), GEO, NOW), 400, 108)).toMatchObject({
        error: 'invalid_grant',
        error_description: 'bad or expired refresh token',
      });
      granted(oauth.token(refreshForm(second.refresh_token), GEO, NOW));
    });

    it('keeps a persisted refresh token valid across a restart (a new instance), and refuses it once its six months are over', () => {
      const issued = oauth.issueRefreshToken(COMPANY, true, NOW);
      const restarted = new SandboxOAuth(tenants(), new SandboxFaults(), address(MAIN));
      granted(restarted.token(refreshForm(issued.refreshToken), GEO, NOW));
      const old = oauth.issueRefreshToken(COMPANY, true, NOW);
      refused(oauth.token(refreshForm(old.refreshToken), GEO, (old.expiresAt + 1) * 1000), 400, 108);
    });

    it('answers 16 "user lives elsewhere" with the right geolocation when a grant is redeemed at the wrong origin', () => {
      const first = granted(oauth.token(refreshForm('seed-refresh-token'), MAIN, NOW));
      expect(refused(oauth.token(refreshForm(first.refresh_token), MAIN, NOW), 400, 16)).toMatchObject({
        error: 'invalid_request',
        error_description: 'user lives elsewhere',
        geolocation: `${GEO}/sandbox/concur`,
      });
      // Not used up by the refused attempt.
      granted(oauth.token(refreshForm(first.refresh_token), GEO, NOW));
      oauth.reset();
      expect(refused(oauth.token(refreshForm('seed-refresh-token'), GEO, NOW), 400, 16).geolocation).toBe(`${MAIN}/sandbox/concur`);
    });

    it('refuses forged, altered, foreign and access tokens with 108', () => {
      const { refreshToken } = oauth.issueRefreshToken(COMPANY, true, NOW);
      const [prefix, claims, mac] = refreshToken.split('.');
      for (const token of [
        `${prefix}.${claims}.AAAA`,
        `${prefix}.${claims}x.${mac}`,
        new SandboxOAuth(tenants({ clientSecret: 'another-secret' }), faults, address(MAIN)).issueRefreshToken(COMPANY, true, NOW).refreshToken,
        oauth.issueAccessToken(COMPANY, true, NOW).accessToken,
        'sbxrt.forged.mac',
      ]) {
        refused(oauth.token(refreshForm(token), GEO, NOW), 400, 108);
      }
    });

    it.each([
      [{ client_secret: 'sandbox-client-secret', grant_type: 'refresh_token', refresh_token: 'r' }, 400, 62],
      [{ client_id: 'sandbox-client', grant_type: 'refresh_token', refresh_token: 'r' }, 400, 63],
      [{ ...client, refresh_token: 'r' }, 400, 65],
      [{ ...client, client_secret: 'wrong', grant_type: 'refresh_token', refresh_token: 'r' }, 401, 64],
      [{ ...client, grant_type: 'refresh_token' }, 400, 106],
      [{ ...client, grant_type: 'refresh_token', refresh_token: '' }, 400, 106],
      [{ ...client, grant_type: 'password', username: 'u', password: 'p' }, 400, 60],
    ])('answers %j with %i and code %i', (form, status, code) => {
      refused(oauth.token(form, MAIN, NOW), status, code);
    });

    it('refuses a form the refresh grant does not document (invalid_request, no code on the page for it)', () => {
      const body = refused(oauth.token(refreshForm('seed-refresh-token', { colour: 'red' }), MAIN, NOW), 400, undefined);
      expect(body).toMatchObject({ error: 'invalid_request', error_description: expect.stringContaining('colour') });
      // The seed refresh token is still unused.
      granted(oauth.token(refreshForm('seed-refresh-token', { scope: 'EXPRPT' }), MAIN, NOW));
    });
  });

  describe('authorization_code grant (a launch’s client_auth_code)', () => {
    it("exchanges a code once, at the main origin, for the user's tokens; their refresh token stays a user token", () => {
      const code = oauth.issueAuthorizationCode(SANDBOX_USER.uuid, NOW);
      const body = granted(oauth.token(codeForm(code), MAIN, NOW));
      expect(body.geolocation).toBe(`${GEO}/sandbox/concur`);
      expect(jwtClaims(body.id_token)).toMatchObject({ 'concur.type': 'user', sub: SANDBOX_USER.uuid });
      const user = userPrincipal(SANDBOX_USER.uuid);
      expect(oauth.authenticate(`Bearer ${body.access_token}`, GEO, NOW)).toEqual({ ok: true, principal: user });
      refused(oauth.token(codeForm(code), MAIN, NOW), 400, 103);
      const refreshed = granted(oauth.token(refreshForm(body.refresh_token), GEO, NOW));
      expect(oauth.authenticate(`Bearer ${refreshed.access_token}`, GEO, NOW)).toEqual({ ok: true, principal: user });
    });

    it('refuses a code after five minutes, an unknown code, and codes redeemed at the geolocation', () => {
      const late = oauth.issueAuthorizationCode(SANDBOX_USER.uuid, NOW);
      refused(oauth.token(codeForm(late), MAIN, NOW + AUTH_CODE_LIFETIME_MS), 400, 103);
      refused(oauth.token(codeForm('3f0c2b1a-0000-4000-8000-000000000000'), MAIN, NOW), 400, 103);
      const code = oauth.issueAuthorizationCode(SANDBOX_USER.uuid, NOW);
      expect(refused(oauth.token(codeForm(code), GEO, NOW), 400, 16).geolocation).toBe(`${MAIN}/sandbox/concur`);
      granted(oauth.token(codeForm(code), MAIN, NOW + AUTH_CODE_LIFETIME_MS - 1));
    });

    it('needs code (101) and redirect_uri (102), and takes no member the grant does not document', () => {
      const code = oauth.issueAuthorizationCode(SANDBOX_USER.uuid, NOW);
      refused(oauth.token(codeForm(code, { code: undefined }), MAIN, NOW), 400, 101);
      refused(oauth.token(codeForm(code, { redirect_uri: undefined }), MAIN, NOW), 400, 102);
      refused(oauth.token(codeForm(code, { scope: 'EXPRPT' }), MAIN, NOW), 400, undefined);
      granted(oauth.token(codeForm(code), MAIN, NOW));
    });

    it('compares redirect_uri with the registered one when the tenant has oauth.redirectUri (104)', () => {
      const registered = new SandboxOAuth(tenants({ redirectUri: 'https://connector.example.com' }), faults, address(MAIN));
      const code = registered.issueAuthorizationCode(SANDBOX_USER.uuid, NOW);
      expect(refused(registered.token(codeForm(code, { redirect_uri: 'https://elsewhere.example.com' }), MAIN, NOW), 400, 104)).toMatchObject({
        error: 'invalid_grant',
      });
      granted(registered.token(codeForm(code), MAIN, NOW));
    });
  });

  describe('access tokens', () => {
    const bearer = (principal = COMPANY, now = NOW) => `Bearer ${oauth.issueAccessToken(principal, true, now).accessToken}`;

    it('are good at the geolocation until they expire, and 401 at the main origin', () => {
      const token = bearer();
      expect(oauth.authenticate(token, GEO, NOW + 3_599_999)).toEqual({ ok: true, principal: COMPANY });
      expect(oauth.authenticate(token, GEO, NOW + 3_600_000)).toMatchObject({ ok: false, status: 401 });
      expect(oauth.authenticate(token, MAIN, NOW)).toMatchObject({ ok: false, status: 401, message: expect.stringContaining(GEO) });
    });

    it('follow the lifetime switch', () => {
      faults.setTokenTtlSeconds(60);
      const { accessToken, expiresIn } = oauth.issueAccessToken(COMPANY, true, NOW);
      expect(expiresIn).toBe(60);
      expect(oauth.authenticate(`Bearer ${accessToken}`, GEO, NOW + 61_000)).toMatchObject({ ok: false, status: 401 });
    });

    it('answer 401 when issued before expireTokens, 403 "expired or been revoked" when issued before revokeTokens', () => {
      const old = bearer();
      faults.expireTokensIssuedBefore(NOW + 10);
      expect(oauth.authenticate(old, GEO, NOW + 20)).toMatchObject({ ok: false, status: 401 });
      const newer = bearer(COMPANY, NOW + 10);
      faults.revokeTokensIssuedBefore(NOW + 20);
      expect(oauth.authenticate(newer, GEO, NOW + 30)).toEqual({ ok: false, status: 403, message: 'The OAuth token has expired or been revoked' });
      expect(oauth.authenticate(bearer(COMPANY, NOW + 20), GEO, NOW + 30)).toEqual({ ok: true, principal: COMPANY });
    });

    it('refuse a missing header, a forged mac, a pushed expiry and a refresh token', () => {
      const token = bearer().slice('Bearer '.length);
      const [prefix, claims, mac] = token.split('.');
      const pushed = Buffer.from(JSON.stringify({ ...jwtClaims(token), exp: NOW * 2 })).toString('base64url');
      const refreshToken = oauth.issueRefreshToken(COMPANY, true, NOW).refreshToken;
      for (const header of [
        undefined,
        'Basic abc',
        `Bearer ${prefix}.${claims}.${mac.slice(0, -2)}AA`,
        `Bearer ${prefix}.${pushed}.${mac}`,
        `Bearer ${refreshToken}`,
      ]) {
        expect(oauth.authenticate(header, GEO, NOW)).toMatchObject({ ok: false, status: 401 });
      }
      const foreign = new SandboxOAuth(tenants({ clientSecret: 'another-secret' }), faults, address(MAIN));
      expect(foreign.authenticate(`Bearer ${token}`, GEO, NOW)).toMatchObject({ ok: false, status: 401 });
    });

    it('carry their principal: a user token says which user', () => {
      expect(oauth.authenticate(bearer(userPrincipal(OTHER_USER)), GEO, NOW)).toEqual({ ok: true, principal: `user:${OTHER_USER}` });
    });
  });

  it('binds nothing when the server has no geolocation: every token answer names the main origin', () => {
    const plain = new SandboxOAuth(tenants(), faults, address('http://connector.internal:3000'));
    const body = granted(plain.token(refreshForm('seed-refresh-token'), 'http://connector.internal:3000', NOW));
    expect(body.geolocation).toBe('http://connector.internal:3000/sandbox/concur');
    expect(plain.authenticate(`Bearer ${body.access_token}`, 'http://127.0.0.1:3000', NOW)).toEqual({ ok: true, principal: COMPANY });
    granted(plain.token(refreshForm(body.refresh_token), 'http://127.0.0.1:3000', NOW));
  });

  it('refuses everything when no sandbox tenant is configured', () => {
    const none = new SandboxOAuth(new Tenants({ tenants: [] } as unknown as AppConfig), faults, address(MAIN));
    expect(none.tenant()).toBeUndefined();
    refused(none.token(refreshForm('seed-refresh-token'), MAIN, NOW), 401, 64);
    expect(none.authenticate(`Bearer ${oauth.issueAccessToken(COMPANY, true, NOW).accessToken}`, GEO, NOW)).toMatchObject({ ok: false, status: 401 });
  });
});
