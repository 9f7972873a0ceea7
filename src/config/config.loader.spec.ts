import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../audit/access/password-hash.js';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ConfigError, deepMerge, loadConfig, publishedSecrets, tenantEnvPrefix } from './config.loader.js';

function overlay(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'clc-config-'));
  const file = join(dir, 'connector.yaml');
  writeFileSync(file, yaml);
  return file;
}

type Plain = Record<string, unknown>;

/** Random keys and a strong connector password, as production needs them. */
const KEYS = { CONNECTOR_ENCRYPTION_KEY: randomBytes(32).toString('base64'), CONNECTOR_AUDIT_CHAIN_KEY: randomBytes(32).toString('base64') };
const STRONG_PASSWORD = 'Xq7vLm2RtP9kWz4NbH6cJd8Fg3Ys5Ae1';
const LOOKUP = JSON.stringify(join(process.cwd(), 'config', 'lookup', 'projects.csv'));
/** A real tenant, no sandbox, no demo auditor: what production accepts, to add one bad setting to. */
const PRODUCTION_TENANT =
  `sandbox:\n  enabled: false\naudit:\n  auditors: []\ntenants:\n  - id: acme\n    name: Acme\n    companyDomains: [acme.example.com]\n` +
  `    connector: { username: AcmeConnector1, password: ${STRONG_PASSWORD} }\n    launch: { versions: [4] }\n` +
  `    oauth: { baseUrl: "https://us.api.concursolutions.com", clientId: c, clientSecret: real-secret-1, refreshToken: real-token-1 }\n` +
  `    fields: { v4: { entry: [custom9] } }\n    lookup: { type: file, file: ${LOOKUP} }\n`;
const METRICS = { METRICS_USERNAME: 'prometheus', METRICS_PASSWORD: 'scrape-secret' };

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('loads the embedded defaults with the sandbox tenant', () => {
    const { config } = loadConfig({});
    expect(config.server.port).toBe(3000);
    expect(config.sandbox.enabled).toBe(true);
    expect(config.tenants.map((t) => t.id)).toEqual(['sandbox']);
    expect(config.tenants[0].launch.v4Algorithm).toBe('sha256');
    expect(config.concur.apiOrigins).toContain('https://us.api.concursolutions.com');
  });

  it("allows exactly the API hosts of Concur's base-uris.markdown by default", () => {
    const page = join(import.meta.dirname, '..', '..', '..', 'shared', 'concur-docs', 'base-uris.markdown');
    if (!existsSync(page)) {
      console.warn(`SKIPPED: ${page} is not here (CI and the developers have ../shared beside the checkout)`);
      return;
    }
    const documented = new Set([...readFileSync(page, 'utf8').matchAll(/\|(https:\/\/[a-z0-9.-]+) \|/g)].map((m) => m[1]));
    expect(documented.size).toBe(22);
    expect(new Set(loadConfig({}).config.concur.apiOrigins)).toEqual(documented);
    // The v4 tenant settings Concur requires on its PATCHes, with their documented default.
    expect(loadConfig({}).config.tenants[0].fields.v4).toMatchObject({ expenseSource: 'OTHER', reportSource: 'OTHER' });
    expect(loadConfig({}).config.tenants[0].oauth.userTokens).toBe('preferred');
  });

  it('refuses an expenseSource or userTokens setting Concur does not document', () => {
    const file = overlay(
      'tenants:\n  - id: sandbox\n    name: S\n    companyDomains: [sandbox.example.com]\n    connector: { username: SandboxConnector, password: sandbox-connector-password }\n' +
        '    oauth: { baseUrl: sandbox, clientId: c, clientSecret: s, refreshToken: r, userTokens: always }\n' +
        '    fields: { v1: { field: Custom1 }, v4: { entry: [custom9], expenseSource: XX } }\n    lookup: { type: file, file: lookup/projects.csv }\n',
    );
    const problems = problemsOf(() => loadConfig({ CONNECTOR_CONFIG: file })).join('\n');
    expect(problems).toMatch(/userTokens/);
    expect(problems).toMatch(/expenseSource/);
  });

  it('lays the CONNECTOR_CONFIG file over the defaults, key by key', () => {
    const file = overlay('server:\n  port: 8080\nsession:\n  ttlSeconds: 600\n');
    const { config } = loadConfig({ CONNECTOR_CONFIG: file });
    expect(config.server.port).toBe(8080);
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.session.ttlSeconds).toBe(600);
    expect(config.tenants).toHaveLength(1);
  });

  it('takes secrets from the environment, also from *_FILE', () => {
    const secretFile = overlay('');
    writeFileSync(secretFile, 'file-refresh-token\n');
    const { config } = loadConfig({
      PORT: '4000',
      TENANT_SANDBOX_CONNECTOR_PASSWORD: 'from-environment-123',
      TENANT_SANDBOX_OAUTH_REFRESH_TOKEN_FILE: secretFile,
    });
    expect(config.server.port).toBe(4000);
    expect(config.tenants[0].connector.password).toBe('from-environment-123');
    expect(config.tenants[0].oauth.refreshToken).toBe('file-refresh-token');
  });

  it('reads the operations settings from the environment', () => {
    const { config } = loadConfig({
      ...KEYS,
      DATABASE_URL: 'postgresql://clc:pw@db.internal:5432/clc',
      DATABASE_MIGRATE_ON_START: 'false',
      REDIS_URL: 'redis://cache.internal:6379',
      METRICS_USERNAME: 'prometheus',
      METRICS_PASSWORD: 'scrape-secret',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'json',
    });
    expect(config.storage.databaseUrl).toBe('postgresql://clc:pw@db.internal:5432/clc');
    expect(config.storage.migrateOnStart).toBe(false);
    expect(config.redis.url).toBe('redis://cache.internal:6379');
    expect(config.redis.keyPrefix).toBe('clc:');
    expect(config.metrics).toMatchObject({ enabled: true, username: 'prometheus', password: 'scrape-secret' });
    expect(config.logging).toEqual({ level: 'debug', format: 'json' });
    expect(config.rateLimit.failedTestConnection).toMatchObject({ limit: 10, windowSeconds: 900 });
  });

  it('warns in production when /metrics has no Basic auth', () => {
    const env = { NODE_ENV: 'production', CONNECTOR_CONFIG: overlay(PRODUCTION_TENANT), ...KEYS };
    expect(loadConfig(env).warnings).toEqual([expect.stringMatching(/^metrics: \/metrics is open to anyone/)]);
    expect(loadConfig({ ...env, METRICS_USERNAME: 'prometheus', METRICS_PASSWORD: 'scrape-secret' }).warnings).toEqual([]);
  });

  it('requires a shared encryption key with shared stores, and a shared chain key with a shared database', () => {
    const problem = 'security.encryptionKey: required with DATABASE_URL or REDIS_URL, the same on every replica (env CONNECTOR_ENCRYPTION_KEY)';
    const chain = 'security.auditChainKey: required with DATABASE_URL, the same on every replica (env CONNECTOR_AUDIT_CHAIN_KEY)';
    expect(problemsOf(() => loadConfig({ REDIS_URL: 'redis://cache:6379' }))).toEqual([problem]);
    expect(problemsOf(() => loadConfig({ DATABASE_URL: 'postgresql://db/clc' }))).toEqual([problem, chain]);
    const { CONNECTOR_ENCRYPTION_KEY } = KEYS;
    expect(problemsOf(() => loadConfig({ DATABASE_URL: 'postgresql://db/clc', CONNECTOR_ENCRYPTION_KEY }))).toEqual([chain]);
    // The chain lives in the database: with SQLite it is this replica's own, so a generated key will do.
    expect(loadConfig({ REDIS_URL: 'redis://cache:6379', CONNECTOR_ENCRYPTION_KEY }).config.security.auditChainKey).toBeUndefined();
  });

  it('defaults to the embedded stores and refuses malformed operations settings', () => {
    const { config } = loadConfig({});
    expect(config.storage.databaseUrl).toBeUndefined();
    expect(config.redis.url).toBeUndefined();
    const problems = problemsOf(() =>
      loadConfig({
        DATABASE_URL: 'mysql://db/clc',
        DATABASE_MIGRATE_ON_START: 'yes',
        REDIS_URL: 'http://cache',
        METRICS_USERNAME: 'prometheus',
        LOG_LEVEL: 'loud',
        TLS_CERT_FILE: '/nonexistent/cert.pem',
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^storage\.databaseUrl: /),
        expect.stringMatching(/^storage\.migrateOnStart: /),
        expect.stringMatching(/^redis\.url: /),
        expect.stringMatching(/^logging\.level: /),
        'server.tls: set both certFile and keyFile, or neither',
        'server.tls.certFile: /nonexistent/cert.pem does not exist',
        'metrics: set both username and password (METRICS_USERNAME, METRICS_PASSWORD), or neither',
      ]),
    );
  });

  it('lists every bad key in one error', () => {
    const file = overlay(
      [
        'server:',
        '  port: seventy',
        'tenants:',
        '  - id: Bad_Id',
        '    name: x',
        '    companyDomains: []',
        '    connector: { username: a, password: b }',
        '    launch: { versions: [2], v4Algorithm: md5 }',
        '    oauth: { baseUrl: ftp://x, clientId: c, clientSecret: s, refreshToken: r }',
        '    lookup: { type: file, file: lookup/projects.csv }',
        '    surprise: true',
      ].join('\n'),
    );
    const problems = problemsOf(() => loadConfig({ CONNECTOR_CONFIG: file }));
    const keys = problems.map((p) => p.split(':')[0]);
    expect(keys).toEqual(
      expect.arrayContaining([
        'server.port',
        'tenants[0].id',
        'tenants[0].companyDomains',
        'tenants[0].launch.versions',
        'tenants[0].launch.v4Algorithm',
        'tenants[0].oauth.baseUrl',
        'tenants[0].surprise',
      ]),
    );
  });

  it('reports a YAML syntax error with the file name', () => {
    const file = overlay('server: [unclosed\n');
    const problems = problemsOf(() => loadConfig({ CONNECTOR_CONFIG: file }));
    expect(problems[0]).toContain(file);
  });

  it('reports a CONNECTOR_CONFIG file that does not exist', () => {
    const problems = problemsOf(() => loadConfig({ CONNECTOR_CONFIG: '/nonexistent/connector.yaml' }));
    expect(problems[0]).toMatch(/does not exist/);
  });

  it('refuses the sandbox, placeholders and a missing key in production', () => {
    const problems = problemsOf(() =>
      loadConfig({ NODE_ENV: 'production', TENANT_SANDBOX_OAUTH_CLIENT_SECRET: 'change-me' }),
    );
    expect(problems.join('\n')).toMatch(/sandbox.enabled: the sandbox must be off/);
    expect(problems.join('\n')).toMatch(/oauth.clientSecret: a placeholder value is refused/);
    expect(problems.join('\n')).toMatch(/security.encryptionKey: required in production/);
  });

  it('refuses a company domain claimed by two tenants and a v1 tenant without a v1 field', () => {
    const tenant = (id: string) =>
      `  - id: ${id}\n    name: ${id}\n    companyDomains: [Same.Example]\n    connector: { username: LongEnoughUser, password: LongEnoughPassword }\n    launch: { versions: [1, 4] }\n    oauth: { baseUrl: "https://us.api.concursolutions.com", clientId: c, clientSecret: s, refreshToken: r }\n    fields: { v4: { entry: [custom9] } }\n    lookup: { type: file, file: ${join(process.cwd(), 'config/lookup/projects.csv')} }\n`;
    const file = overlay(`server:\n  port: seventy\ntenants:\n${tenant('one')}${tenant('two')}`);
    const problems = problemsOf(() => loadConfig({ CONNECTOR_CONFIG: file }));
    // Malformed keys and cross-key problems come in one message, not one start each.
    expect(problems.join('\n')).toMatch(/server.port/);
    expect(problems.join('\n')).toMatch(/tenants\[1\].companyDomains: "Same.Example" already belongs to tenant "one"/);
    expect(problems.join('\n')).toMatch(/tenants\[0\].fields.v1.field: required/);
  });

  it('refuses a company domain that begins another one checked with the same credentials, in one tenant or two', () => {
    const tenant = (id: string, domains: string, password = 'LongEnoughPassword') =>
      `  - id: ${id}\n    name: ${id}\n    companyDomains: [${domains}]\n    connector: { username: LongEnoughUser, password: ${password} }\n    launch: { versions: [4] }\n    oauth: { baseUrl: "https://us.api.concursolutions.com", clientId: c, clientSecret: s, refreshToken: r }\n    fields: { v4: { entry: [custom9] } }\n    lookup: { type: file, file: ${join(process.cwd(), 'config/lookup/projects.csv')} }\n`;
    const same = problemsOf(() => loadConfig({ CONNECTOR_CONFIG: overlay(`tenants:\n${tenant('one', 'acme.co, ACME.com')}`) }));
    expect(same.join('\n')).toMatch(
      /tenants\[0\].companyDomains: "acme.co" is the beginning of "ACME.com" in the same tenant\. Concur's signature joins the company domain and the user id without a separator/,
    );
    const two = problemsOf(() => loadConfig({ CONNECTOR_CONFIG: overlay(`tenants:\n${tenant('one', 'acme.com')}${tenant('two', 'acme.co')}`) }));
    expect(two.join('\n')).toMatch(/tenants\[1\].companyDomains: "acme.co" is the beginning of "acme.com" of tenant "one", with the same connector credentials/);
    // With their own credentials the key differs, and a re-split URL no longer verifies.
    const config = loadConfig({ CONNECTOR_CONFIG: overlay(`tenants:\n${tenant('one', 'acme.com')}${tenant('two', 'acme.co', 'OtherPassword99')}`) });
    expect(config.config.tenants.map((t) => t.companyDomains)).toEqual([['acme.com'], ['acme.co']]);
  });

  describe('audit', () => {
    const productionTenant = PRODUCTION_TENANT.replace('audit:\n  auditors: []\n', '');
    const production = (auditYaml: string) => ({
      NODE_ENV: 'production',
      CONNECTOR_CONFIG: overlay(`${productionTenant}audit:\n${auditYaml}`),
      ...KEYS,
      ...METRICS,
    });
    const account = (username: string, hash: string) => `    - { username: ${username}, passwordHash: "${hash}" }\n`;

    it('has the demo auditor and safe defaults in the embedded configuration', () => {
      const { audit } = loadConfig({}).config;
      expect(audit.auditors.map((a) => a.username)).toEqual(['auditor']);
      expect(audit.signIn).toMatchObject({ maxFailures: 5, lockoutSeconds: 900 });
      expect(audit.trustedHeader).toMatchObject({ enabled: false, proxies: [], auditorGroups: [] });
      expect(audit).toMatchObject({ sessionTtlSeconds: 3600, cookieName: 'clc_audit' });
    });

    it('refuses the demo auditor in production, with a message that says what to do', () => {
      const problems = problemsOf(() => loadConfig({ ...production(''), CONNECTOR_CONFIG: overlay(productionTenant) }));
      expect(problems).toEqual([
        'audit.auditors[0].passwordHash: this is the demo password "auditor-demo", refused in production; set audit.auditors to your own accounts (hashes from `concur-launch-connector hash-password`), or to [] for none',
      ]);
    });

    it('refuses the demo password in production also under another name and salt', async () => {
      const rehashed = await hashPassword('auditor-demo');
      const problems = problemsOf(() => loadConfig(production(`  auditors:\n${account('jane', rehashed)}`)));
      expect(problems).toEqual([expect.stringMatching(/^audit\.auditors\[0\]\.passwordHash: this is the demo password/)]);
    });

    it('accepts real accounts, or none, in production', async () => {
      const real = await hashPassword('a-real-password-1');
      expect(loadConfig(production(`  auditors:\n${account('jane', real)}`)).config.audit.auditors).toHaveLength(1);
      expect(loadConfig(production('  auditors: []\n')).config.audit.auditors).toEqual([]);
    });

    it('keeps the demo auditor outside production', () => {
      expect(() => loadConfig({ NODE_ENV: 'development' })).not.toThrow();
    });

    it('refuses duplicate user names, ignoring case', async () => {
      const hash = await hashPassword('a-real-password-1');
      const file = overlay(`audit:\n  auditors:\n${account('jane', hash)}${account('bob', hash)}${account('JANE', hash)}`);
      expect(problemsOf(() => loadConfig({ CONNECTOR_CONFIG: file }))).toEqual([
        'audit.auditors[2].username: "JANE" is also auditors[0] (user names are compared ignoring case)',
      ]);
    });

    it('refuses a password, not a hash, and a hash with parameters out of bounds, once each', () => {
      const salt = Buffer.alloc(16, 1).toString('base64url');
      const key = Buffer.alloc(32, 2).toString('base64url');
      const file = overlay(`audit:\n  auditors:\n${account('jane', 'hunter2-password')}${account('bob', `scrypt$1048576$16$1$${salt}$${key}`)}`);
      const problems = problemsOf(() => loadConfig({ CONNECTOR_CONFIG: file }));
      expect(problems).toEqual([
        'audit.auditors[0].passwordHash: must be a scrypt hash from `concur-launch-connector hash-password` (scrypt$N$r$p$salt$hash)',
        'audit.auditors[1].passwordHash: unsupported scrypt parameters; make a new hash with `concur-launch-connector hash-password`',
      ]);
      expect(problems.join('\n')).not.toContain('hunter2-password');
    });

    it('refuses trusted-header sign-in without proxies, and proxies that are not addresses', () => {
      const none = overlay('audit:\n  trustedHeader: { enabled: true, proxies: [] }\n');
      expect(problemsOf(() => loadConfig({ CONNECTOR_CONFIG: none }))).toEqual([
        'audit.trustedHeader.proxies: list the addresses of the sign-in proxies when trustedHeader.enabled is true; anyone else could send the headers',
      ]);
      const bad = overlay('audit:\n  trustedHeader: { enabled: true, proxies: ["10.0.0.0/8", "10.0.0.0/33", "fd00::/200"] }\n');
      expect(problemsOf(() => loadConfig({ CONNECTOR_CONFIG: bad }))).toEqual([
        'audit.trustedHeader.proxies[1]: "10.0.0.0/33" is not an IP address or address/prefix',
        'audit.trustedHeader.proxies[2]: "fd00::/200" is not an IP address or address/prefix',
      ]);
      const ok = overlay('audit:\n  trustedHeader: { enabled: true, proxies: ["10.0.0.0/8", "::1", "::ffff:192.0.2.0/120"], auditorGroups: [auditors] }\n');
      expect(loadConfig({ CONNECTOR_CONFIG: ok }).config.audit.trustedHeader.proxies).toHaveLength(3);
    });
  });

  describe('production refuses unsafe trust', () => {
    /** NODE_ENV=production on a real tenant, with `yaml` laid over it (mappings merge, lists replace). */
    const production = (yaml = '', env: Record<string, string> = {}) => ({
      NODE_ENV: 'production',
      CONNECTOR_CONFIG: overlay(stringifyYaml(deepMerge(parseYaml(PRODUCTION_TENANT) as Plain, (parseYaml(yaml) ?? {}) as Plain))),
      ...KEYS,
      ...METRICS,
      ...env,
    });
    const development = (yaml = '', env: Record<string, string> = {}) => {
      const { NODE_ENV: _production, ...rest } = production(yaml, env);
      return rest;
    };

    it('accepts the real tenant it starts from, with no warning', () => {
      expect(loadConfig(production()).warnings).toEqual([]);
    });

    it('refuses trustProxy: true in production, saying what to set instead; warns elsewhere', () => {
      const problems = problemsOf(() => loadConfig(production('server:\n  trustProxy: true\n')));
      expect(problems).toEqual([
        "server.trustProxy: true believes X-Forwarded-For from every client, so anyone can choose the address that rate limits, sign-in lockouts and the audit log's clientIp see (and the X-Request-Id adopted); refused in production. " +
          'Set the number of proxies in front (1 for one ingress controller or load balancer), or their addresses and CIDR ranges, e.g. "10.0.0.0/8, loopback".',
      ]);
      expect(loadConfig(development('server:\n  trustProxy: true\n')).warnings).toEqual([
        expect.stringMatching(/^server\.trustProxy: true believes X-Forwarded-For from every client.*; NODE_ENV=production refuses this\. Set the number of proxies/),
      ]);
      for (const trustProxy of ['1', '2', 'false', '"10.0.0.0/8, 192.168.1.1, loopback, linklocal, uniquelocal, ::1, fd00:1::/48"']) {
        expect(loadConfig(production(`server:\n  trustProxy: ${trustProxy}\n`)).warnings).toEqual([]);
      }
    });

    it('refuses a trustProxy Express would not understand, in every mode', () => {
      const cases: Array<[string, string]> = [
        ['"10.0.0.0/255.0.0.0"', 'server.trustProxy: "10.0.0.0/255.0.0.0" is not an IP address, an address/prefix (CIDR) or one of loopback, linklocal, uniquelocal (write a netmask as a prefix length: 10.0.0.0/8, not 10.0.0.0/255.0.0.0)'],
        ['"proxy.internal"', 'server.trustProxy: "proxy.internal" is not an IP address, an address/prefix (CIDR) or one of loopback, linklocal, uniquelocal'],
        ['"1"', 'server.trustProxy: "1" is not an IP address, an address/prefix (CIDR) or one of loopback, linklocal, uniquelocal (a boolean or hop count is written without quotes: trustProxy: 1)'],
        ['"10.0.0.1,"', 'server.trustProxy: has an empty entry between commas'],
        ['""', 'server.trustProxy: is empty. Use false to trust no proxy'],
        ['1.5', 'server.trustProxy: 1.5 is not a hop count. Use a whole number of proxies in front, 0 or more'],
        ['-1', 'server.trustProxy: -1 is not a hop count. Use a whole number of proxies in front, 0 or more'],
        ['[10.0.0.1, loopback]', 'server.trustProxy: must be false, a hop count, or a comma-separated string of addresses and CIDR ranges (e.g. "10.0.0.0/8, loopback"), not a list'],
        ['{ hops: 1 }', 'server.trustProxy: must be false, a hop count, or a comma-separated string of addresses and CIDR ranges (e.g. "10.0.0.0/8, loopback"), not object'],
      ];
      for (const [value, problem] of cases) {
        expect(problemsOf(() => loadConfig(development(`server:\n  trustProxy: ${value}\n`)))).toEqual([problem]);
      }
    });

    it('refuses trusted-proxy ranges wider than security.trustedProxyMinPrefix in production, and says so', () => {
      const everyone = problemsOf(() => loadConfig(production('server:\n  trustProxy: "loopback, 0.0.0.0/0"\n')));
      expect(everyone).toEqual([
        'server.trustProxy: "0.0.0.0/0" is a /0: every IPv4 address, wider than the /8 allowed (security.trustedProxyMinPrefix.ipv4); refused in production. ' +
          "List the proxies' own addresses or narrow ranges (e.g. 10.1.2.0/24), or lower security.trustedProxyMinPrefix if this whole range really is your proxies.",
      ]);
      const header = (proxies: string) => `audit:\n  trustedHeader: { enabled: true, proxies: ${proxies} }\n`;
      expect(problemsOf(() => loadConfig(production(header('["0.0.0.0/0"]'))))).toEqual([
        expect.stringMatching(
          /^audit\.trustedHeader\.proxies\[0\]: "0\.0\.0\.0\/0" is a \/0: every IPv4 address, wider than the \/8 allowed \(security\.trustedProxyMinPrefix\.ipv4\), and anyone there who sends the user header signs in as an auditor; refused in production\./,
        ),
      ]);
      const wide = problemsOf(() => loadConfig(production(header('["10.0.0.0/8", "11.0.0.0/7", "2001:db8::/31", "::/64", "::ffff:0.0.0.0/100"]'))));
      expect(wide.map((p) => p.split(';')[0])).toEqual([
        'audit.trustedHeader.proxies[1]: "11.0.0.0/7" is a /7 (33554432 IPv4 addresses), wider than the /8 allowed (security.trustedProxyMinPrefix.ipv4), and anyone there who sends the user header signs in as an auditor',
        'audit.trustedHeader.proxies[2]: "2001:db8::/31" is an IPv6 /31, wider than the /32 allowed (security.trustedProxyMinPrefix.ipv6), and anyone there who sends the user header signs in as an auditor',
        'audit.trustedHeader.proxies[3]: "::/64" holds ::ffff:0:0/96, so it trusts every IPv4 address (IPv4 peers are matched as IPv4-mapped IPv6), and anyone there who sends the user header signs in as an auditor',
        'audit.trustedHeader.proxies[4]: "::ffff:0.0.0.0/100" is a /4 (268435456 IPv4 addresses), wider than the /8 allowed (security.trustedProxyMinPrefix.ipv4), and anyone there who sends the user header signs in as an auditor',
      ]);
      expect(loadConfig(production(header('["10.0.0.0/8", "2001:db8::/32", "::1", "fd00::/48"]'))).warnings).toEqual([]);
      // Outside production the same ranges are warnings, and the prefix is the operator's to lower.
      expect(loadConfig(development(header('["0.0.0.0/0"]'))).warnings).toEqual([expect.stringContaining('; NODE_ENV=production refuses this.')]);
      const lowered = 'security:\n  trustedProxyMinPrefix: { ipv4: 0 }\nserver:\n  trustProxy: "0.0.0.0/0"\n';
      expect(loadConfig(production(lowered)).config.server.trustProxy).toBe('0.0.0.0/0');
    });

    it("refuses config/default.yaml's published secrets for any tenant in production, wherever they appear", () => {
      const defaults = parseYaml(readFileSync(join(process.cwd(), 'config', 'default.yaml'), 'utf8')) as {
        tenants: Array<{ connector: { password: string }; oauth: { clientSecret: string; refreshToken: string } }>;
      };
      const shipped = defaults.tenants.flatMap((t) => [t.connector.password, t.oauth.clientSecret, t.oauth.refreshToken]);
      expect([...publishedSecrets()].sort()).toEqual([...shipped].sort());
      expect(shipped).toContain('sandbox-connector-password');
      const problems = problemsOf(() =>
        loadConfig(
          production('', {
            TENANT_ACME_CONNECTOR_PASSWORD: 'sandbox-client-secret',
            TENANT_ACME_OAUTH_CLIENT_SECRET: 'sandbox-client-secret',
            TENANT_ACME_OAUTH_REFRESH_TOKEN: 'sandbox-initial-refresh-token',
          }),
        ),
      );
      expect(problems).toEqual([
        "tenants[0].connector.password: this is a published value of config/default.yaml (the sandbox tenant's), which anyone can read; refused in production. " +
          "Set TENANT_ACME_CONNECTOR_PASSWORD to your tenant's own value (make one with `openssl rand -base64 36 | tr -d '/+=' | cut -c1-44` and register it in Concur's application connector)",
        "tenants[0].oauth.clientSecret: this is a published value of config/default.yaml (the sandbox tenant's), which anyone can read; refused in production. Set TENANT_ACME_OAUTH_CLIENT_SECRET to your tenant's own value",
        "tenants[0].oauth.refreshToken: this is a published value of config/default.yaml (the sandbox tenant's), which anyone can read; refused in production. Set TENANT_ACME_OAUTH_REFRESH_TOKEN to your tenant's own value",
      ]);
      expect(problems.join('\n')).not.toMatch(/sandbox-client-secret|sandbox-initial-refresh-token/);
    });

    it('refuses short or low-variety connector passwords in production, with a recipe; warns elsewhere', () => {
      const weak: Array<[string, string]> = [
        ['Short-Pass-1234', 'is 15 characters long, shorter than the 20 required'],
        ['aaaaaaaaaabbbbbbbbbbccccc', 'has only 3 different characters (at least 10 are required)'],
        ['correcthorsebatterystaple', 'is made of lower-case letters only'],
        ['20261231202612312026', 'has only 5 different characters (at least 10 are required)'],
        ['73910284657391028465', 'is made of digits only'],
        ['Ab1!Cd2@Ef3#Ab1!Cd2@Ef3#', 'is one shorter sequence repeated'],
      ];
      for (const [password, reason] of weak) {
        const env = { TENANT_ACME_CONNECTOR_PASSWORD: password };
        const problems = problemsOf(() => loadConfig(production('', env)));
        expect(problems).toEqual([
          `tenants[0].connector.password: ${reason}. It is the key of every launch URL's signature, and every employee sees signed URLs, so it must resist offline guessing: 40 to 50 random characters; refused in production. ` +
            "Make one with `openssl rand -base64 36 | tr -d '/+=' | cut -c1-44`, register it in Concur's application connector and set TENANT_ACME_CONNECTOR_PASSWORD.",
        ]);
        expect(problems[0]).not.toContain(password);
        expect(loadConfig(development('', env)).warnings).toContainEqual(expect.stringMatching(/^tenants\[0\]\.connector\.password: .*NODE_ENV=production refuses this/));
      }
      // What the recipe makes, hex and a passphrase pass.
      for (const password of ['q2XbN8rVtK4mYc7WzP1hLd9FsG3jRa6EuT5nBo0Cxi2M', 'a3f1c9e07b5d2486f0e1a9c3b7d5e2f4a6c8b0d1', 'correct-horse-battery-staple']) {
        expect(loadConfig(production('', { TENANT_ACME_CONNECTOR_PASSWORD: password })).warnings).toEqual([]);
      }
    });

    it('refuses all-zero, repeated-byte and patterned keys in production; warns elsewhere', () => {
      const keys: Array<[string, string]> = [
        [Buffer.alloc(32).toString('base64'), 'is all zero bytes'],
        [Buffer.alloc(32, 7).toString('base64'), 'is one byte repeated'],
        ['q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=', 'has only 15 different byte values (32 random bytes have about 30), so it is a pattern, not random'],
      ];
      for (const [key, reason] of keys) {
        expect(problemsOf(() => loadConfig(production('', { CONNECTOR_ENCRYPTION_KEY: key })))).toEqual([
          `security.encryptionKey: ${reason}, which anyone could guess; refused in production. Make a random one with \`openssl rand -base64 32\` (env CONNECTOR_ENCRYPTION_KEY).`,
        ]);
        expect(problemsOf(() => loadConfig(production('', { CONNECTOR_AUDIT_CHAIN_KEY: key })))).toEqual([
          `security.auditChainKey: ${reason}, which anyone could guess; refused in production. Make a random one with \`openssl rand -base64 32\` (env CONNECTOR_AUDIT_CHAIN_KEY).`,
        ]);
        expect(loadConfig(development('', { CONNECTOR_ENCRYPTION_KEY: key })).warnings).toEqual([
          expect.stringMatching(/^security\.encryptionKey: .*; NODE_ENV=production refuses this\./),
        ]);
      }
    });

    it('requires a chain key of 32 bytes in production, other than the encryption key', () => {
      const { CONNECTOR_AUDIT_CHAIN_KEY: _chain, ...withoutChainKey } = production();
      expect(problemsOf(() => loadConfig(withoutChainKey))).toEqual(['security.auditChainKey: required in production (env CONNECTOR_AUDIT_CHAIN_KEY)']);
      expect(problemsOf(() => loadConfig(production('', { CONNECTOR_AUDIT_CHAIN_KEY: randomBytes(16).toString('base64') })))).toEqual([
        'security.auditChainKey: must be base64 of exactly 32 bytes (openssl rand -base64 32)',
      ]);
      // The same key spelled without its padding is still the same key.
      const same = KEYS.CONNECTOR_ENCRYPTION_KEY.replace(/=+$/, '');
      expect(problemsOf(() => loadConfig(development('', { CONNECTOR_AUDIT_CHAIN_KEY: same })))).toEqual([
        'security.auditChainKey: must differ from security.encryptionKey; make its own with `openssl rand -base64 32`',
      ]);
    });

    it('outside production, warns loudly about the demo auditor and the sandbox secrets, saying what they mean and what to do', () => {
      const { warnings } = loadConfig({});
      expect(warnings).toEqual([
        'PUBLISHED CREDENTIALS IN USE: tenants[0] ("sandbox") uses connector.password, oauth.clientSecret, oauth.refreshToken as published in config/default.yaml, ' +
          'so anyone can sign launch URLs for sandbox.example.com and act as its users in the popup. Fine for the demo sandbox on your own machine; NODE_ENV=production refuses them. ' +
          'For a real tenant set TENANT_SANDBOX_CONNECTOR_PASSWORD, TENANT_SANDBOX_OAUTH_CLIENT_SECRET, TENANT_SANDBOX_OAUTH_REFRESH_TOKEN to its own values.',
        'PUBLISHED CREDENTIALS IN USE: audit.auditors[0] ("auditor") signs in with the demo password "auditor-demo", published in config/default.yaml and the README, ' +
          'so whoever reaches /audit with it reads the audit log. NODE_ENV=production refuses it; set audit.auditors to your own accounts (hashes from `concur-launch-connector hash-password`), or to [] for none.',
      ]);
      // A real tenant given the sandbox's connector password is named too.
      const borrowed = loadConfig(development('', { TENANT_ACME_CONNECTOR_PASSWORD: 'sandbox-connector-password' })).warnings;
      expect(borrowed).toEqual([
        'PUBLISHED CREDENTIALS IN USE: tenants[0] ("acme") uses connector.password as published in config/default.yaml, so anyone can sign launch URLs for acme.example.com ' +
          'and act as its users in the popup. NODE_ENV=production refuses them. For a real tenant set TENANT_ACME_CONNECTOR_PASSWORD to its own values.',
      ]);
      expect(loadConfig(development()).warnings).toEqual([]);
    });
  });

  it('warns about connector credentials shorter than Concur asks for', () => {
    const { warnings } = loadConfig({ TENANT_SANDBOX_CONNECTOR_PASSWORD: 'short' });
    expect(warnings.join('\n')).toMatch(/10 to 50 characters/);
  });
});

describe('deepMerge', () => {
  it('merges mappings and replaces lists', () => {
    expect(deepMerge({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { c: 3 }, l: [9] })).toEqual({ a: { b: 1, c: 3 }, l: [9] });
  });
});

describe('tenantEnvPrefix', () => {
  it('upper-cases the id and turns dashes into underscores', () => {
    expect(tenantEnvPrefix('acme-eu')).toBe('TENANT_ACME_EU_');
  });
});
