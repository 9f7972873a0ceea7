import { parseLaunchQuery } from '../auth/launch-query.js';
import { launchMac, macMatches } from '../auth/signature.js';
import { type AppConfig, loadConfig } from '../config/index.js';
import { CommandError, UsageError } from './cli.output.js';
import { buildLaunchUrl, signLaunch, signLaunchOptionsOf, type SignLaunchOptions } from './sign-launch.js';

const ITEM_V4 = 'https://us.api.concursolutions.com/expensereports/v4/users/0a1b2c3d-aaaa-bbbb-cccc-1234567890ab/context/TRAVELER/reports/R42';
const ITEM_V3 = 'https://www.concursolutions.com/api/v3.0/expense/entries/E77';

/** The defaults plus a production-like tenant whose Concur is the real one. */
function configWithAcme(): AppConfig {
  const sandbox = loadConfig({}).config.tenants[0];
  return loadConfig(
    {},
    {
      tenants: [
        structuredClone({ ...sandbox, fields: { v1: sandbox.fields.v1, v4: sandbox.fields.v4 } }),
        {
          id: 'acme',
          name: 'Acme',
          companyDomains: ['acme.example.com', 'acme-eu.example.com'],
          connector: { username: 'AcmeConnector', password: 'acme-connector-password' },
          launch: { versions: [4], v4Algorithm: 'sha1' },
          oauth: { baseUrl: 'https://us.api.concursolutions.com', clientId: 'c', clientSecret: 's', refreshToken: 'r' },
          fields: { v4: { header: ['custom3'], entry: ['custom4', 'custom5'], allocation: [] } },
          lookup: { type: 'file', file: 'lookup/projects.csv' },
        },
      ],
    },
  ).config;
}

function verify(config: AppConfig, url: string, version: 1 | 4) {
  const parsed = new URL(url);
  const params = parseLaunchQuery(parsed.search.slice(1), version, 8192);
  const tenant = config.tenants.find((t) => t.companyDomains.includes(params.company_domain ?? params.xcompanydomain))!;
  const algorithm = version === 1 ? 'sha1' : tenant.launch.v4Algorithm;
  const expected = launchMac(version, algorithm, params, tenant.connector.username, tenant.connector.password);
  return { parsed, params, valid: macMatches(expected, Buffer.from(params.signature, 'base64')) };
}

describe('buildLaunchUrl', () => {
  const config = configWithAcme();
  const acme = (extra: Partial<SignLaunchOptions> = {}): SignLaunchOptions => ({
    tenant: 'acme',
    version: 4,
    baseUrl: 'https://connector.example.com/',
    itemUrl: ITEM_V4,
    ...extra,
  });

  it('signs a v4 launch with the tenant credentials and algorithm, on the configured path', () => {
    const { url, description } = buildLaunchUrl(config, acme());
    const { parsed, params, valid } = verify(config, url, 4);
    expect(valid).toBe(true);
    expect(`${parsed.origin}${parsed.pathname}`).toBe('https://connector.example.com/launchexternalurl/v4/form');
    expect(params).toMatchObject({
      company_domain: 'acme.example.com',
      logged_in_user_id: '0a1b2c3d-aaaa-bbbb-cccc-1234567890ab',
      report_owner_user_id: '0a1b2c3d-aaaa-bbbb-cccc-1234567890ab',
      report_owner_employee_id: '',
      item_url: ITEM_V4,
      custom_field_launched_from: 'custom3',
      source: 'HEADER',
      is_mobile: 'false',
      language_code: 'en',
    });
    expect(description).toContain('tenant acme');
    expect(description).not.toContain('acme-connector-password');
  });

  it('uses a fresh nonce every time', () => {
    const a = verify(config, buildLaunchUrl(config, acme()).url, 4).params.nonce;
    const b = verify(config, buildLaunchUrl(config, acme()).url, 4).params.nonce;
    expect(a).not.toBe(b);
  });

  it('takes the user, owner, employee id, field, domain, language and mobile flag when given', () => {
    const { url } = buildLaunchUrl(
      config,
      acme({
        itemUrl: `${ITEM_V4}/expenses/X9`,
        user: 'approver-uuid',
        owner: 'owner-uuid',
        employeeId: 'E9',
        field: 'custom5',
        companyDomain: 'acme-eu.example.com',
        language: 'de',
        mobile: true,
      }),
    );
    const { params, valid } = verify(config, url, 4);
    expect(valid).toBe(true);
    expect(params).toMatchObject({
      company_domain: 'acme-eu.example.com',
      logged_in_user_id: 'approver-uuid',
      report_owner_user_id: 'owner-uuid',
      report_owner_employee_id: 'E9',
      custom_field_launched_from: 'custom5',
      source: 'ENTRY',
      is_mobile: 'true',
      language_code: 'de',
    });
  });

  it('sends no client_auth_code unless --client-auth-code gives one', () => {
    expect(verify(config, buildLaunchUrl(config, acme()).url, 4).params).not.toHaveProperty('client_auth_code');
    const { params, valid } = verify(config, buildLaunchUrl(config, acme({ clientAuthCode: 'code-from-concur' })).url, 4);
    expect(valid).toBe(true);
    expect(params.client_auth_code).toBe('code-from-concur');
  });

  it('keeps a path prefix of the base URL', () => {
    const { url } = buildLaunchUrl(config, acme({ baseUrl: 'https://gw.example.com/connector' }));
    expect(url.startsWith('https://gw.example.com/connector/launchexternalurl/v4/form?')).toBe(true);
  });

  it('signs a v1 launch with sha1 and the v1 path', () => {
    const { url } = buildLaunchUrl(config, { tenant: 'sandbox', version: 1, baseUrl: 'http://localhost:3000', itemUrl: ITEM_V3, user: 'pat@x.example' });
    const { parsed, params, valid } = verify(config, url, 1);
    expect(valid).toBe(true);
    expect(parsed.pathname).toBe('/concur/form/v1.0/get');
    expect(params).toMatchObject({ xcompanydomain: 'sandbox.example.com', xuserid: 'pat@x.example', itemurl: ITEM_V3 });
  });

  it('defaults a sandbox tenant to a sandbox item on the server’s own loopback address', () => {
    const v1 = verify(config, buildLaunchUrl(config, { tenant: 'sandbox', version: 1, baseUrl: 'http://localhost:3000' }).url, 1);
    expect(v1.params.itemurl).toMatch(/^http:\/\/127\.0\.0\.1:3000\/sandbox\/concur\/api\/v3\.0\/expense\/entries\//);
    expect(v1.params.xuserid).toBe('sam.employee@sandbox.example.com');
    const alloc = verify(
      config,
      buildLaunchUrl(config, { tenant: 'sandbox', version: 4, baseUrl: 'http://localhost:3000', level: 'ALLOCATION' }).url,
      4,
    );
    expect(alloc.params.item_url).toMatch(/\/allocations\/[^/]+$/);
    expect(alloc.params.source).toBe('ALLOCATION');
    expect(alloc.params.expense_ids).toBeTruthy();
    expect(alloc.params.report_owner_employee_id).toBe('E1001');
  });

  it.each<[string, Partial<SignLaunchOptions>, RegExp]>([
    ['an unknown tenant', { tenant: 'nope' }, /unknown tenant "nope"; the configuration has: sandbox, acme/],
    ['a version the tenant does not accept', { version: 1, user: 'u' }, /does not accept v1 launches/],
    ['a company domain of another tenant', { companyDomain: 'sandbox.example.com' }, /not one of tenant acme's/],
    ['a field not set up at that level', { field: 'custom9' }, /field custom9 is not set up for tenant acme at header level \(allowed: custom3\)/],
    ['a level the item URL does not name', { level: 'ENTRY' }, /--level ENTRY does not match --item-url, which names a header/],
    ['a level with no field', { itemUrl: `${ITEM_V4}/allocations/A1` }, /no v4 field for allocation launches/],
    ['no item URL for a real Concur tenant', { itemUrl: undefined }, /--item-url is required for tenant acme/],
    ['an item URL that is no Concur item', { itemUrl: 'https://us.api.concursolutions.com/somewhere/else' }, /--item-url: item URL is not a known Concur expense item/],
    ['a base URL that is no URL', { baseUrl: 'connector' }, /--base-url connector is not a URL/],
    ['a base URL with a query', { baseUrl: 'https://c.example.com/?x=1' }, /--base-url must be just the address/],
  ])('refuses %s with a message saying what to change', (_name, extra, message) => {
    expect(() => buildLaunchUrl(config, acme(extra))).toThrow(CommandError);
    expect(() => buildLaunchUrl(config, acme(extra))).toThrow(message);
  });

  it('needs --user for a v1 launch of a real Concur tenant', () => {
    const withV1 = configWithAcme();
    withV1.tenants[1].launch.versions = [1, 4];
    withV1.tenants[1].fields.v1 = { field: 'Custom2' };
    expect(() => buildLaunchUrl(withV1, { tenant: 'acme', version: 1, baseUrl: 'https://c.example.com', itemUrl: ITEM_V3 })).toThrow(
      /--user is required for a v1 launch/,
    );
  });
});

describe('signLaunchOptionsOf', () => {
  it('reads the options', () => {
    expect(
      signLaunchOptionsOf(['--tenant', 'acme', '--version', '4', '--base-url', 'https://c', '--level', 'entry', '--mobile', '--field', 'custom4']),
    ).toMatchObject({ tenant: 'acme', version: 4, baseUrl: 'https://c', level: 'ENTRY', mobile: true, field: 'custom4' });
    expect(signLaunchOptionsOf(['--tenant', 'a', '--version', '4', '--base-url', 'https://c', '--client-auth-code', 'c-1']).clientAuthCode).toBe('c-1');
  });

  it.each([
    [['--version', '4', '--base-url', 'https://c'], /--tenant is required/],
    [['--tenant', 'a', '--base-url', 'https://c'], /--version is required/],
    [['--tenant', 'a', '--version', '4'], /--base-url is required/],
    [['--tenant', 'a', '--version', '2', '--base-url', 'https://c'], /--version must be 1 or 4/],
    [['--tenant', 'a', '--version', '4', '--base-url', 'https://c', '--level', 'REPORT'], /--level must be HEADER, ENTRY or ALLOCATION/],
  ])('refuses %j', (args, message) => {
    expect(() => signLaunchOptionsOf(args)).toThrow(UsageError);
    expect(() => signLaunchOptionsOf(args)).toThrow(message);
  });
});

describe('signLaunch', () => {
  it('prints only the URL on stdout and what it is on stderr', () => {
    const result = signLaunch(['--tenant', 'sandbox', '--version', '4', '--base-url', 'http://127.0.0.1:3000'], {});
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^http:\/\/127\.0\.0\.1:3000\/launchexternalurl\/v4\/form\?[^\s]+\n$/);
    expect(result.stderr).toContain('v4 launch for tenant sandbox');
  });

  it('uses the connector password from the environment, like the server', () => {
    const env = { TENANT_SANDBOX_CONNECTOR_PASSWORD: 'rotated-password-123' };
    const url = signLaunch(['--tenant', 'sandbox', '--version', '4', '--base-url', 'http://127.0.0.1:3000'], env).stdout.trim();
    const config = loadConfig(env).config;
    expect(verify(config, url, 4).valid).toBe(true);
    expect(verify(loadConfig({}).config, url, 4).valid).toBe(false);
  });

  it('reports an invalid configuration with exit code 1 and no secret', () => {
    const result = signLaunch(['--tenant', 'sandbox', '--version', '4', '--base-url', 'http://c'], {
      PORT: 'eighty',
      TENANT_SANDBOX_CONNECTOR_PASSWORD: 'secret-password-xyz',
    });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('server.port');
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toContain('secret-password-xyz');
  });
});
