import type { AppConfig } from '../config/index.js';
import { Tenants } from '../config/index.js';
import { SandboxFaults } from './sandbox.faults.js';
import { SandboxOAuth } from './sandbox.oauth.js';

function tenants(clientSecret = 'sandbox-client-secret'): Tenants {
  const other = { id: 'acme', companyDomains: ['acme.example'], oauth: { baseUrl: 'https://us.api.concursolutions.com', clientId: 'x', clientSecret: 'y', refreshToken: 'z' } };
  const sandbox = {
    id: 'sandbox',
    companyDomains: ['sandbox.example.com'],
    oauth: { baseUrl: 'sandbox', clientId: 'sandbox-client', clientSecret, refreshToken: 'seed-refresh-token' },
  };
  return new Tenants({ tenants: [other, sandbox] } as unknown as AppConfig);
}

describe(SandboxOAuth.name, () => {
  let faults: SandboxFaults;
  let oauth: SandboxOAuth;

  beforeEach(() => {
    faults = new SandboxFaults();
    oauth = new SandboxOAuth(tenants(), faults);
  });

  it('uses the first tenant whose OAuth base URL is "sandbox"', () => {
    expect(oauth.tenant()?.id).toBe('sandbox');
  });

  it('accepts only the sandbox tenant client id and secret', () => {
    expect(oauth.clientMatches('sandbox-client', 'sandbox-client-secret')).toBe(true);
    expect(oauth.clientMatches('sandbox-client', 'wrong')).toBe(false);
    expect(oauth.clientMatches('x', 'y')).toBe(false);
    expect(oauth.clientMatches(undefined, 'sandbox-client-secret')).toBe(false);
  });

  it('accepts the configured seed refresh token', () => {
    expect(oauth.isValidRefreshToken('seed-refresh-token')).toBe(true);
  });

  it('accepts a rotated refresh token it signed, also after a restart (a new instance)', () => {
    const rotated = oauth.issueRefreshToken();
    expect(rotated).toMatch(/^sbxrt\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(rotated).not.toBe(oauth.issueRefreshToken());
    expect(new SandboxOAuth(tenants(), new SandboxFaults()).isValidRefreshToken(rotated)).toBe(true);
  });

  it('rejects forged, altered or foreign refresh tokens', () => {
    const rotated = oauth.issueRefreshToken();
    const [prefix, random] = rotated.split('.');
    expect(oauth.isValidRefreshToken(`${prefix}.${random}.AAAA`)).toBe(false);
    expect(oauth.isValidRefreshToken(`${prefix}.${random}x.${rotated.split('.')[2]}`)).toBe(false);
    expect(new SandboxOAuth(tenants('another-secret'), faults).isValidRefreshToken(rotated)).toBe(false);
    expect(oauth.isValidRefreshToken(oauth.issueAccessToken().accessToken)).toBe(false);
    expect(oauth.isValidRefreshToken('')).toBe(false);
    expect(oauth.isValidRefreshToken(42)).toBe(false);
  });

  it('issues access tokens that verify until they expire', () => {
    const now = 1_800_000_000_000;
    const { accessToken, expiresIn } = oauth.issueAccessToken(now);
    expect(expiresIn).toBe(3600);
    expect(accessToken).toMatch(/^sbxat\.\d+\.\d+-[0-9a-f]+\.[A-Za-z0-9_-]+$/);
    expect(oauth.isValidAccessToken(accessToken, now + 1000)).toBe(true);
    expect(oauth.isValidAccessToken(accessToken, now + 3600 * 1000 - 1)).toBe(true);
    expect(oauth.isValidAccessToken(accessToken, now + 3600 * 1000)).toBe(false);
  });

  it('follows the token lifetime switch', () => {
    faults.setTokenTtlSeconds(60);
    const now = 1_800_000_000_000;
    const { accessToken, expiresIn } = oauth.issueAccessToken(now);
    expect(expiresIn).toBe(60);
    expect(oauth.isValidAccessToken(accessToken, now + 61_000)).toBe(false);
  });

  it('rejects an access token whose expiry was pushed forward or whose mac is forged', () => {
    const now = 1_800_000_000_000;
    const { accessToken } = oauth.issueAccessToken(now);
    const [prefix, expiresAt, nonce, mac] = accessToken.split('.');
    expect(oauth.isValidAccessToken(`${prefix}.${Number(expiresAt) + 10_000_000}.${nonce}.${mac}`, now)).toBe(false);
    expect(oauth.isValidAccessToken(`${prefix}.${expiresAt}.${nonce}.${mac.slice(0, -2)}AA`, now)).toBe(false);
    expect(oauth.isValidAccessToken(oauth.issueRefreshToken(), now)).toBe(false);
    expect(new SandboxOAuth(tenants('another-secret'), faults).isValidAccessToken(accessToken, now)).toBe(false);
  });

  it('rejects tokens issued before expireTokensIssuedBefore, and accepts those issued after', () => {
    const now = 1_800_000_000_000;
    const old = oauth.issueAccessToken(now).accessToken;
    faults.expireTokensIssuedBefore(now + 10);
    const fresh = oauth.issueAccessToken(now + 10).accessToken;
    expect(oauth.isValidAccessToken(old, now + 20)).toBe(false);
    expect(oauth.isValidAccessToken(fresh, now + 20)).toBe(true);
  });

  it('refuses every token when no sandbox tenant is configured', () => {
    const none = new SandboxOAuth(new Tenants({ tenants: [] } as unknown as AppConfig), faults);
    expect(none.tenant()).toBeUndefined();
    expect(none.isValidRefreshToken('seed-refresh-token')).toBe(false);
    expect(none.isValidAccessToken(oauth.issueAccessToken().accessToken)).toBe(false);
    expect(none.clientMatches('sandbox-client', 'sandbox-client-secret')).toBe(false);
  });
});
