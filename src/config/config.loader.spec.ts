import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    const file = overlay('sandbox:\n  enabled: false\ntenants:\n  - id: acme\n    name: Acme\n    companyDomains: [acme.example.com]\n    connector: { username: AcmeConnector1, password: acme-password-123 }\n    launch: { versions: [4] }\n    oauth: { baseUrl: "https://us.api.concursolutions.com", clientId: c, clientSecret: real-secret-1, refreshToken: real-token-1 }\n    fields: { v4: { entry: [custom9] } }\n    lookup: { type: file, file: ' + JSON.stringify(join(process.cwd(), 'config', 'lookup', 'projects.csv')) + ' }\n');
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
