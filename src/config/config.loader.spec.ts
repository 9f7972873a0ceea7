import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../audit/access/password-hash.js';
import { ConfigError, deepMerge, loadConfig, tenantEnvPrefix } from './config.loader.js';

function overlay(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'clc-config-'));
  const file = join(dir, 'connector.yaml');
  writeFileSync(file, yaml);
  return file;
}

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
      CONNECTOR_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
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
    const file = overlay('sandbox:\n  enabled: false\naudit:\n  auditors: []\ntenants:\n  - id: acme\n    name: Acme\n    companyDomains: [acme.example.com]\n    connector: { username: AcmeConnector1, password: acme-password-123 }\n    launch: { versions: [4] }\n    oauth: { baseUrl: "https://us.api.concursolutions.com", clientId: c, clientSecret: real-secret-1, refreshToken: real-token-1 }\n    fields: { v4: { entry: [custom9] } }\n    lookup: { type: file, file: ' + JSON.stringify(join(process.cwd(), 'config', 'lookup', 'projects.csv')) + ' }\n');
    const env = { NODE_ENV: 'production', CONNECTOR_CONFIG: file, CONNECTOR_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') };
    expect(loadConfig(env).warnings).toEqual([expect.stringMatching(/^metrics: \/metrics is open to anyone/)]);
    expect(loadConfig({ ...env, METRICS_USERNAME: 'prometheus', METRICS_PASSWORD: 'scrape-secret' }).warnings).toEqual([]);
  });

  it('requires a shared encryption key with shared stores', () => {
    const problem = 'security.encryptionKey: required with DATABASE_URL or REDIS_URL, the same on every replica (env CONNECTOR_ENCRYPTION_KEY)';
    expect(problemsOf(() => loadConfig({ REDIS_URL: 'redis://cache:6379' }))).toEqual([problem]);
    expect(problemsOf(() => loadConfig({ DATABASE_URL: 'postgresql://db/clc' }))).toEqual([problem]);
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
    const productionTenant = 'sandbox:\n  enabled: false\ntenants:\n  - id: acme\n    name: Acme\n    companyDomains: [acme.example.com]\n    connector: { username: AcmeConnector1, password: acme-password-123 }\n    launch: { versions: [4] }\n    oauth: { baseUrl: "https://us.api.concursolutions.com", clientId: c, clientSecret: real-secret-1, refreshToken: real-token-1 }\n    fields: { v4: { entry: [custom9] } }\n    lookup: { type: file, file: ' + JSON.stringify(join(process.cwd(), 'config', 'lookup', 'projects.csv')) + ' }\n';
    const production = (auditYaml: string) => ({
      NODE_ENV: 'production',
      CONNECTOR_CONFIG: overlay(`${productionTenant}audit:\n${auditYaml}`),
      CONNECTOR_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
      METRICS_USERNAME: 'prometheus',
      METRICS_PASSWORD: 'scrape-secret',
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
