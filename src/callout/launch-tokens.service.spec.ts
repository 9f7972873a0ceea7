import { randomBytes } from 'node:crypto';
import type { LaunchSessionService } from '../auth/launch-session.service.js';
import type { LaunchSession, VerifiedLaunch } from '../auth/launch.types.js';
import { PageException } from '../common/page.exception.js';
import { AppConfig, type TenantConfig } from '../config/index.js';
import { ConcurError } from '../concur/concur.types.js';
import { SecretBox } from '../concur/secret-box.js';
import { type UserGrant, UserTokenService } from '../concur/user-token.service.js';
import { Metrics } from '../metrics/metrics.service.js';
import { LaunchTokensService, launchOrigin, UserTokenRequiredError } from './launch-tokens.service.js';

const meta = { correlationId: 'c-1', clientIp: null, userAgent: null };
const GRANT: UserGrant = { accessToken: 'user-access', refreshToken: 'user-refresh', geolocation: 'https://us.api.concursolutions.com', refreshAt: Date.now() + 60_000 };

describe(LaunchTokensService.name, () => {
  let exchanged: Array<{ code: string; redirectUri: string }>;
  let exchange: () => Promise<UserGrant>;
  let saved: LaunchSession[];
  let users: UserTokenService;
  let metrics: Metrics;
  let service: LaunchTokensService;

  beforeEach(() => {
    const config = new AppConfig();
    config.security.encryptionKey = randomBytes(32).toString('base64');
    exchanged = [];
    exchange = async () => GRANT;
    saved = [];
    // The real sealing; only the HTTP exchange is replaced.
    users = new UserTokenService(undefined as never, config, undefined as never, new SecretBox(config));
    users.exchange = async (_tenant, code, redirectUri) => {
      exchanged.push({ code, redirectUri });
      return exchange();
    };
    metrics = new Metrics();
    const sessions = { save: async (s: LaunchSession) => void saved.push(structuredClone(s)) } as unknown as LaunchSessionService;
    service = new LaunchTokensService(users, sessions, metrics);
  });

  const launch = (mode: TenantConfig['oauth']['userTokens'], code?: string, version: 1 | 4 = 4, redirectUri?: string): VerifiedLaunch =>
    ({
      version,
      tenant: { id: 'acme', oauth: { userTokens: mode, redirectUri } },
      unsigned: code === undefined ? {} : { client_auth_code: code },
    }) as unknown as VerifiedLaunch;

  async function counted(): Promise<Record<string, number>> {
    return Object.fromEntries((await metrics.userTokens.get()).values.map((v) => [String(v.labels.outcome), v.value]));
  }

  it("exchanges the code for the user's tokens, sealed, with the launch's origin as redirect_uri", async () => {
    const principal = await service.principalOf(launch('preferred', 'code-1'), meta, 'https://connector.acme.example');
    expect(exchanged).toEqual([{ code: 'code-1', redirectUri: 'https://connector.acme.example' }]);
    expect(principal.note).toMatch(/^as the user/);
    expect(principal.userGrant).toBeDefined();
    expect(principal.userGrant).not.toContain('user-access');
    expect(users.open(principal.userGrant!)).toEqual(GRANT);
    expect(await counted()).toEqual({ exchanged: 1 });
  });

  it('sends the configured redirectUri when there is one', async () => {
    await service.principalOf(launch('preferred', 'code-1', 4, 'https://registered.example/cb'), meta, 'https://other.example');
    expect(exchanged[0].redirectUri).toBe('https://registered.example/cb');
  });

  it('preferred: without a code, or when Concur refuses it, the company token, and the note says why', async () => {
    expect(await service.principalOf(launch('preferred'), meta, 'https://c.example')).toEqual({ note: 'company token (the launch carried no client_auth_code)' });
    exchange = async () => {
      throw new ConcurError('auth', 'Concur refused the authorization_code grant (HTTP 400, code 103): code is bad or expired', 400);
    };
    const refused = await service.principalOf(launch('preferred', 'stale'), meta, 'https://c.example');
    expect(refused.userGrant).toBeUndefined();
    expect(refused.note).toMatch(/^company token \(client_auth_code not exchanged: .*code 103/);
    expect(await counted()).toEqual({ no_code: 1, refused: 1 });
  });

  it('required: a launch without a usable code is refused with a 401 page', async () => {
    const missing = await service.principalOf(launch('required'), meta, 'https://c.example').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(UserTokenRequiredError);
    expect((missing as UserTokenRequiredError).page.getStatus()).toBe(401);
    expect((missing as UserTokenRequiredError).reason).toBe('oauth.userTokens is required and the launch carried no client_auth_code');
    exchange = async () => {
      throw new ConcurError('auth', 'refused', 400);
    };
    await expect(service.principalOf(launch('required', 'x'), meta, 'https://c.example')).rejects.toBeInstanceOf(UserTokenRequiredError);
  });

  it('off, and every v1 launch: the company token, no exchange', async () => {
    expect((await service.principalOf(launch('off', 'code'), meta, 'https://c.example')).userGrant).toBeUndefined();
    expect((await service.principalOf(launch('required', undefined, 1), meta, 'https://c.example')).note).toMatch(/v1 launches carry no client_auth_code/);
    expect(exchanged).toEqual([]);
  });

  it("gives the client the session's grant, and seals a renewed one back into the session", async () => {
    const session = { userGrant: users.seal(GRANT) } as LaunchSession;
    const tokens = service.tokensOf(session)!;
    expect(tokens.grant).toEqual(GRANT);
    await tokens.renewed({ ...GRANT, accessToken: 'renewed' });
    expect(users.open(session.userGrant!)?.accessToken).toBe('renewed');
    expect(saved).toHaveLength(1);
    expect(service.tokensOf({} as LaunchSession)).toBeUndefined();
  });

  it('a grant that cannot be opened (another encryption key) asks for a new launch', () => {
    expect(() => service.tokensOf({ userGrant: 'AAAA' } as LaunchSession)).toThrow(PageException);
  });

  it('takes the default redirect_uri, always https, only from a sane Host header', () => {
    expect(launchOrigin('connector.acme.example')).toBe('https://connector.acme.example');
    // Behind a TLS-terminating proxy the request looks like http; Concur only ever calls https.
    expect(launchOrigin('connector.acme.example:8443')).toBe('https://connector.acme.example:8443');
    expect(launchOrigin('evil.example/path')).toBeUndefined();
    expect(launchOrigin('a b')).toBeUndefined();
    expect(launchOrigin(undefined)).toBeUndefined();
  });
});
